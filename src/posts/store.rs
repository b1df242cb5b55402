//! Queries on posts. The post-listing query is written once ([`list`]) and serves every
//! list — feed, tag, author, search, likes — through a [`PostFilter`]; a page of posts is
//! then completed ([`hydrate`]) with a fixed number of queries whatever its size.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Expr, ExprTrait, JoinType, Order, Query, SelectStatement, SubQueryStatement, UnionType,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use super::entity::{comment_mention, like, post, post_mention, post_tag};
use crate::auth::{Viewer, ViewerColumns};
use crate::media::{entity as media, store as media_store};
use crate::pagination::Window;
use crate::privacy::{self, Visibility};
use crate::users::entity::{follow, user};

/// Which posts a list shows.
#[derive(Debug, Clone)]
pub enum PostList {
    /// The viewer's home feed: their own posts and those of everyone they follow (the
    /// viewer is the query's `viewer`, so the feed needs no token check of its own). It has
    /// a query of its own ([`home_feed`]).
    HomeFeed,
    /// Posts this user liked, ordered by the like (most recent first) instead of the post.
    LikedBy(Uuid),
    /// Every post, or those matching the filter.
    Filtered(PostFilter),
}

/// Filters of a list of posts. They combine (AND).
#[derive(Debug, Default, Clone)]
pub struct PostFilter {
    /// Posts by this author.
    pub author: Option<Uuid>,
    /// Posts carrying this (normalised) tag.
    pub tag: Option<String>,
    /// Posts containing every one of these words (full-text).
    pub words: Option<Vec<String>>,
    /// Keep the posts of accounts the viewer mutes: only a profile's own list does
    /// (`/users/{username}/posts`); `/posts` and tag lists leave them out.
    pub include_muted: bool,
    /// Only posts with at least one image.
    pub only_media: bool,
}

/// One row of a post list: the post, its author and counts, and the list's sort key.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PostRow {
    pub id: Uuid,
    pub author_id: Uuid,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// As the author chose it; see [`crate::privacy::Visibility::effective`].
    pub visibility: String,
    pub author_locked: bool,
    pub like_count: i64,
    pub comment_count: i64,
    pub author_username: String,
    pub author_display_name: String,
    pub author_avatar_key: Option<String>,
    /// The post's tags as `position:tag` items separated by spaces, in no particular order
    /// (tags contain neither character); [`PostRow::tags`] puts them in order.
    pub tag_list: Option<String>,
    /// Whether the viewer liked the post; `None` for anonymous viewers.
    pub liked: Option<bool>,
    /// How many images the post has (their rows are loaded only when there are some).
    pub media_count: i64,
    /// How many accounts the post mentions (loaded only when there are some).
    pub mention_count: i64,
    /// The key the list is ordered by: the post id, or the like id for "posts I liked".
    pub sort_key: Uuid,
    /// What the query found for the viewer's token (see [`Viewer`]).
    #[sea_orm(nested)]
    pub viewer: ViewerColumns,
}

impl PostRow {
    /// The post's tags in order of first appearance.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<(i64, &str)> = self
            .tag_list
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter_map(|item| {
                let (position, tag) = item.split_once(':')?;
                Some((position.parse().ok()?, tag))
            })
            .collect();
        tags.sort_unstable_by_key(|(position, _)| *position);
        tags.into_iter().map(|(_, tag)| tag.to_owned()).collect()
    }
}

/// The alias of the posts table in the inner query of a page.
const P: &str = "p";

/// A select of the post columns of the inner, filtered and limited query of a page, and its
/// sort key `sort_key`.
fn page_select(sort_key: (&'static str, &'static str)) -> SelectStatement {
    Query::select()
        .columns([
            (P, post::Column::Id),
            (P, post::Column::AuthorId),
            (P, post::Column::Content),
            (P, post::Column::CreatedAt),
            (P, post::Column::EditedAt),
            (P, post::Column::Visibility),
        ])
        .expr_as(Expr::col(sort_key), "sort_key")
        .to_owned()
}

/// The tags of `page.id` as one string, on PostgreSQL. Unordered, and put in order by
/// [`PostRow::tags`]: an aggregate's own `ORDER BY` costs SQLite a temporary b-tree for
/// every row of the page.
const TAG_LIST_POSTGRES: &str = "(SELECT string_agg(t.position || ':' || t.tag, ' ') FROM post_tags t WHERE t.post_id = page.id)";
/// The same on SQLite.
const TAG_LIST_SQLITE: &str = "(SELECT group_concat(t.position || ':' || t.tag, ' ') FROM post_tags t WHERE t.post_id = page.id)";

