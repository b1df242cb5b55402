//! `roost seed`: the built binary fills a fresh database (SQLite, and PostgreSQL when
//! `ROOST_TEST_POSTGRES_URL` is set) with a tiny dataset whose counts and invariants are
//! then checked with SQL, whose content is the same for the same seed, and whose accounts
//! can log in through the API.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use roost::auth::Viewer;
use roost::auth::password::PasswordHasher;
use roost::config::PasswordHashConfig;
use roost::posts::domain::hashtags;
use roost::posts::store::{PostFilter, PostList, query_words};
use roost::users::domain::{Username, fold_case};
use roost::{Application, Config};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, FromQueryResult, Statement};
use uuid::Uuid;

const USERS: u64 = 30;
const FOLLOWS_PER_USER: u64 = 5;
const POSTS_PER_USER: u64 = 8;
const LIKES_PER_USER: u64 = 6;
const PASSWORD: &str = "tiny-seed-password";

fn roost() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roost"));
    command
        .env_remove("ROOST_DATABASE_URL")
        .env("ROOST_ARGON2_MEMORY_KIB", "64")
        .env("ROOST_ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn");
    command
}

/// Runs `roost seed` with the tiny dataset's options on `url`.
fn seed(url: &str, seed: u64) -> Output {
    roost()
        .env("ROOST_DATABASE_URL", url)
        .args(["seed", "--users", &USERS.to_string()])
        .args(["--follows-per-user", &FOLLOWS_PER_USER.to_string()])
        .args(["--posts-per-user", &POSTS_PER_USER.to_string()])
        .args(["--likes-per-user", &LIKES_PER_USER.to_string()])
        .args(["--seed", &seed.to_string(), "--password", PASSWORD])
        .output()
        .expect("roost runs")
}

fn seed_ok(url: &str, seed_value: u64) {
    let output = seed(url, seed_value);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "roost seed failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(PASSWORD),
        "the summary names the password: {stdout}"
    );
    assert!(stdout.contains(&format!("{USERS} users")), "{stdout}");
}

/// What a seed determines, in id (= time) order, by name rather than by id.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    users: Vec<(String, String, String)>,
    posts: Vec<(String, String)>,
    follows: Vec<(String, String)>,
    likes: Vec<(usize, String)>,
}

#[derive(Debug, FromQueryResult)]
struct UserRow {
    id: Uuid,
    email: String,
    username: String,
    password_hash: String,
    display_name: String,
    display_name_search: String,
    bio: String,
    created_at: DateTime<Utc>,
    followers_count: i64,
    following_count: i64,
    posts_count: i64,
}

#[derive(Debug, FromQueryResult)]
struct PostRow {
    id: Uuid,
    author_id: Uuid,
    content: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, FromQueryResult)]
struct TagRow {
    post_id: Uuid,
    tag: String,
    position: i32,
}

#[derive(Debug, FromQueryResult)]
struct EdgeRow {
    id: Uuid,
    from_id: Uuid,
    to_id: Uuid,
    created_at: DateTime<Utc>,
}

