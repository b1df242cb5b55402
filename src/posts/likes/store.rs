//! Queries on likes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::{insert_once, new_id};
use crate::posts::entity::like;
use crate::privacy;
use crate::users::entity::user;

/// Records that `user_id` likes `post_id`, once: a repeat changes nothing, so the first
/// like keeps its id (its place in lists). The unique `(post_id, user_id)` index decides
/// between concurrent likes. Returns whether the like is new.
pub async fn like(
    db: &impl ConnectionTrait,
    post_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = like::ActiveModel {
        id: Set(new_id()),
        post_id: Set(post_id),
        user_id: Set(user_id),
        created_at: Set(now),
    };
    insert_once(db, row, [like::Column::PostId, like::Column::UserId]).await
}

/// Removes the like if there is one; returns whether there was.
pub async fn unlike(
    db: &impl ConnectionTrait,
    post_id: Uuid,
    user_id: Uuid,
) -> Result<bool, DbErr> {
    let deleted = like::Entity::delete_many()
        .filter(like::Column::PostId.eq(post_id))
        .filter(like::Column::UserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(deleted > 0)
}

/// A user who liked a post, with the like's id (the list's sort key).
#[derive(Debug, FromQueryResult)]
pub struct Liker {
    pub like_id: Uuid,
    #[sea_orm(nested)]
    pub user: user::Model,
}

/// One page of the users who liked `post_id`, most recent like first, without the
/// accounts across a block from the viewer: one query on the `(post_id, id)` index joined
/// to users.
pub async fn likers(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    post_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Liker>, DbErr> {
    let mut select = Query::select();
    select
        .expr_as(Expr::col(("lk", like::Column::Id)), "like_id")
        .columns(crate::users::store::user_columns("u"))
        .from_as(like::Entity, "lk")
        .join_as(
            JoinType::InnerJoin,
            user::Entity,
            "u",
            Expr::col(("u", user::Column::Id)).equals(("lk", like::Column::UserId)),
        )
        .and_where(Expr::col(("lk", like::Column::PostId)).eq(post_id))
        .and_where(Expr::cust(privacy::not_blocked_either_way(viewer, "u.id")));
    if let Some(after) = after {
        select.and_where(Expr::col(("lk", like::Column::Id)).lt(after));
    }
    select
        .order_by(("lk", like::Column::Id), Order::Desc)
        .limit(limit);
    let statement = db
        .get_database_backend()
        .build(&select.with(viewer.with_clause()));
    Liker::find_by_statement(statement).all(db).await
}