/// Completes the rows of an inner query `page` (already cut to one page) with counts,
/// author, tags and the viewer's like, so those are computed for the page's rows only,
/// never for every match, and in the same statement as the viewer's token check: a page
/// costs one round trip (plus one for its images, when it has any). The inner query may
/// refer to the viewer as `viewer` (see [`Viewer::with_clause`]).
fn complete_page(backend: DbBackend, inner: SelectStatement, viewer: &Viewer) -> Statement {
    let tag_list = match backend {
        DbBackend::Postgres => TAG_LIST_POSTGRES,
        _ => TAG_LIST_SQLITE,
    };
    let mut select = Query::select();
    select
        .columns([
            ("page", post::Column::Id),
            ("page", post::Column::AuthorId),
            ("page", post::Column::Content),
            ("page", post::Column::CreatedAt),
            ("page", post::Column::EditedAt),
            ("page", post::Column::Visibility),
        ])
        .expr_as(Expr::col(("u", user::Column::Locked)), "author_locked")
        .expr_as(
            Expr::cust("(SELECT COUNT(*) FROM likes lc WHERE lc.post_id = page.id)"),
            "like_count",
        )
        .expr_as(
            Expr::cust("(SELECT COUNT(*) FROM comments cc WHERE cc.post_id = page.id)"),
            "comment_count",
        )
        .expr_as(Expr::col(("u", user::Column::Username)), "author_username")
        .expr_as(
            Expr::col(("u", user::Column::DisplayName)),
            "author_display_name",
        )
        .expr_as(
            Expr::col(("u", user::Column::AvatarKey)),
            "author_avatar_key",
        )
        .expr_as(Expr::cust(tag_list), "tag_list")
        .expr_as(
            Expr::cust(
                "CASE WHEN v.user_id IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM likes lv \
                 WHERE lv.post_id = page.id AND lv.user_id = v.user_id) END",
            ),
            "liked",
        )
        .expr_as(
            Expr::cust("(SELECT COUNT(*) FROM media m WHERE m.post_id = page.id)"),
            "media_count",
        )
        .expr_as(
            Expr::cust("(SELECT COUNT(*) FROM post_mentions pm WHERE pm.post_id = page.id)"),
            "mention_count",
        )
        .column(("page", "sort_key"))
        .from_subquery(inner, "page")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "u",
            Expr::col(("u", user::Column::Id)).equals(("page", post::Column::AuthorId)),
        );
    viewer.join_columns(&mut select);
    backend.build(&select.with(viewer.with_clause()))
}

/// Runs a statement built by [`complete_page`] and puts its rows in list order, which the
/// statement leaves to the caller: sorting twenty rows here is cheaper than the temporary
/// b-tree SQLite would build for an outer `ORDER BY`.
async fn fetch_page(
    db: &impl ConnectionTrait,
    statement: Statement,
) -> Result<Vec<PostRow>, DbErr> {
    let mut rows = PostRow::find_by_statement(statement).all(db).await?;
    rows.sort_unstable_by_key(|row| std::cmp::Reverse(row.sort_key));
    Ok(rows)
}

/// One page of the posts of `list` within `window`, newest first (by `sort_key`).
///
/// Counts are computed in the same statement from the `(post_id, …)` indexes on likes and
/// comments, so they are exact without counters to keep in step. Each filter is an indexed
/// lookup: author → `(author_id, id)`, tag → `(tag, post_id)`, words → FTS5 / GIN
/// `tsvector`, feed → follows `(follower_id, …)` then posts `(author_id, id)`, likes →
/// `(user_id, id)`.
pub async fn list(
    db: &impl ConnectionTrait,
    list: &PostList,
    viewer: &Viewer,
    window: Window,
    limit: u64,
) -> Result<Vec<PostRow>, DbErr> {
    let backend = db.get_database_backend();
    let inner = match list {
        PostList::HomeFeed => home_feed(backend, viewer, window, limit),
        PostList::LikedBy(user_id) => liked_by(viewer, *user_id, window, limit),
        PostList::Filtered(filter) => filtered(backend, viewer, filter, window, limit),
    };
    fetch_page(db, complete_page(backend, inner, viewer)).await
}

