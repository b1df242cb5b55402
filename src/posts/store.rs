//! Queries on posts. The post-listing query is written once ([`list`]) and serves every
//! list — feed, tag, author, search, likes — through a [`PostFilter`]; a page of posts is
//! then completed ([`hydrate`]) with a fixed number of queries whatever its size.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QuerySelect, Statement, Value,
};
use uuid::Uuid;

use super::entity::{post, post_tag};
use crate::auth::viewer::VIEWER_COLUMNS;
use crate::auth::{Viewer, ViewerColumns};
use crate::db::statement;
use crate::media::{entity as media, store as media_store};
use crate::users::entity::user;

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
}

/// One row of a post list: the post, its author and counts, and the list's sort key.
#[derive(Debug, Clone, FromQueryResult)]
pub struct PostRow {
    pub id: Uuid,
    pub author_id: Uuid,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
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

/// The post columns of the inner, filtered and limited query.
const PAGE_COLUMNS: &str = "SELECT p.id, p.author_id, p.content, p.created_at, p.edited_at";

/// Completes the rows of an inner query `page` (already cut to one page) with counts,
/// author, tags and the viewer's like, so those are computed for the page's rows only,
/// never for every match, and in the same statement as the viewer's token check: a page
/// costs one round trip (plus one for its images, when it has any). The inner query may
/// refer to the viewer as `viewer` (see [`Viewer::cte`]).
fn complete_page(
    backend: DbBackend,
    inner: &str,
    inner_values: Vec<Value>,
    viewer: &Viewer,
) -> (String, Vec<Value>) {
    // Unordered, and put in order by `PostRow::tags`: an aggregate's own `ORDER BY` costs
    // SQLite a temporary b-tree for every row of the page.
    let tags = match backend {
        DbBackend::Postgres => "string_agg(t.position || ':' || t.tag, ' ')",
        _ => "group_concat(t.position || ':' || t.tag, ' ')",
    };
    let (viewer_cte, viewer_value) = viewer.cte();
    let mut values = Vec::with_capacity(inner_values.len() + 1);
    values.push(viewer_value);
    values.extend(inner_values);
    let sql = format!(
        "{viewer_cte}SELECT page.id, page.author_id, page.content, page.created_at, page.edited_at, \
         (SELECT COUNT(*) FROM likes lc WHERE lc.post_id = page.id) AS like_count, \
         (SELECT COUNT(*) FROM comments cc WHERE cc.post_id = page.id) AS comment_count, \
         u.username AS author_username, u.display_name AS author_display_name, \
         u.avatar_key AS author_avatar_key, \
         (SELECT {tags} FROM post_tags t WHERE t.post_id = page.id) AS tag_list, \
         CASE WHEN v.user_id IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM likes lv \
         WHERE lv.post_id = page.id AND lv.user_id = v.user_id) END AS liked, \
         (SELECT COUNT(*) FROM media m WHERE m.post_id = page.id) AS media_count, \
         page.sort_key, {VIEWER_COLUMNS} \
         FROM ({inner}) page JOIN users u ON u.id = page.author_id LEFT JOIN viewer v ON TRUE"
    );
    (sql, values)
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

/// One page of posts matching `filter`, newest first (by `sort_key`), after `after`.
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
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<PostRow>, DbErr> {
    let backend = db.get_database_backend();
    let no_filter = PostFilter::default();
    let (filter, liked_by) = match list {
        PostList::HomeFeed => return home_feed(db, viewer, after, limit).await,
        PostList::LikedBy(user_id) => (&no_filter, Some(*user_id)),
        PostList::Filtered(filter) => (filter, None),
    };
    let mut values: Vec<Value> = Vec::new();
    let mut sql = String::from(PAGE_COLUMNS);
    // The list is driven by the table whose index yields rows already in list order, so
    // a page reads `limit` index entries instead of sorting every match.
    let sort_column = if let Some(user_id) = liked_by {
        sql.push_str(", lk.id AS sort_key FROM likes lk JOIN posts p ON p.id = lk.post_id");
        sql.push_str(" WHERE lk.user_id = ?");
        values.push(user_id.into());
        "lk.id"
    } else if let Some(tag) = &filter.tag {
        sql.push_str(
            ", pt.post_id AS sort_key FROM post_tags pt JOIN posts p ON p.id = pt.post_id",
        );
        sql.push_str(" WHERE pt.tag = ?");
        values.push(tag.clone().into());
        "pt.post_id"
    } else {
        sql.push_str(", p.id AS sort_key FROM posts p WHERE 1 = 1");
        "p.id"
    };
    if let Some(author) = filter.author {
        sql.push_str(" AND p.author_id = ?");
        values.push(author.into());
    }
    if let Some(words) = &filter.words {
        match backend {
            DbBackend::Postgres => {
                sql.push_str(" AND p.search @@ plainto_tsquery('simple', ?)");
                values.push(words.join(" ").into());
            }
            _ => {
                sql.push_str(
                    " AND p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)",
                );
                values.push(fts5_query(words).into());
            }
        }
    }
    if let Some(after) = after {
        sql.push_str(&format!(" AND {sort_column} < ?"));
        values.push(after.into());
    }
    sql.push_str(&format!(" ORDER BY {sort_column} DESC LIMIT ?"));
    values.push((limit as i64).into());
    let (sql, values) = complete_page(backend, &sql, values, viewer);
    fetch_page(db, statement(backend, &sql, values)).await
}

/// The viewer's home feed, in two steps within one statement: the page's ids from the
/// `(author_id, id)` index alone, then the rows of those ids only.
///
/// - **PostgreSQL** reads at most one page from each followee's range (a `LATERAL` subquery
///   per followee) and merges them. Without it PostgreSQL walks every post newest first and
///   tests each against the followee list, reading the whole site's recent history to find
///   the followees' share of it; this way a page reads at most followees × page size index
///   entries, whatever the size of the site.
/// - **SQLite** has no `LATERAL`: it reads each followee's range from the cursor down and
///   sorts the ids. Reading ids only keeps that a scan of the covering index; selecting the
///   posts' columns there fetched every candidate's row (content and all) before the sort,
///   four fifths of a page's cost on the large benchmark dataset.
async fn home_feed(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<PostRow>, DbErr> {
    let backend = db.get_database_backend();
    let mut values: Vec<Value> = Vec::new();
    let cursor = match after {
        Some(after) => {
            values.push(after.into());
            " AND r.id < ?"
        }
        None => "",
    };
    const AUTHORS: &str = "SELECT f.followee_id AS author_id FROM follows f \
         WHERE f.follower_id = (SELECT user_id FROM viewer) UNION ALL SELECT user_id FROM viewer";
    // The page size is written into the statement, not bound: PostgreSQL cannot tell a
    // generic plan's cost with an unknown `LIMIT`, so it planned the feed afresh on every
    // execution (a third of its database time); with the number there it keeps one plan.
    let ids = match backend {
        DbBackend::Postgres => format!(
            "SELECT recent.id FROM ({AUTHORS}) authors \
             CROSS JOIN LATERAL (SELECT r.id FROM posts r \
             WHERE r.author_id = authors.author_id{cursor} ORDER BY r.id DESC LIMIT {limit}) recent \
             ORDER BY recent.id DESC LIMIT {limit}"
        ),
        _ => format!(
            "SELECT r.id FROM posts r WHERE r.author_id IN ({AUTHORS}){cursor} \
             ORDER BY r.id DESC LIMIT {limit}"
        ),
    };
    let inner = format!("{PAGE_COLUMNS}, p.id AS sort_key FROM posts p WHERE p.id IN ({ids})");
    let (sql, values) = complete_page(backend, &inner, values, viewer);
    fetch_page(db, statement(backend, &sql, values)).await
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

/// One post by id, as a list row seen by `viewer`.
pub async fn find(
    db: &impl ConnectionTrait,
    id: Uuid,
    viewer: &Viewer,
) -> Result<Option<PostRow>, DbErr> {
    let backend = db.get_database_backend();
    let (sql, values) = complete_page(
        backend,
        &format!("{PAGE_COLUMNS}, p.id AS sort_key FROM posts p WHERE p.id = ?"),
        vec![id.into()],
        viewer,
    );
    PostRow::find_by_statement(statement(backend, &sql, values))
        .one(db)
        .await
}

/// The author of a post, if the post exists (for ownership checks).
pub async fn author_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Uuid>, DbErr> {
    post::Entity::find_by_id(id)
        .select_only()
        .column(post::Column::AuthorId)
        .into_tuple()
        .one(db)
        .await
}

/// What a page of posts needs beyond its rows: the images of the posts that have some.
#[derive(Debug, Default)]
pub struct PostExtras {
    pub media: HashMap<Uuid, Vec<media::Model>>,
}

/// Loads the images of the `rows` that have any, in one query (none when no post has).
pub async fn hydrate(db: &impl ConnectionTrait, rows: &[PostRow]) -> Result<PostExtras, DbErr> {
    let with_media: Vec<Uuid> = rows
        .iter()
        .filter(|row| row.media_count > 0)
        .map(|row| row.id)
        .collect();
    Ok(PostExtras {
        media: media_store::for_posts(db, &with_media).await?,
    })
}

/// A new post's fields.
pub struct NewPost {
    pub id: Uuid,
    pub author_id: Uuid,
    pub content: String,
    pub tags: Vec<String>,
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
    })
    .exec_without_returning(db)
    .await?;
    insert_tags(db, new.id, &new.tags).await?;
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

/// Replaces a post's content and tags and marks it edited. Call inside a transaction.
pub async fn update_content(
    db: &impl ConnectionTrait,
    id: Uuid,
    content: String,
    tags: &[String],
    edited_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    post::Entity::update_many()
        .col_expr(
            post::Column::SearchText,
            Expr::value(super::domain::search_text(&content)),
        )
        .col_expr(post::Column::Content, Expr::value(content))
        .col_expr(post::Column::EditedAt, Expr::value(Some(edited_at)))
        .filter(post::Column::Id.eq(id))
        .exec(db)
        .await?;
    post_tag::Entity::delete_many()
        .filter(post_tag::Column::PostId.eq(id))
        .exec(db)
        .await?;
    insert_tags(db, id, tags).await
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
            like_count: 0,
            comment_count: 0,
            author_username: String::new(),
            author_display_name: String::new(),
            author_avatar_key: None,
            tag_list: tag_list.map(str::to_owned),
            liked: None,
            media_count: 0,
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
    fn fts5_queries_quote_every_word() {
        assert_eq!(fts5_query(&["a".into(), "or".into()]), "\"a\" \"or\"");
    }
}
