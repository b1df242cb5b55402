//! `roost seed`: fills an empty database with a large synthetic dataset — users, follows,
//! posts with hashtags, likes — for benchmarks and manual testing.
//!
//! The whole dataset is planned in memory from `--seed` alone, one random stream per kind
//! of row, so the same seed gives the same usernames, profiles, follow graph, post
//! contents and likes (only the timestamps, and so the ids, move with the day it runs).
//! It is then written in large transactions of multi-row `INSERT`s, each statement as big
//! as the backend's bind-parameter limit allows.
//!
//! The rows keep every invariant the stores keep: `followers_count`, `following_count` and
//! `posts_count` equal the real counts; `display_name_search` is the folded display name;
//! `post_tags` holds exactly [`hashtags`] of each content; follows and likes are unique and
//! nobody follows themselves. Ids are UUIDv7 made from the row's own `created_at` (its
//! sub-millisecond part in the 12 bits after the version), so newest-first by id is
//! newest-first by time, as every list assumes. On SQLite, the triggers fill `users_search`
//! and `posts_fts`; on PostgreSQL, `posts.search` is a generated column.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::{IndexedRandom, SliceRandom, index};
use rand::{Rng, RngExt, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, Iterable, PaginatorTrait,
};
use uuid::Uuid;

use crate::auth::domain::Password;
use crate::auth::password::PasswordHasher;
use crate::config::Config;
use crate::db;
use crate::posts::domain::hashtags;
use crate::posts::entity::{like, post, post_tag};
use crate::users::domain::fold_case;
use crate::users::entity::{follow, user};

pub const DEFAULT_USERS: u32 = 10_000;
pub const DEFAULT_FOLLOWS_PER_USER: u32 = 20;
pub const DEFAULT_POSTS_PER_USER: u32 = 100;
pub const DEFAULT_LIKES_PER_USER: u32 = 50;
pub const DEFAULT_SEED: u64 = 42;
pub const DEFAULT_DAYS: u32 = 365;
/// The password every seeded account gets, unless `--password` says otherwise.
pub const DEFAULT_PASSWORD: &str = "seed-password";
/// The domain of every seeded email address (`USERNAME@seed.example`).
pub const EMAIL_DOMAIN: &str = "seed.example";

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub users: u32,
    /// Distinct users each user follows (never themselves).
    pub follows_per_user: u32,
    /// Posts each user writes.
    pub posts_per_user: u32,
    /// Distinct posts each user likes.
    pub likes_per_user: u32,
    /// The seed of every random choice.
    pub seed: u64,
    /// The password of every seeded account.
    pub password: String,
    /// Posts, follows and likes are spread over this many days up to now; accounts are
    /// created in the 30 days before that.
    pub days: u32,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            users: DEFAULT_USERS,
            follows_per_user: DEFAULT_FOLLOWS_PER_USER,
            posts_per_user: DEFAULT_POSTS_PER_USER,
            likes_per_user: DEFAULT_LIKES_PER_USER,
            seed: DEFAULT_SEED,
            password: DEFAULT_PASSWORD.to_owned(),
            days: DEFAULT_DAYS,
        }
    }
}

/// What was written, for the closing report.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub database: String,
    pub users: u64,
    pub follows: u64,
    pub posts: u64,
    pub post_tags: u64,
    pub likes: u64,
    pub elapsed: Duration,
    pub password: String,
    /// The email of one seeded account, to log in with.
    pub example_email: String,
}

impl fmt::Display for SeedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Seeded {} in {:.1} s: {} users, {} follows, {} posts ({} hashtags), {} likes.",
            self.database,
            self.elapsed.as_secs_f64(),
            self.users,
            self.follows,
            self.posts,
            self.post_tags,
            self.likes
        )?;
        write!(
            f,
            "Every seeded account (USERNAME@{EMAIL_DOMAIN}) has the password {:?}; \
             e.g. log in as {} with it.",
            self.password, self.example_email
        )
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Accounts are created over this span, just before the posts begin.
const SIGN_UP_DAYS: i64 = 30;
/// A like comes at most this long after its post.
const LIKE_DELAY_MAX: i64 = 7 * MICROS_PER_DAY;
/// Largest number of bound values in one statement: SQLite's `SQLITE_MAX_VARIABLE_NUMBER`
/// (32766 since 3.32) and PostgreSQL's protocol limit (65535).
const SQLITE_MAX_BINDS: usize = 32_766;
const POSTGRES_MAX_BINDS: usize = 65_535;
/// Rows per transaction (a post counts with its hashtags).
const ROWS_PER_TRANSACTION: usize = 50_000;
/// A 256 MiB SQLite page cache for the seeding connection (a negative size is in KiB), so
/// that index pages stay in memory while a million rows go in.
const SQLITE_SEEDING_CACHE: &str = "PRAGMA cache_size = -262144";