/// The inner query of "posts `user_id` liked" that the viewer may still see, driven by the
/// `(user_id, id)` index on likes so that a page reads `limit` index entries in list order.
fn liked_by(viewer: &Viewer, user_id: Uuid, window: Window, limit: u64) -> SelectStatement {
    let sort_key = ("lk", "id");
    let mut select = page_select(sort_key);
    select
        .from_as(like::Entity, "lk")
        .join_as(
            JoinType::InnerJoin,
            post::Entity,
            P,
            Expr::col((P, post::Column::Id)).equals(("lk", like::Column::PostId)),
        )
        .and_where(Expr::col(("lk", like::Column::UserId)).eq(user_id));
    select.and_where(Expr::cust(privacy::post_visible(viewer, P)));
    keyset(&mut select, sort_key, window, limit);
    select
}

/// The inner query of every post or those matching `filter`. It is driven by the table
/// whose index yields rows already in list order (the tag's `(tag, post_id)` index when a
/// tag is given, the posts' primary key otherwise), so a page reads `limit` index entries
/// instead of sorting every match.
fn filtered(
    backend: DbBackend,
    viewer: &Viewer,
    filter: &PostFilter,
    window: Window,
    limit: u64,
) -> SelectStatement {
    let (mut select, sort_key) = match &filter.tag {
        Some(tag) => {
            let sort_key = ("pt", "post_id");
            let mut select = page_select(sort_key);
            select
                .from_as(post_tag::Entity, "pt")
                .join_as(
                    JoinType::InnerJoin,
                    post::Entity,
                    P,
                    Expr::col((P, post::Column::Id)).equals(("pt", post_tag::Column::PostId)),
                )
                .and_where(Expr::col(("pt", post_tag::Column::Tag)).eq(tag.as_str()));
            (select, sort_key)
        }
        None => {
            let sort_key = (P, "id");
            let mut select = page_select(sort_key);
            select.from_as(post::Entity, P);
            (select, sort_key)
        }
    };
    if let Some(author) = filter.author {
        select.and_where(Expr::col((P, post::Column::AuthorId)).eq(author));
    }
    if let Some(words) = &filter.words {
        select.and_where(match backend {
            DbBackend::Postgres => matches_words_postgres(words),
            _ => matches_words_sqlite(words),
        });
    }
    if filter.only_media {
        select.and_where(Expr::cust(
            "EXISTS (SELECT 1 FROM media om WHERE om.post_id = p.id)",
        ));
    }
    select.and_where(Expr::cust(if filter.include_muted {
        privacy::post_visible(viewer, P)
    } else {
        privacy::post_listed(viewer, P)
    }));
    keyset(&mut select, sort_key, window, limit);
    select
}

/// Posts containing every word, on PostgreSQL: the GIN index on the `search` tsvector.
fn matches_words_postgres(words: &[String]) -> Expr {
    Expr::cust_with_values(
        "p.search @@ plainto_tsquery('simple', $1)",
        [words.join(" ")],
    )
}

/// Posts containing every word, on SQLite: the FTS5 table, by rowid.
fn matches_words_sqlite(words: &[String]) -> Expr {
    Expr::col((P, "rowid")).in_subquery(
        Query::select()
            .column("rowid")
            .from("posts_fts")
            .and_where(Expr::cust_with_values(
                "posts_fts MATCH ?",
                [fts5_query(words)],
            ))
            .to_owned(),
    )
}

/// At most `limit` rows within `window` by `sort_key`: the newest, or with
/// `oldest_first` the oldest (the caller sorts the page newest first).
fn keyset(
    select: &mut SelectStatement,
    sort_key: (&'static str, &'static str),
    window: Window,
    limit: u64,
) {
    bound(select, sort_key, window);
    select.order_by(sort_key, order(window)).limit(limit);
}

/// Restricts `select` to `window`'s bounds on `key`.
fn bound(select: &mut SelectStatement, key: (&'static str, &'static str), window: Window) {
    if let Some(before) = window.before {
        select.and_where(Expr::col(key).lt(before));
    }
    if let Some(from) = window.from {
        select.and_where(Expr::col(key).gte(from));
    }
}

fn order(window: Window) -> Order {
    if window.oldest_first {
        Order::Asc
    } else {
        Order::Desc
    }
}