async fn all<T: FromQueryResult>(db: &DatabaseConnection, sql: &str) -> Vec<T> {
    T::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Ids are time-ordered: sorted by id, the timestamps never go back.
fn assert_time_ordered(what: &str, rows: impl Iterator<Item = (Uuid, DateTime<Utc>)>) {
    let rows: Vec<_> = rows.collect();
    assert!(
        rows.windows(2)
            .all(|pair| pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1),
        "{what}: id order is not time order"
    );
}

/// Checks every invariant of a seeded database and returns what the seed determined.
async fn check(url: &str) -> Snapshot {
    let db = Database::connect(url).await.expect("database reachable");
    for (table, expected) in [
        ("users", USERS),
        ("follows", USERS * FOLLOWS_PER_USER),
        ("posts", USERS * POSTS_PER_USER),
        ("likes", USERS * LIKES_PER_USER),
    ] {
        let actual = count(&db, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(actual, expected as i64, "rows in {table}");
    }

    // Counters equal the real counts.
    let wrong = count(
        &db,
        "SELECT COUNT(*) FROM users u WHERE \
         u.followers_count <> (SELECT COUNT(*) FROM follows f WHERE f.followee_id = u.id) \
         OR u.following_count <> (SELECT COUNT(*) FROM follows f WHERE f.follower_id = u.id) \
         OR u.posts_count <> (SELECT COUNT(*) FROM posts p WHERE p.author_id = u.id)",
    )
    .await;
    assert_eq!(wrong, 0, "users whose counters differ from the real counts");

    let users: Vec<UserRow> = all(
        &db,
        "SELECT id, email, username, password_hash, display_name, display_name_search, bio, \
         created_at, followers_count, following_count, posts_count FROM users ORDER BY id",
    )
    .await;
    let names: HashMap<Uuid, String> = users
        .iter()
        .map(|user| (user.id, user.username.clone()))
        .collect();
    assert_time_ordered("users", users.iter().map(|u| (u.id, u.created_at)));
    for user in &users {
        assert_eq!(
            Username::parse(&user.username).map(|name| name.as_str().to_owned()),
            Ok(user.username.clone())
        );
        assert_eq!(user.email, user.email.to_lowercase());
        assert!(user.email.ends_with("@seed.example"), "{}", user.email);
        assert!(!user.display_name.is_empty());
        assert_eq!(user.display_name_search, fold_case(&user.display_name));
        assert_eq!(user.following_count, FOLLOWS_PER_USER as i64);
        assert_eq!(user.posts_count, POSTS_PER_USER as i64);
    }
    // Popularity is skewed: followers are not spread evenly.
    let most_followed = users.iter().map(|u| u.followers_count).max().unwrap();
    assert!(most_followed > FOLLOWS_PER_USER as i64, "{most_followed}");
    // One hash, shared by all, that verifies the password.
    let hashes: HashSet<&str> = users.iter().map(|u| u.password_hash.as_str()).collect();
    assert_eq!(hashes.len(), 1);
    let hasher = PasswordHasher::new(PasswordHashConfig::default()).unwrap();
    let hash = users[0].password_hash.clone();
    assert!(
        hasher
            .verify(PASSWORD.into(), Some(hash.clone()))
            .await
            .unwrap()
    );
    assert!(
        !hasher
            .verify("wrong password".into(), Some(hash))
            .await
            .unwrap()
    );

    // Follows: unique pairs, nobody follows themselves, after both accounts existed.
    let created: HashMap<Uuid, DateTime<Utc>> =
        users.iter().map(|u| (u.id, u.created_at)).collect();
    let follows: Vec<EdgeRow> = all(
        &db,
        "SELECT id, follower_id AS from_id, followee_id AS to_id, created_at FROM follows ORDER BY id",
    )
    .await;
    assert_time_ordered("follows", follows.iter().map(|f| (f.id, f.created_at)));
    let pairs: HashSet<(Uuid, Uuid)> = follows.iter().map(|f| (f.from_id, f.to_id)).collect();
    assert_eq!(pairs.len(), follows.len(), "follow pairs are unique");
    for follow in &follows {
        assert_ne!(follow.from_id, follow.to_id, "a self-follow");
        assert!(follow.created_at >= created[&follow.from_id].max(created[&follow.to_id]));
    }

    // Posts: valid contents, after their author's sign-up; tags exactly as the parser says.
    let posts: Vec<PostRow> = all(
        &db,
        "SELECT id, author_id, content, created_at FROM posts ORDER BY id",
    )
    .await;
    assert_time_ordered("posts", posts.iter().map(|p| (p.id, p.created_at)));
    let tags: Vec<TagRow> = all(&db, "SELECT post_id, tag, position FROM post_tags").await;
    let mut tags_of: HashMap<Uuid, Vec<(i32, String)>> = HashMap::new();
    for row in tags {
        tags_of
            .entry(row.post_id)
            .or_default()
            .push((row.position, row.tag));
    }
    let mut tagged = 0;
    for post in &posts {
        roost::posts::domain::Content::parse(&post.content).expect("valid content");
        assert!(post.created_at > created[&post.author_id]);
        let mut stored = tags_of.remove(&post.id).unwrap_or_default();
        stored.sort();
        let expected: Vec<(i32, String)> = hashtags(&post.content)
            .into_iter()
            .enumerate()
            .map(|(position, tag)| (position as i32, tag))
            .collect();
        assert_eq!(stored, expected, "tags of {:?}", post.content);
        tagged += usize::from(!expected.is_empty());
    }
    assert!(tags_of.is_empty(), "tags of no post");
    assert!(
        (posts.len() / 4..=posts.len() * 3 / 4).contains(&tagged),
        "{tagged} of {} posts have hashtags",
        posts.len()
    );

    // Likes: unique per (post, user), after the post.
    let likes: Vec<EdgeRow> = all(
        &db,
        "SELECT id, post_id AS from_id, user_id AS to_id, created_at FROM likes ORDER BY id",
    )
    .await;
    assert_time_ordered("likes", likes.iter().map(|l| (l.id, l.created_at)));
    let liked: HashSet<(Uuid, Uuid)> = likes.iter().map(|l| (l.from_id, l.to_id)).collect();
    assert_eq!(liked.len(), likes.len(), "likes are unique");
    let post_time: HashMap<Uuid, DateTime<Utc>> =
        posts.iter().map(|p| (p.id, p.created_at)).collect();
    assert!(
        likes
            .iter()
            .all(|like| like.created_at >= post_time[&like.from_id])
    );

    // Search indexes were filled (SQLite's FTS tables by triggers, PostgreSQL's generated
    // column): a word of the first post finds it, a username finds its user.
    let word = query_words(&posts[0].content).into_iter().next().unwrap();
    let list = PostList::Filtered(PostFilter {
        words: Some(vec![word.clone()]),
        ..PostFilter::default()
    });
    let found = roost::posts::store::list(&db, &list, &Viewer::Anonymous, Default::default(), 1000)
        .await
        .unwrap();
    let expected = posts
        .iter()
        .filter(|p| query_words(&p.content).contains(&word))
        .count();
    assert_eq!(found.len(), expected, "posts with the word {word:?}");
    let scope = roost::users::store::SearchScope::default();
    let hits = roost::users::store::search(&db, &Viewer::Anonymous, &users[3].username, &scope, 10)
        .await
        .unwrap();
    assert_eq!(hits[0].user.username, users[3].username);

    let snapshot = Snapshot {
        users: users
            .iter()
            .map(|u| (u.username.clone(), u.display_name.clone(), u.bio.clone()))
            .collect(),
        posts: posts
            .iter()
            .map(|p| (names[&p.author_id].clone(), p.content.clone()))
            .collect(),
        follows: follows
            .iter()
            .map(|f| (names[&f.from_id].clone(), names[&f.to_id].clone()))
            .collect(),
        // Post ids move with the clock: name a liked post by its place in time instead.
        likes: {
            let place: HashMap<Uuid, usize> = posts
                .iter()
                .enumerate()
                .map(|(index, post)| (post.id, index))
                .collect();
            let mut likes: Vec<(usize, String)> = likes
                .iter()
                .map(|l| (place[&l.from_id], names[&l.to_id].clone()))
                .collect();
            likes.sort();
            likes
        },
    };
    db.close().await.ok();
    snapshot
}

/// A seeded account logs in through the API and reads its feed, newest first.
async fn log_in_and_read_the_feed(url: &str, email: &str, media_dir: &std::path::Path) {
    let env: HashMap<&str, String> = HashMap::from([
        ("ROOST_DATABASE_URL", url.to_owned()),
        ("ROOST_BIND", "127.0.0.1:0".to_owned()),
        ("ROOST_MASTODON_BIND", "off".to_owned()),
        ("ROOST_MEDIA_DIR", media_dir.display().to_string()),
        ("ROOST_DATABASE_MAX_CONNECTIONS", "2".to_owned()),
    ]);
    let config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
    let application = Application::build(config).await.unwrap();
    let base = format!("http://{}/api/v1", application.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let login: serde_json::Value = response.json().await.unwrap();
    assert_eq!(login["user"]["posts_count"], POSTS_PER_USER);
    assert_eq!(login["user"]["following_count"], FOLLOWS_PER_USER);
    let token = login["token"].as_str().unwrap();
    let feed: serde_json::Value = client
        .get(format!("{base}/feed?limit=100"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let times: Vec<DateTime<Utc>> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["created_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(!times.is_empty());
    assert!(
        times.windows(2).all(|pair| pair[0] >= pair[1]),
        "feed newest first"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_seed_is_consistent_deterministic_and_usable() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());

    seed_ok(&url("first.db"), 7);
    let first = check(&url("first.db")).await;
    seed_ok(&url("second.db"), 7);
    assert_eq!(
        check(&url("second.db")).await,
        first,
        "same seed, same data"
    );
    seed_ok(&url("other.db"), 8);
    let other = check(&url("other.db")).await;
    assert_ne!(other.users, first.users);
    assert_ne!(other.posts, first.posts);

    // A database that already has users is refused, and left as it was.
    let again = seed(&url("first.db"), 7);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has"));
    assert_eq!(check(&url("first.db")).await, first);

    let email = format!("{}@seed.example", first.users[0].0);
    log_in_and_read_the_feed(&url("first.db"), &email, &dir.path().join("media")).await;
}

#[test]
fn impossible_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("roost.db").display());
    for args in [
        &["--users", "5", "--follows-per-user", "5"][..],
        &[
            "--users",
            "2",
            "--posts-per-user",
            "1",
            "--likes-per-user",
            "3",
        ],
        &["--password", "short"],
    ] {
        let output = roost()
            .env("ROOST_DATABASE_URL", &url)
            .arg("seed")
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} accepted");
    }
}

/// A database created for the test and dropped when it ends, pass or fail.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime; clean up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = db.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// `admin_url` with its database name replaced by `name`.
fn with_database_name(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("ROOST_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_seed_is_consistent_and_matches_sqlite() {
    let Ok(admin_url) = std::env::var("ROOST_TEST_POSTGRES_URL") else {
        return;
    };
    let name = format!("roost_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("ROOST_TEST_POSTGRES_URL is set but unreachable: {error}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let _database = PostgresDatabase {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let url = with_database_name(&admin_url, &name);

    seed_ok(&url, 7);
    let on_postgres = check(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("roost.db").display());
    seed_ok(&sqlite, 7);
    assert_eq!(
        on_postgres,
        check(&sqlite).await,
        "the same seed gives the same data on both backends"
    );
    let email = format!("{}@seed.example", on_postgres.users[0].0);
    log_in_and_read_the_feed(&url, &email, &dir.path().join("media")).await;
}
