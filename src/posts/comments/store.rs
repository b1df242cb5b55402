//! Queries on comments. A comment is always read with its author, joined in the same
//! statement, so a page of comments costs one query whatever its size.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::posts::entity::{comment, post};
use crate::privacy;
use crate::users::entity::user;

/// A comment with its author's summary fields.
#[derive(Debug, FromQueryResult)]
pub struct CommentRow {
    pub id: Uuid,
    pub post_id: Uuid,
    pub author_id: Uuid,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub author_username: String,
    pub author_display_name: String,
    pub author_avatar_key: Option<String>,
}

/// Comments with their author's summary fields, as [`CommentRow`]s.
fn select_comments() -> SelectStatement {
    Query::select()
        .columns([
            ("c", comment::Column::Id),
            ("c", comment::Column::PostId),
            ("c", comment::Column::AuthorId),
            ("c", comment::Column::Content),
            ("c", comment::Column::CreatedAt),
            ("c", comment::Column::EditedAt),
        ])
        .expr_as(Expr::col(("u", user::Column::Username)), "author_username")
        .expr_as(
            Expr::col(("u", user::Column::DisplayName)),
            "author_display_name",
        )
        .expr_as(
            Expr::col(("u", user::Column::AvatarKey)),
            "author_avatar_key",
        )
        .from_as(comment::Entity, "c")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "u",
            Expr::col(("u", user::Column::Id)).equals(("c", comment::Column::AuthorId)),
        )
        .to_owned()
}

/// One comment by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<CommentRow>, DbErr> {
    let select = select_comments()
        .and_where(Expr::col(("c", comment::Column::Id)).eq(id))
        .to_owned();
    let statement = db.get_database_backend().build(&select);
    CommentRow::find_by_statement(statement).one(db).await
}

/// The comments among `ids`, in one statement.
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<CommentRow>, DbErr> {
    let select = select_comments()
        .and_where(Expr::col(("c", comment::Column::Id)).is_in(ids.iter().copied()))
        .to_owned();
    let statement = db.get_database_backend().build(&select);
    CommentRow::find_by_statement(statement).all(db).await
}

/// One comment by id as `viewer` sees it: `None` when there is no such comment, its post is
/// hidden from the viewer, or a block stands between the viewer and its author.
pub async fn find_visible(
    db: &impl ConnectionTrait,
    id: Uuid,
    viewer: &Viewer,
) -> Result<Option<CommentRow>, DbErr> {
    let mut select = select_comments();
    select
        .join_as(
            JoinType::InnerJoin,
            post::Entity,
            "p",
            Expr::col(("p", post::Column::Id)).equals(("c", comment::Column::PostId)),
        )
        .and_where(Expr::col(("c", comment::Column::Id)).eq(id))
        .and_where(Expr::cust(privacy::post_visible(viewer, "p")))
        .and_where(Expr::cust(privacy::not_blocked_either_way(
            viewer,
            "c.author_id",
        )));
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    CommentRow::find_by_statement(statement).one(db).await
}

/// One page of a post's comments that the viewer's lists show (not across a block, not by
/// an account the viewer mutes), oldest first, after the comment `after`: a range scan of
/// the `(post_id, id)` index.
pub async fn list_for_post(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    post_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<CommentRow>, DbErr> {
    let mut select = select_comments();
    select
        .and_where(Expr::col(("c", comment::Column::PostId)).eq(post_id))
        .and_where(Expr::cust(privacy::not_blocked_either_way(
            viewer,
            "c.author_id",
        )))
        .and_where(Expr::cust(privacy::not_muted(viewer, "c.author_id")));
    if let Some(after) = after {
        select.and_where(Expr::col(("c", comment::Column::Id)).gt(after));
    }
    select
        .order_by(("c", comment::Column::Id), Order::Asc)
        .limit(limit);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    CommentRow::find_by_statement(statement).all(db).await
}

/// A new comment's fields.
pub struct NewComment {
    pub id: Uuid,
    pub post_id: Uuid,
    pub author_id: Uuid,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// Inserts a comment; a foreign-key violation means the post (or author) is gone.
pub async fn insert(db: &impl ConnectionTrait, new: NewComment) -> Result<(), DbErr> {
    comment::Entity::insert(comment::ActiveModel {
        id: Set(new.id),
        post_id: Set(new.post_id),
        author_id: Set(new.author_id),
        content: Set(new.content),
        created_at: Set(new.created_at),
        edited_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Replaces a comment's content and marks it edited; returns whether it still existed.
pub async fn update_content(
    db: &impl ConnectionTrait,
    id: Uuid,
    content: String,
    edited_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = comment::Entity::update_many()
        .col_expr(comment::Column::Content, Expr::value(content))
        .col_expr(comment::Column::EditedAt, Expr::value(Some(edited_at)))
        .filter(comment::Column::Id.eq(id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(updated == 1)
}

/// Deletes a comment; returns whether it existed.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let deleted = comment::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected;
    Ok(deleted == 1)
}