/// The inner query of the viewer's home feed, in two steps: the page's ids from the
/// `(author_id, id)` index alone, then the rows of those ids only.
///
/// The visibility rule is applied to the feed's authors rather than to each post: the
/// viewer sees every post of an account they follow (followers-only and locked included)
/// unless a block stands between them, and a block removes the follow in the same
/// transaction; muted accounts leave the feed. So the authors are the viewer and the
/// accounts they follow, minus those across a block or muted, and a page costs the same
/// however many accounts the viewer blocks or mutes.
fn home_feed(backend: DbBackend, viewer: &Viewer, window: Window, limit: u64) -> SelectStatement {
    let authors = feed_authors(viewer);
    let ids = match backend {
        DbBackend::Postgres => home_feed_ids_postgres(authors, window, limit),
        _ => home_feed_ids_sqlite(authors, window, limit),
    };
    page_select((P, "id"))
        .from_as(post::Entity, P)
        .and_where(ids)
        .to_owned()
}

/// The viewer's home-feed posts newer than `since` and created from `not_before` on,
/// oldest first: what the stream replays. The feed's authors are read as for the feed
/// ([`feed_authors`]), so the rule is the feed's.
pub async fn feed_since(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    since: Uuid,
    not_before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<PostRow>, DbErr> {
    let backend = db.get_database_backend();
    let inner = page_select((P, "id"))
        .from_as(post::Entity, P)
        .and_where(Expr::col((P, post::Column::AuthorId)).in_subquery(feed_authors(viewer)))
        .and_where(Expr::col((P, post::Column::Id)).gt(since))
        .and_where(Expr::col((P, post::Column::CreatedAt)).gte(not_before))
        .order_by((P, post::Column::Id), Order::Asc)
        .limit(limit)
        .to_owned();
    let mut rows = PostRow::find_by_statement(complete_page(backend, inner, viewer))
        .all(db)
        .await?;
    rows.sort_unstable_by_key(|row| row.sort_key);
    Ok(rows)
}

/// The authors of the viewer's home feed: everyone they follow whose posts they may see
/// and have not muted, and themselves.
fn feed_authors(viewer: &Viewer) -> SelectStatement {
    let viewer_id = Query::select().column("user_id").from("viewer").to_owned();
    Query::select()
        .expr_as(Expr::col(("f", follow::Column::FolloweeId)), "author_id")
        .from_as(follow::Entity, "f")
        .and_where(
            Expr::col(("f", follow::Column::FollowerId)).eq(Expr::SubQuery(
                None,
                Box::new(SubQueryStatement::from(viewer_id.clone())),
            )),
        )
        .and_where(Expr::cust(privacy::not_blocked_either_way(
            viewer,
            "f.followee_id",
        )))
        .and_where(Expr::cust(privacy::not_muted(viewer, "f.followee_id")))
        .union(UnionType::All, viewer_id)
        .to_owned()
}

/// `p.id IN (…)` the feed's page of ids, on SQLite, which has no `LATERAL`: it reads each
/// author's range of the covering index from the cursor down and sorts the ids. Reading ids
/// only keeps that a scan of the covering index; selecting the posts' columns there fetched
/// every candidate's row (content and all) before the sort, four fifths of a page's cost on
/// the large benchmark dataset.
fn home_feed_ids_sqlite(authors: SelectStatement, window: Window, limit: u64) -> Expr {
    let mut ids = Query::select();
    ids.column(("r", post::Column::Id))
        .from_as(post::Entity, "r")
        .and_where(Expr::col(("r", post::Column::AuthorId)).in_subquery(authors));
    keyset(&mut ids, ("r", "id"), window, limit);
    Expr::col((P, post::Column::Id)).in_subquery(ids)
}

/// `p.id IN (…)` the feed's page of ids, on PostgreSQL: at most one page from each author's
/// range (a `LATERAL` subquery per author), merged. Without it PostgreSQL walks every post
/// newest first and tests each against the author list, reading the whole site's recent
/// history to find the authors' share of it; this way a page reads at most authors × page
/// size index entries, whatever the size of the site.
///
/// The page size is written into the statement as a constant, not bound: PostgreSQL cannot
/// tell a generic plan's cost with an unknown `LIMIT`, so it planned the feed afresh on
/// every execution (a third of its database time); with the number there it keeps one plan
/// per page size.
fn home_feed_ids_postgres(authors: SelectStatement, window: Window, limit: u64) -> Expr {
    let mut recent = Query::select();
    recent
        .column(("r", post::Column::Id))
        .from_as(post::Entity, "r")
        .and_where(Expr::col(("r", post::Column::AuthorId)).equals(("authors", "author_id")));
    bound(&mut recent, ("r", "id"), window);
    recent.order_by(("r", post::Column::Id), order(window));
    let subquery =
        |select: SelectStatement| Expr::SubQuery(None, Box::new(SubQueryStatement::from(select)));
    let merge = if window.oldest_first {
        "p.id IN (SELECT recent.id FROM $1 authors CROSS JOIN LATERAL ($2 LIMIT $3) recent \
         ORDER BY recent.id ASC LIMIT $4)"
    } else {
        "p.id IN (SELECT recent.id FROM $1 authors CROSS JOIN LATERAL ($2 LIMIT $3) recent \
         ORDER BY recent.id DESC LIMIT $4)"
    };
    Expr::cust_with_exprs(
        merge,
        [
            subquery(authors),
            subquery(recent),
            Expr::Constant(limit.into()),
            Expr::Constant(limit.into()),
        ],
    )
}

/// An FTS5 query requiring every word, each quoted so that no word is read as an operator.
fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a full-text query, split and folded exactly as post content is.
pub fn query_words(q: &str) -> Vec<String> {
    super::domain::words(q)
}

/// One post by id, as a list row seen by `viewer`: `None` when there is no such post or
/// the viewer may not see it.
pub async fn find(
    db: &impl ConnectionTrait,
    id: Uuid,
    viewer: &Viewer,
) -> Result<Option<PostRow>, DbErr> {
    let mut inner = page_select((P, "id"))
        .from_as(post::Entity, P)
        .and_where(Expr::col((P, post::Column::Id)).eq(id))
        .to_owned();
    inner.and_where(Expr::cust(privacy::post_visible(viewer, P)));
    find_one(db, inner, viewer).await
}

/// As [`find`], for the post whose 64-bit number is `number` (the ids of the
/// Mastodon-compatible API, see [`crate::db::ids`]): the range of ids the number names,
/// on the primary key, in the same one statement.
pub async fn find_by_number(
    db: &impl ConnectionTrait,
    number: i64,
    viewer: &Viewer,
) -> Result<Option<PostRow>, DbErr> {
    let (lowest, end) = crate::db::ids::range(number);
    let mut inner = page_select((P, "id"))
        .from_as(post::Entity, P)
        .and_where(Expr::col((P, post::Column::Id)).gte(lowest))
        .to_owned();
    if let Some(end) = end {
        inner.and_where(Expr::col((P, post::Column::Id)).lt(end));
    }
    inner
        .and_where(Expr::cust(privacy::post_visible(viewer, P)))
        .order_by((P, post::Column::Id), Order::Asc)
        .limit(1);
    find_one(db, inner, viewer).await
}

async fn find_one(
    db: &impl ConnectionTrait,
    inner: SelectStatement,
    viewer: &Viewer,
) -> Result<Option<PostRow>, DbErr> {
    let backend = db.get_database_backend();
    PostRow::find_by_statement(complete_page(backend, inner, viewer))
        .one(db)
        .await
}

/// The posts among `ids` that the viewer may see, as list rows, in one statement (plus
/// the token lookup, which it carries as every list does).
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    viewer: &Viewer,
) -> Result<Vec<PostRow>, DbErr> {
    let mut inner = page_select((P, "id"))
        .from_as(post::Entity, P)
        .and_where(Expr::col((P, post::Column::Id)).is_in(ids.iter().copied()))
        .to_owned();
    inner.and_where(Expr::cust(privacy::post_visible(viewer, P)));
    let backend = db.get_database_backend();
    PostRow::find_by_statement(complete_page(backend, inner, viewer))
        .all(db)
        .await
}