/// The generator behind every choice: a named, portable algorithm, so a seed gives the
/// same data on every platform and with every later `rand` release.
type SeedRng = Xoshiro256PlusPlus;

/// One independent random stream per kind of row: changing how many posts each user
/// writes does not change who the users are or whom they follow.
#[derive(Clone, Copy)]
enum Stream {
    Users = 1,
    Follows = 2,
    Posts = 3,
    Contents = 4,
    Likes = 5,
}

fn stream(seed: u64, which: Stream) -> SeedRng {
    SeedRng::seed_from_u64(seed ^ (which as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Applies migrations, then fills the (empty) database at `config.database_url`.
pub async fn run(config: &Config, options: &SeedOptions) -> anyhow::Result<SeedSummary> {
    let started = Instant::now();
    validate(options)?;
    Password::parse(options.password.clone())
        .map_err(|message| anyhow::anyhow!("--password {message}"))?;
    db::migrate(config).await?;

    // One connection: SQLite has one writer anyway, and its pragmas stay on it.
    let mut seeding = config.clone();
    seeding.database_max_connections = 1;
    let db = db::connect(&seeding).await?;
    let backend = db.get_database_backend();
    let existing = user::Entity::find().count(&db).await?;
    if existing > 0 {
        bail!(
            "{} already has {existing} users: `roost seed` fills an empty database \
             (point ROOST_DATABASE_URL at a new one)",
            db::redact(&config.database_url)
        );
    }
    if backend == DbBackend::Sqlite {
        db.execute_unprepared(SQLITE_SEEDING_CACHE).await?;
    }

    let spinner = ProgressBar::new_spinner();
    spinner.set_message("hashing the password and planning the dataset");
    spinner.enable_steady_tick(Duration::from_millis(100));
    // Hashed once: every account shares the hash, so seeding costs one Argon2 run.
    let password_hash = PasswordHasher::new(config.password_hash)?
        .hash(options.password.clone())
        .await?;
    let now = Utc::now().timestamp_micros();
    let plan = Plan::new(options, password_hash, now);
    spinner.finish_and_clear();

    let progress = ProgressBar::new(
        (plan.users.len() + plan.follows.len() + plan.posts.len() + plan.likes.len()) as u64,
    );
    progress.set_style(
        ProgressStyle::with_template(
            "{msg:>7} [{elapsed_precise}] [{wide_bar}] {human_pos}/{human_len} rows \
             ({per_sec:0}, {eta} left)",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let mut writer = Writer {
        db: &db,
        max_binds: match backend {
            DbBackend::Postgres => POSTGRES_MAX_BINDS,
            _ => SQLITE_MAX_BINDS,
        },
        progress: &progress,
    };
    let example_email = plan.users[0].email.clone();
    let counts = writer.write(plan, options.seed).await?;
    progress.finish_and_clear();

    match backend {
        // Fresh statistics, so the planner knows the tables are no longer empty, and a
        // visibility map, so index-only scans (the feed's per-followee ranges) need not
        // visit the heap for every entry: what autovacuum would do a while after a bulk load.
        DbBackend::Postgres => {
            db.execute_unprepared("VACUUM (ANALYZE)").await?;
        }
        // Leave the database in its file rather than in a gigabyte of WAL.
        _ => {
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
    }
    db.close().await.ok();
    Ok(SeedSummary {
        database: db::redact(&config.database_url),
        users: counts.users,
        follows: counts.follows,
        posts: counts.posts,
        post_tags: counts.post_tags,
        likes: counts.likes,
        elapsed: started.elapsed(),
        password: options.password.clone(),
        example_email,
    })
}

fn validate(options: &SeedOptions) -> anyhow::Result<()> {
    ensure!(options.users >= 1, "--users must be at least 1");
    ensure!(
        options.follows_per_user < options.users,
        "--follows-per-user must be less than --users (nobody follows themselves)"
    );
    // Rows are planned in memory and posts are indexed by `u32`.
    let rows = |per_user: u32| u64::from(options.users) * u64::from(per_user);
    let posts = rows(options.posts_per_user);
    for (total, what) in [
        (rows(options.follows_per_user), "--follows-per-user"),
        (posts, "--posts-per-user"),
        (rows(options.likes_per_user), "--likes-per-user"),
    ] {
        ensure!(
            total <= u64::from(u32::MAX),
            "--users × {what} must be at most {}",
            u32::MAX
        );
    }
    ensure!(
        u64::from(options.likes_per_user) <= posts,
        "--likes-per-user must be at most the number of posts ({posts})"
    );
    ensure!(
        (1..=36_500).contains(&options.days),
        "--days must be between 1 and 36500"
    );
    Ok(())
}

/// A post before its content is written: content is generated while writing, in post
/// order from its own stream, so a million of them never sit in memory at once.
struct PlannedPost {
    id: Uuid,
    author: u32,
    created_at: i64,
}

/// Every row but the post contents, with the users' counters already final.
struct Plan {
    users: Vec<user::Model>,
    /// Sorted by id, so each table is filled in primary-key order.
    follows: Vec<follow::Model>,
    /// In time (and so id) order.
    posts: Vec<PlannedPost>,
    /// Sorted by id.
    likes: Vec<like::Model>,
}

impl Plan {
    fn new(options: &SeedOptions, password_hash: String, now: i64) -> Self {
        let posts_start = now - i64::from(options.days) * MICROS_PER_DAY;
        let sign_up_start = posts_start - SIGN_UP_DAYS * MICROS_PER_DAY;
        let mut users = plan_users(
            options,
            password_hash,
            sign_up_start,
            posts_start,
            &mut stream(options.seed, Stream::Users),
        );
        let (follows, following) = plan_follows(
            &mut users,
            options.follows_per_user as usize,
            now,
            &mut stream(options.seed, Stream::Follows),
        );
        let posts = plan_posts(
            &mut users,
            options.posts_per_user as usize,
            posts_start,
            now,
            &mut stream(options.seed, Stream::Posts),
        );
        let likes = plan_likes(
            &users,
            &posts,
            &following,
            options.posts_per_user as usize,
            options.likes_per_user as usize,
            now,
            &mut stream(options.seed, Stream::Likes),
        );
        Self {
            users,
            follows,
            posts,
            likes,
        }
    }
}

/// `count` instants in `[start, end)`, the `k`-th drawn within the `k`-th of `count` equal
/// slices: strictly increasing (when the span allows) and evenly spread.
fn stratified(k: usize, count: usize, start: i64, end: i64, rng: &mut SeedRng) -> i64 {
    let span = (end - start).max(1) as u128;
    let offset = (k as u128 * span + rng.random_range(0..span)) / count as u128;
    start + offset as i64
}

/// A UUIDv7 for a row created at `micros` (Unix time in microseconds): the milliseconds
/// in the 48-bit timestamp, the microseconds within them scaled into the 12 `rand_a` bits
/// (RFC 9562's "increased clock precision"), 62 random bits from `rng`. Ids of rows made
/// at different microseconds therefore sort as their times do.
fn v7_id(micros: i64, rng: &mut SeedRng) -> Uuid {
    let millis = micros.div_euclid(1000) as u64;
    let fraction = (micros.rem_euclid(1000) as u64 * 4096 / 1000) as u16;
    let mut bytes = [0u8; 10];
    bytes[0] = (fraction >> 8) as u8;
    bytes[1] = fraction as u8;
    bytes[2..].copy_from_slice(&rng.next_u64().to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

fn timestamp(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("seeded timestamps are in range")
}

/// `first_last_INDEX`, cut to fit 30 characters; the index makes it unique (names have no
/// digits, so the digits after the last `_` are always the whole index).
fn username(first: &str, last: &str, index: usize) -> String {
    let suffix = index.to_string();
    let mut name = format!("{first}_{last}");
    name.truncate(30 - 1 - suffix.len());
    format!("{name}_{suffix}")
}

fn plan_users(
    options: &SeedOptions,
    password_hash: String,
    start: i64,
    end: i64,
    rng: &mut SeedRng,
) -> Vec<user::Model> {
    let count = options.users as usize;
    (0..count)
        .map(|index| {
            let (first, first_ascii) = *FIRST_NAMES.choose(rng).expect("names");
            let (last, last_ascii) = *LAST_NAMES.choose(rng).expect("names");
            let username = username(first_ascii, last_ascii, index);
            let display_name = format!("{first} {last}");
            let bio = if rng.random_bool(0.7) {
                let words = rng.random_range(3..=16);
                sentence(words, rng)
            } else {
                String::new()
            };
            let location = if rng.random_bool(0.5) {
                (*LOCATIONS.choose(rng).expect("locations")).to_owned()
            } else {
                String::new()
            };
            let website = if rng.random_bool(0.2) {
                format!("https://{}.example", username.replace('_', "-"))
            } else {
                String::new()
            };
            let created_at = stratified(index, count, start, end, rng);
            user::Model {
                id: v7_id(created_at, rng),
                email: format!("{username}@{EMAIL_DOMAIN}"),
                username,
                password_hash: password_hash.clone(),
                display_name_search: fold_case(&display_name),
                locked: false,
                display_name,
                bio,
                location,
                website,
                avatar_key: None,
                created_at: timestamp(created_at),
                followers_count: 0,
                following_count: 0,
                posts_count: 0,
            }
        })
        .collect()
}

/// Each user follows `per_user` others. Whom is skewed by a popularity rank (a random
/// permutation, so popularity is unrelated to age): a few accounts get thousands of
/// followers, most a handful. Returns the follows and, per user, whom they follow.
fn plan_follows(
    users: &mut [user::Model],
    per_user: usize,
    now: i64,
    rng: &mut SeedRng,
) -> (Vec<follow::Model>, Vec<Vec<u32>>) {
    let count = users.len();
    let mut popularity: Vec<u32> = (0..count as u32).collect();
    popularity.shuffle(rng);
    let skewed = count > 4 * per_user;
    let mut follows = Vec::with_capacity(count * per_user);
    let mut following = Vec::with_capacity(count);
    let mut seen = HashSet::new();
    for follower in 0..count {
        let mut chosen: Vec<u32> = Vec::with_capacity(per_user);
        if skewed {
            seen.clear();
            while chosen.len() < per_user {
                let x: f64 = rng.random();
                let rank = ((count as f64 * x * x * x) as usize).min(count - 1);
                let followee = popularity[rank];
                if followee as usize != follower && seen.insert(followee) {
                    chosen.push(followee);
                }
            }
        } else {
            // Dense graphs: a uniform sample of the others, skipping oneself.
            for other in index::sample(rng, count - 1, per_user) {
                let followee = if other >= follower { other + 1 } else { other };
                chosen.push(followee as u32);
            }
        }
        for &followee in &chosen {
            let followee = followee as usize;
            let earliest = users[follower]
                .created_at
                .max(users[followee].created_at)
                .timestamp_micros();
            let created_at = rng.random_range(earliest..now.max(earliest + 1));
            follows.push(follow::Model {
                id: v7_id(created_at, rng),
                follower_id: users[follower].id,
                followee_id: users[followee].id,
                created_at: timestamp(created_at),
            });
            users[follower].following_count += 1;
            users[followee].followers_count += 1;
        }
        following.push(chosen);
    }
    follows.sort_unstable_by_key(|follow| follow.id);
    (follows, following)
}

/// `per_user` posts by each user, spread evenly over `[start, now)` in a shuffled order
/// of authors. Returned in time order.
fn plan_posts(
    users: &mut [user::Model],
    per_user: usize,
    start: i64,
    now: i64,
    rng: &mut SeedRng,
) -> Vec<PlannedPost> {
    let mut authors: Vec<u32> = (0..users.len() as u32)
        .flat_map(|author| std::iter::repeat_n(author, per_user))
        .collect();
    authors.shuffle(rng);
    let total = authors.len();
    authors
        .into_iter()
        .enumerate()
        .map(|(k, author)| {
            let created_at = stratified(k, total, start, now, rng);
            users[author as usize].posts_count += 1;
            PlannedPost {
                id: v7_id(created_at, rng),
                author,
                created_at,
            }
        })
        .collect()
}

/// `per_user` distinct posts liked by each user, within a week of the post: half of them
/// (when the posts allow) from the accounts the user follows, as a feed reader would.
fn plan_likes(
    users: &[user::Model],
    posts: &[PlannedPost],
    following: &[Vec<u32>],
    posts_per_user: usize,
    per_user: usize,
    now: i64,
    rng: &mut SeedRng,
) -> Vec<like::Model> {
    // Each author's posts, by index: author `a` owns slots `a * posts_per_user ..`.
    let mut by_author = vec![0u32; posts.len()];
    let mut filled = vec![0usize; users.len()];
    for (index, post) in posts.iter().enumerate() {
        let author = post.author as usize;
        by_author[author * posts_per_user + filled[author]] = index as u32;
        filled[author] += 1;
    }
    let total = posts.len();
    let sparse = total >= 4 * per_user;
    let mut likes = Vec::with_capacity(users.len() * per_user);
    let mut seen = HashSet::new();
    let mut chosen: Vec<usize> = Vec::with_capacity(per_user);
    for (liker, followees) in users.iter().zip(following) {
        chosen.clear();
        if sparse {
            seen.clear();
            while chosen.len() < per_user {
                let index = match followees.choose(rng) {
                    Some(&followee) if posts_per_user > 0 && rng.random_bool(0.5) => {
                        let slot = rng.random_range(0..posts_per_user);
                        by_author[followee as usize * posts_per_user + slot] as usize
                    }
                    _ => rng.random_range(0..total),
                };
                if seen.insert(index) {
                    chosen.push(index);
                }
            }
        } else {
            chosen.extend(index::sample(rng, total, per_user));
        }
        for &index in &chosen {
            let post = &posts[index];
            let latest = (post.created_at + LIKE_DELAY_MAX).min(now);
            let created_at = rng.random_range(post.created_at..latest.max(post.created_at + 1));
            likes.push(like::Model {
                id: v7_id(created_at, rng),
                post_id: post.id,
                user_id: liker.id,
                created_at: timestamp(created_at),
            });
        }
    }
    likes.sort_unstable_by_key(|like| like.id);
    likes
}

/// `words` words from the word list as one or more sentences.
fn sentence(words: usize, rng: &mut SeedRng) -> String {
    let mut text = String::with_capacity(words * 8);
    let mut capitalize = true;
    for index in 0..words {
        if index > 0 {
            text.push(' ');
        }
        let word = *WORDS.choose(rng).expect("words");
        if capitalize {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                text.extend(first.to_uppercase());
                text.push_str(chars.as_str());
            }
        } else {
            text.push_str(word);
        }
        capitalize = false;
        if index + 1 < words && rng.random_bool(0.1) {
            text.push(if rng.random_bool(0.8) { '.' } else { ',' });
            capitalize = text.ends_with('.');
        }
    }
    text.push_str(["", ".", ".", "!", "?", "…"].choose(rng).expect("marks"));
    text
}

/// A post's text: 3 to 24 words, and in about half of the posts one to three hashtags
/// from the tag list (some capitalised), at the end or in the middle.
fn post_content(rng: &mut SeedRng) -> String {
    let words = rng.random_range(3..=24);
    let mut text = sentence(words, rng);
    if rng.random_bool(0.5) {
        for _ in 0..rng.random_range(1..=3) {
            let tag = *TAGS.choose(rng).expect("tags");
            let mut hashtag = String::with_capacity(tag.len() + 1);
            hashtag.push('#');
            if rng.random_bool(0.1) {
                let mut chars = tag.chars();
                if let Some(first) = chars.next() {
                    hashtag.extend(first.to_uppercase());
                    hashtag.push_str(chars.as_str());
                }
            } else {
                hashtag.push_str(tag);
            }
            if rng.random_bool(0.7) {
                text.push(' ');
                text.push_str(&hashtag);
            } else {
                // Before a random word (spaces delimit words, so the tag stands alone).
                let spaces: Vec<usize> = text.match_indices(' ').map(|(at, _)| at).collect();
                match spaces.choose(rng) {
                    Some(&at) => text.insert_str(at + 1, &format!("{hashtag} ")),
                    None => {
                        text.push(' ');
                        text.push_str(&hashtag);
                    }
                }
            }
        }
    }
    text
}

#[derive(Debug, Default)]
struct Counts {
    users: u64,
    follows: u64,
    posts: u64,
    post_tags: u64,
    likes: u64,
}

/// Writes a plan in transactions of about [`ROWS_PER_TRANSACTION`] rows.
struct Writer<'a> {
    db: &'a DatabaseConnection,
    max_binds: usize,
    progress: &'a ProgressBar,
}

impl Writer<'_> {
    async fn write(&mut self, plan: Plan, seed: u64) -> anyhow::Result<Counts> {
        let mut counts = Counts::default();
        self.progress.set_message("users");
        for chunk in plan.users.chunks(ROWS_PER_TRANSACTION) {
            let rows: Vec<user::ActiveModel> = chunk.iter().cloned().map(Into::into).collect();
            counts.users += self.transaction(rows, NO_CHILDREN).await?;
        }
        self.progress.set_message("follows");
        for chunk in plan.follows.chunks(ROWS_PER_TRANSACTION) {
            let rows: Vec<follow::ActiveModel> = chunk.iter().cloned().map(Into::into).collect();
            counts.follows += self.transaction(rows, NO_CHILDREN).await?;
        }
        self.progress.set_message("posts");
        let mut contents = stream(seed, Stream::Contents);
        // Two thirds: a post comes with about one hashtag row on average.
        for chunk in plan.posts.chunks(ROWS_PER_TRANSACTION * 2 / 3) {
            let mut posts = Vec::with_capacity(chunk.len());
            let mut tags = Vec::with_capacity(chunk.len());
            for planned in chunk {
                let content = post_content(&mut contents);
                for (position, tag) in hashtags(&content).into_iter().enumerate() {
                    tags.push(post_tag::ActiveModel {
                        post_id: Set(planned.id),
                        tag: Set(tag),
                        position: Set(position as i32),
                    });
                }
                posts.push(post::ActiveModel {
                    id: Set(planned.id),
                    author_id: Set(plan.users[planned.author as usize].id),
                    search_text: Set(crate::posts::domain::search_text(&content)),
                    content: Set(content),
                    created_at: Set(timestamp(planned.created_at)),
                    edited_at: Set(None),
                    visibility: Set("public".to_owned()),
                });
            }
            counts.post_tags += tags.len() as u64;
            counts.posts += self.transaction(posts, tags).await?;
        }
        self.progress.set_message("likes");
        for chunk in plan.likes.chunks(ROWS_PER_TRANSACTION) {
            let rows: Vec<like::ActiveModel> = chunk.iter().cloned().map(Into::into).collect();
            counts.likes += self.transaction(rows, NO_CHILDREN).await?;
        }
        Ok(counts)
    }

    /// One transaction: `rows`, which move the progress bar, then `children` (hashtags)
    /// that belong to them. Returns the number of `rows`.
    async fn transaction<A, B>(&self, rows: Vec<A>, children: Vec<B>) -> anyhow::Result<u64>
    where
        A: ActiveModelTrait + Send,
        B: ActiveModelTrait + Send,
    {
        let written = rows.len() as u64;
        let txn = db::begin_write(self.db).await?;
        self.insert(&txn, rows, true).await?;
        self.insert(&txn, children, false).await?;
        txn.commit().await?;
        Ok(written)
    }

    /// Multi-row `INSERT`s of as many rows as the bind-parameter limit allows.
    async fn insert<A>(
        &self,
        txn: &impl ConnectionTrait,
        rows: Vec<A>,
        counts: bool,
    ) -> anyhow::Result<()>
    where
        A: ActiveModelTrait + Send,
    {
        let columns = <A::Entity as EntityTrait>::Column::iter().count();
        let per_statement = (self.max_binds / columns).max(1);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<A> = rows.by_ref().take(per_statement).collect();
            let size = batch.len() as u64;
            <A::Entity as EntityTrait>::insert_many(batch)
                .exec_without_returning(txn)
                .await?;
            if counts {
                self.progress.inc(size);
            }
        }
        Ok(())
    }
}

/// For [`Writer::transaction`] on tables without child rows.
const NO_CHILDREN: Vec<post_tag::ActiveModel> = Vec::new();

/// Display and ASCII (username) forms of first names, some beyond ASCII so that search
/// folding has work to do.
const FIRST_NAMES: &[(&str, &str)] = &[
    ("Ada", "ada"),
    ("Alice", "alice"),
    ("Amara", "amara"),
    ("Ana", "ana"),
    ("Ben", "ben"),
    ("Björn", "bjorn"),
    ("Carlos", "carlos"),
    ("Chloé", "chloe"),
    ("Dmitri", "dmitri"),
    ("Élodie", "elodie"),
    ("Emma", "emma"),
    ("Fatima", "fatima"),
    ("Grace", "grace"),
    ("Hana", "hana"),
    ("Hugo", "hugo"),
    ("Ines", "ines"),
    ("Ivan", "ivan"),
    ("Jamal", "jamal"),
    ("José", "jose"),
    ("Kai", "kai"),
    ("Lars", "lars"),
    ("Leila", "leila"),
    ("Liam", "liam"),
    ("Lucía", "lucia"),
    ("Mateo", "mateo"),
    ("Mei", "mei"),
    ("Nadia", "nadia"),
    ("Noah", "noah"),
    ("Olga", "olga"),
    ("Omar", "omar"),
    ("Priya", "priya"),
    ("Quentin", "quentin"),
    ("Rosa", "rosa"),
    ("Sami", "sami"),
    ("Søren", "soren"),
    ("Σοφία", "sofia"),
    ("Tomás", "tomas"),
    ("Uma", "uma"),
    ("Wei", "wei"),
    ("Yara", "yara"),
    ("Zoë", "zoe"),
];

const LAST_NAMES: &[(&str, &str)] = &[
    ("Abbott", "abbott"),
    ("Álvarez", "alvarez"),
    ("Bauer", "bauer"),
    ("Chen", "chen"),
    ("Costa", "costa"),
    ("Dubois", "dubois"),
    ("Eriksson", "eriksson"),
    ("Fischer", "fischer"),
    ("García", "garcia"),
    ("Haddad", "haddad"),
    ("Ivanova", "ivanova"),
    ("Jensen", "jensen"),
    ("Kim", "kim"),
    ("Kowalski", "kowalski"),
    ("Lefèvre", "lefevre"),
    ("Martin", "martin"),
    ("Müller", "muller"),
    ("Nakamura", "nakamura"),
    ("Novak", "novak"),
    ("Okafor", "okafor"),
    ("Papadopoulos", "papadopoulos"),
    ("Patel", "patel"),
    ("Quinn", "quinn"),
    ("Rossi", "rossi"),
    ("Santos", "santos"),
    ("Schmidt", "schmidt"),
    ("Silva", "silva"),
    ("Smith", "smith"),
    ("Tanaka", "tanaka"),
    ("Ünal", "unal"),
    ("Van Dijk", "vandijk"),
    ("Wang", "wang"),
    ("Weber", "weber"),
    ("Wójcik", "wojcik"),
    ("Yilmaz", "yilmaz"),
    ("Zhang", "zhang"),
];

const LOCATIONS: &[&str] = &[
    "Amsterdam",
    "Athens",
    "Berlin",
    "Bogotá",
    "Cairo",
    "Cape Town",
    "Chicago",
    "Istanbul",
    "Lagos",
    "Lisbon",
    "London",
    "Melbourne",
    "Mexico City",
    "Montréal",
    "Mumbai",
    "Oslo",
    "Paris",
    "São Paulo",
    "Seoul",
    "Tokyo",
    "Toronto",
    "Warsaw",
];

/// The hashtag vocabulary (stored form: lower-case, no `#`).
const TAGS: &[&str] = &[
    "rust",
    "coffee",
    "travel",
    "photography",
    "music",
    "books",
    "running",
    "cycling",
    "cooking",
    "baking",
    "gardening",
    "hiking",
    "climbing",
    "football",
    "chess",
    "gaming",
    "movies",
    "art",
    "design",
    "science",
    "space",
    "astronomy",
    "nature",
    "birds",
    "cats",
    "dogs",
    "weekend",
    "monday",
    "food",
    "vegan",
    "tea",
    "jazz",
    "poetry",
    "history",
    "linux",
    "opensource",
    "programming",
    "databases",
    "webdev",
    "startups",
    "climate",
    "ocean",
    "mountains",
    "sunset",
    "rain",
    "winter",
    "summer",
    "fitness",
    "yoga",
    "100daysofcode",
];

/// The word list of bios and posts, separated by spaces.
const WORD_LIST: &str = "\
    the a and of to in is it that for on with as this was at by from but not what all were \
    when we there can an your which their said if do will each about how up out them then she \
    many some so these would other into has more her two like him see time could no make than \
    first been its who now people my made over did down only way find use may water long \
    little very after words called just where most know get through back much before go good \
    new write our used me man too any day same right look think also around another came come \
    work three word must because does part even place well such here take why things help put \
    years different away again off went old number great tell men say small every found still \
    between name should home big give air line set own under read last never us left end along \
    while might next sound below saw something thought both few those always looked show large \
    often together asked house world going want school important until form food keep children \
    feet land side without boy once animals life enough took sometimes four head above kind \
    began almost live page got earth need far hand high year mother light parts country father \
    let night following picture being study second eyes soon times story boys since white days \
    ever paper hard near sentence better best across during today others however sure means \
    knew try told young miles sun ways thing whole hear example heard several change answer \
    room sea against top turned learn point city play toward five using himself usually coffee \
    morning garden river bridge window train music friends weather bread dinner weekend code \
    bug release server database query cafe naïve über ready finally honestly tiny huge quiet";

static WORDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| WORD_LIST.split_ascii_whitespace().collect());

#[cfg(test)]
mod tests {
    use super::*;

    fn small_plan(seed: u64) -> Plan {
        let options = SeedOptions {
            users: 50,
            follows_per_user: 5,
            posts_per_user: 4,
            likes_per_user: 6,
            seed,
            ..SeedOptions::default()
        };
        Plan::new(&options, "hash".into(), 1_800_000_000_000_000)
    }

    #[test]
    fn ids_sort_as_their_timestamps() {
        let mut rng = stream(1, Stream::Posts);
        let times = [
            1_700_000_000_000_000,
            1_700_000_000_000_001,
            1_700_000_000_000_999,
            1_700_000_000_001_000,
            1_700_000_000_001_001,
        ];
        let ids: Vec<Uuid> = times.iter().map(|&t| v7_id(t, &mut rng)).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
        for (id, time) in ids.iter().zip(times) {
            assert_eq!(id.get_version_num(), 7);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!(
                secs as i64 * 1000 + i64::from(nanos / 1_000_000),
                time / 1000
            );
        }
    }

    #[test]
    fn usernames_are_valid_and_fit() {
        for (first, last, index) in [
            ("quentin", "papadopoulos", 0),
            ("quentin", "papadopoulos", 123_456_789),
            ("ada", "kim", 7),
        ] {
            let name = username(first, last, index);
            assert!(
                crate::users::domain::Username::parse(&name).is_ok_and(|u| u.as_str() == name),
                "{name}"
            );
            assert!(name.ends_with(&format!("_{index}")));
        }
    }

    #[test]
    fn plans_are_deterministic_and_consistent() {
        let plan = small_plan(7);
        let again = small_plan(7);
        let names = |plan: &Plan| {
            plan.users
                .iter()
                .map(|u| u.username.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&plan), names(&again));
        assert_ne!(names(&plan), names(&small_plan(8)));
        let ids = |plan: &Plan| plan.posts.iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(&plan), ids(&again));

        // Posts are in time order and their ids follow.
        assert!(
            plan.posts
                .windows(2)
                .all(|pair| pair[0].created_at < pair[1].created_at && pair[0].id < pair[1].id)
        );
        // Follows: unique, never oneself, counted.
        let pairs: HashSet<_> = plan
            .follows
            .iter()
            .map(|f| (f.follower_id, f.followee_id))
            .collect();
        assert_eq!(pairs.len(), 50 * 5);
        assert!(plan.follows.iter().all(|f| f.follower_id != f.followee_id));
        for user in &plan.users {
            let followers = plan
                .follows
                .iter()
                .filter(|f| f.followee_id == user.id)
                .count();
            let following = plan
                .follows
                .iter()
                .filter(|f| f.follower_id == user.id)
                .count();
            assert_eq!(user.followers_count, followers as i64);
            assert_eq!(user.following_count, following as i64);
            assert_eq!(user.posts_count, 4);
        }
        // Likes: unique per (post, user), after their post.
        let likes: HashSet<_> = plan.likes.iter().map(|l| (l.post_id, l.user_id)).collect();
        assert_eq!(likes.len(), 50 * 6);
        assert!(
            plan.likes
                .windows(2)
                .all(|pair| pair[0].created_at <= pair[1].created_at)
        );
    }

    #[test]
    fn contents_are_valid_posts_and_half_carry_tags() {
        let mut rng = stream(3, Stream::Contents);
        let contents: Vec<String> = (0..2000).map(|_| post_content(&mut rng)).collect();
        for content in &contents {
            let parsed = crate::posts::domain::Content::parse(content).unwrap();
            assert_eq!(parsed.as_str(), content);
            for tag in hashtags(content) {
                assert!(TAGS.contains(&tag.as_str()), "{tag} in {content:?}");
            }
        }
        let tagged = contents.iter().filter(|c| !hashtags(c).is_empty()).count();
        assert!((800..1200).contains(&tagged), "{tagged} of 2000 tagged");
    }

    #[test]
    fn word_lists_are_tag_safe() {
        assert!(TAGS.len() >= 50);
        for tag in TAGS {
            assert_eq!(hashtags(&format!("#{tag}")), [tag.to_string()]);
        }
    }
}