/// The post `id` as nobody in particular sees it (`liked` is `None`), whoever may see it:
/// for the stream, which renders a post once and decides per recipient who receives it.
pub async fn find_unchecked(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<PostRow>, DbErr> {
    let inner = page_select((P, "id"))
        .from_as(post::Entity, P)
        .and_where(Expr::col((P, post::Column::Id)).eq(id))
        .to_owned();
    let backend = db.get_database_backend();
    PostRow::find_by_statement(complete_page(backend, inner, &Viewer::Anonymous))
        .one(db)
        .await
}

/// What [`visible_author`] found: the post's author, and the viewer's token lookup.
#[derive(Debug, FromQueryResult)]
pub struct VisiblePost {
    pub author_id: Uuid,
    #[sea_orm(nested)]
    pub viewer: ViewerColumns,
}

/// The author of the post `id` if the viewer may see it, in one statement with the
/// viewer's token lookup: `None` when there is no such post or it is hidden from the
/// viewer (for what hangs off a post: likes, comments, edits).
pub async fn visible_author(
    db: &impl ConnectionTrait,
    id: Uuid,
    viewer: &Viewer,
) -> Result<Option<VisiblePost>, DbErr> {
    let mut select = Query::select();
    select
        .column((P, post::Column::AuthorId))
        .from_as(post::Entity, P)
        .and_where(Expr::col((P, post::Column::Id)).eq(id));
    select.and_where(Expr::cust(privacy::post_visible(viewer, P)));
    viewer.join_columns(&mut select);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    VisiblePost::find_by_statement(statement).one(db).await
}

/// What a page of posts needs beyond its rows: the images and the mentioned accounts of
/// the posts that have some.
#[derive(Debug, Default)]
pub struct PostExtras {
    pub media: HashMap<Uuid, Vec<media::Model>>,
    pub mentions: HashMap<Uuid, Vec<Mentioned>>,
}

/// Loads the images and mentions of the `rows` that have any, in one query each (none when
/// no post has).
pub async fn hydrate(db: &impl ConnectionTrait, rows: &[PostRow]) -> Result<PostExtras, DbErr> {
    let with = |count: fn(&PostRow) -> i64| -> Vec<Uuid> {
        rows.iter()
            .filter(|row| count(row) > 0)
            .map(|row| row.id)
            .collect()
    };
    Ok(PostExtras {
        media: media_store::for_posts(db, &with(|row| row.media_count)).await?,
        mentions: mentions_of(db, MentionsOf::Posts, &with(|row| row.mention_count)).await?,
    })
}

/// An account mentioned by a post or a comment, in order of first appearance.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Mentioned {
    pub owner_id: Uuid,
    pub position: i32,
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub avatar_key: Option<String>,
}

/// Whose mentions to load.
#[derive(Debug, Clone, Copy)]
pub enum MentionsOf {
    Posts,
    Comments,
}

/// The accounts mentioned by each of `owners` (posts or comments), in order, in one query.
pub async fn mentions_of(
    db: &impl ConnectionTrait,
    of: MentionsOf,
    owners: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Mentioned>>, DbErr> {
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    let (table, owner) = match of {
        MentionsOf::Posts => ("post_mentions", "post_id"),
        MentionsOf::Comments => ("comment_mentions", "comment_id"),
    };
    let mut select = Query::select();
    select
        .expr_as(Expr::col(("m", owner)), "owner_id")
        .column(("m", "position"))
        .columns([
            ("u", user::Column::Id),
            ("u", user::Column::Username),
            ("u", user::Column::DisplayName),
            ("u", user::Column::AvatarKey),
        ])
        .from_as(table, "m")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "u",
            Expr::col(("u", user::Column::Id)).equals(("m", "user_id")),
        )
        .and_where(Expr::col(("m", owner)).is_in(owners.iter().copied()))
        .order_by(("m", owner), Order::Asc)
        .order_by(("m", "position"), Order::Asc);
    let statement = db.get_database_backend().build(&select);
    let mut mentions: HashMap<Uuid, Vec<Mentioned>> = HashMap::new();
    for row in Mentioned::find_by_statement(statement).all(db).await? {
        mentions.entry(row.owner_id).or_default().push(row);
    }
    Ok(mentions)
}

/// Replaces the mentions of a post or comment with `accounts`, in order. Call inside a
/// transaction.
pub async fn set_mentions(
    db: &impl ConnectionTrait,
    of: MentionsOf,
    owner: Uuid,
    accounts: &[Uuid],
) -> Result<(), DbErr> {
    match of {
        MentionsOf::Posts => {
            post_mention::Entity::delete_many()
                .filter(post_mention::Column::PostId.eq(owner))
                .exec(db)
                .await?;
            if !accounts.is_empty() {
                post_mention::Entity::insert_many(accounts.iter().enumerate().map(
                    |(position, user_id)| post_mention::ActiveModel {
                        post_id: Set(owner),
                        user_id: Set(*user_id),
                        position: Set(position as i32),
                    },
                ))
                .exec_without_returning(db)
                .await?;
            }
        }
        MentionsOf::Comments => {
            comment_mention::Entity::delete_many()
                .filter(comment_mention::Column::CommentId.eq(owner))
                .exec(db)
                .await?;
            if !accounts.is_empty() {
                comment_mention::Entity::insert_many(accounts.iter().enumerate().map(
                    |(position, user_id)| comment_mention::ActiveModel {
                        comment_id: Set(owner),
                        user_id: Set(*user_id),
                        position: Set(position as i32),
                    },
                ))
                .exec_without_returning(db)
                .await?;
            }
        }
    }
    Ok(())
}

/// The ids of the accounts named by `usernames` (lower-cased), in the order given; names
/// of no account are left out.
pub async fn resolve_mentions(
    db: &impl ConnectionTrait,
    usernames: &[String],
) -> Result<Vec<Uuid>, DbErr> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<(Uuid, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Username)
        .filter(user::Column::Username.is_in(usernames.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    let by_name: HashMap<String, Uuid> = found.into_iter().map(|(id, name)| (name, id)).collect();
    Ok(usernames
        .iter()
        .filter_map(|name| by_name.get(name).copied())
        .collect())
}

/// A new post's fields.
pub struct NewPost {
    pub id: Uuid,
    pub author_id: Uuid,
    pub content: String,
    pub visibility: Visibility,
    pub tags: Vec<String>,
    /// The accounts it mentions, in order (see [`resolve_mentions`]).
    pub mentions: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Inserts a post with its tags and counts it on the author. Call inside a transaction.
pub async fn insert(db: &impl ConnectionTrait, new: NewPost) -> Result<(), DbErr> {
    post::Entity::insert(post::ActiveModel {
        id: Set(new.id),
        author_id: Set(new.author_id),
        search_text: Set(super::domain::search_text(&new.content)),
        content: Set(new.content),
        created_at: Set(new.created_at),
        edited_at: Set(None),
        visibility: Set(new.visibility.as_str().to_owned()),
    })
    .exec_without_returning(db)
    .await?;
    insert_tags(db, new.id, &new.tags).await?;
    set_mentions(db, MentionsOf::Posts, new.id, &new.mentions).await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::PostsCount,
            Expr::col(user::Column::PostsCount).add(1),
        )
        .filter(user::Column::Id.eq(new.author_id))
        .exec(db)
        .await?;
    Ok(())
}

async fn insert_tags(
    db: &impl ConnectionTrait,
    post_id: Uuid,
    tags: &[String],
) -> Result<(), DbErr> {
    if tags.is_empty() {
        return Ok(());
    }
    post_tag::Entity::insert_many(tags.iter().enumerate().map(|(position, tag)| {
        post_tag::ActiveModel {
            post_id: Set(post_id),
            tag: Set(tag.clone()),
            position: Set(position as i32),
        }
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A post's new content, with the tags and mentions it carries.
pub struct ContentChange {
    pub content: String,
    pub tags: Vec<String>,
    pub mentions: Vec<Uuid>,
}

/// Changes a post's content (with its tags and mentions) and/or visibility and marks it
/// edited. Call inside a transaction.
pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    content: Option<ContentChange>,
    visibility: Option<Visibility>,
    edited_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = post::Entity::update_many()
        .col_expr(post::Column::EditedAt, Expr::value(Some(edited_at)))
        .filter(post::Column::Id.eq(id));
    if let Some(visibility) = visibility {
        update = update.col_expr(post::Column::Visibility, Expr::value(visibility.as_str()));
    }
    if let Some(change) = &content {
        update = update
            .col_expr(
                post::Column::SearchText,
                Expr::value(super::domain::search_text(&change.content)),
            )
            .col_expr(post::Column::Content, Expr::value(change.content.clone()));
    }
    update.exec(db).await?;
    if let Some(change) = content {
        post_tag::Entity::delete_many()
            .filter(post_tag::Column::PostId.eq(id))
            .exec(db)
            .await?;
        insert_tags(db, id, &change.tags).await?;
        set_mentions(db, MentionsOf::Posts, id, &change.mentions).await?;
    }
    Ok(())
}

/// Deletes a post (its tags, likes, comments and media rows go with it by foreign key)
/// and uncounts it on the author. Returns whether it existed. Call inside a transaction.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid, author_id: Uuid) -> Result<bool, DbErr> {
    let deleted = post::Entity::delete_by_id(id).exec(db).await?.rows_affected;
    if deleted == 1 {
        user::Entity::update_many()
            .col_expr(
                user::Column::PostsCount,
                Expr::col(user::Column::PostsCount).sub(1),
            )
            .filter(user::Column::Id.eq(author_id))
            .exec(db)
            .await?;
    }
    Ok(deleted == 1)
}

/// Number of posts carrying `tag`.
pub async fn tag_post_count(db: &impl ConnectionTrait, tag: &str) -> Result<i64, DbErr> {
    use sea_orm::PaginatorTrait;
    Ok(post_tag::Entity::find()
        .filter(post_tag::Column::Tag.eq(tag))
        .count(db)
        .await? as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_split_on_non_word_characters() {
        assert_eq!(
            query_words("Hello, wörld! rust_lang"),
            ["hello", "wörld", "rust_lang"]
        );
        assert!(query_words("!!! ...").is_empty());
    }

    #[test]
    fn tags_come_out_in_order_of_position_whatever_the_aggregate_order() {
        let row = |tag_list: Option<&str>| PostRow {
            id: Uuid::nil(),
            author_id: Uuid::nil(),
            content: String::new(),
            created_at: DateTime::UNIX_EPOCH,
            edited_at: None,
            visibility: "public".into(),
            author_locked: false,
            like_count: 0,
            comment_count: 0,
            author_username: String::new(),
            author_display_name: String::new(),
            author_avatar_key: None,
            tag_list: tag_list.map(str::to_owned),
            liked: None,
            media_count: 0,
            mention_count: 0,
            sort_key: Uuid::nil(),
            viewer: ViewerColumns::default(),
        };
        assert_eq!(
            row(Some("10:k 2:b 0:morning 1:birds")).tags(),
            ["morning", "birds", "b", "k"]
        );
        assert!(row(None).tags().is_empty());
    }

    #[test]
    fn the_postgres_feed_writes_its_page_size_into_the_statement() {
        let statement = complete_page(
            DbBackend::Postgres,
            home_feed(
                DbBackend::Postgres,
                &Viewer::Anonymous,
                Window::before(Some(Uuid::nil())),
                21,
            ),
            &Viewer::Anonymous,
        );
        assert!(
            statement.sql.contains("LATERAL ((SELECT"),
            "{}",
            statement.sql
        );
        assert_eq!(
            statement.sql.matches("LIMIT 21").count(),
            2,
            "{}",
            statement.sql
        );
        // Bound: the viewer's digest and the cursor; the page size is not.
        let values = statement.values.expect("values").0;
        assert_eq!(values.len(), 2, "{}", statement.sql);
    }

    #[test]
    fn every_list_binds_its_values_with_numbered_placeholders_on_postgres() {
        let filter = PostFilter {
            author: Some(Uuid::nil()),
            tag: Some("birds".into()),
            words: Some(vec!["heron".into()]),
            include_muted: false,
            only_media: true,
        };
        let inner = filtered(
            DbBackend::Postgres,
            &Viewer::Anonymous,
            &filter,
            Window::before(Some(Uuid::nil())),
            21,
        );
        let statement = complete_page(DbBackend::Postgres, inner, &Viewer::Anonymous);
        let values = statement.values.expect("values").0;
        assert_eq!(values.len(), 6, "{}", statement.sql);
        for n in 1..=6 {
            assert!(
                statement.sql.contains(&format!("${n}")),
                "{}",
                statement.sql
            );
        }
        assert!(!statement.sql.contains('?'), "{}", statement.sql);

        let inner = filtered(
            DbBackend::Sqlite,
            &Viewer::Anonymous,
            &filter,
            Window::before(Some(Uuid::nil())),
            21,
        );
        let statement = complete_page(DbBackend::Sqlite, inner, &Viewer::Anonymous);
        let values = statement.values.expect("values").0;
        assert_eq!(values.len(), 6, "{}", statement.sql);
        assert_eq!(statement.sql.matches('?').count(), 6, "{}", statement.sql);
    }

    #[test]
    fn fts5_queries_quote_every_word() {
        assert_eq!(fts5_query(&["a".into(), "or".into()]), "\"a\" \"or\"");
    }
}
