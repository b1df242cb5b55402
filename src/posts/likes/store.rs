//! Queries on likes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationDef,
};
use uuid::Uuid;

use crate::db::new_id;
use crate::posts::entity::like;
use crate::users::entity::user;

/// Records that `user_id` likes `post_id`, once: a repeat changes nothing, so the first
/// like keeps its id (its place in lists). The unique `(post_id, user_id)` index decides
/// between concurrent likes.
pub async fn like(
    db: &impl ConnectionTrait,
    post_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let inserted = like::Entity::insert(like::ActiveModel {
        id: Set(new_id()),
        post_id: Set(post_id),
        user_id: Set(user_id),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([like::Column::PostId, like::Column::UserId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Removes the like if there is one.
pub async fn unlike(db: &impl ConnectionTrait, post_id: Uuid, user_id: Uuid) -> Result<(), DbErr> {
    like::Entity::delete_many()
        .filter(like::Column::PostId.eq(post_id))
        .filter(like::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A user who liked a post, with the like's id (the list's sort key).
#[derive(Debug, FromQueryResult)]
pub struct Liker {
    pub like_id: Uuid,
    #[sea_orm(nested)]
    pub user: user::Model,
}

/// One page of the users who liked `post_id`, most recent like first, in one query on
/// the `(post_id, id)` index joined to users.
pub async fn likers(
    db: &impl ConnectionTrait,
    post_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Liker>, DbErr> {
    let liked_by: RelationDef = like::Entity::belongs_to(user::Entity)
        .from(like::Column::UserId)
        .to(user::Column::Id)
        .into();
    let mut query = user::Entity::find()
        .column_as(like::Column::Id, "like_id")
        .join_rev(JoinType::InnerJoin, liked_by)
        .filter(like::Column::PostId.eq(post_id));
    if let Some(after) = after {
        query = query.filter(like::Column::Id.lt(after));
    }
    query
        .order_by_desc(like::Column::Id)
        .limit(limit)
        .into_model::<Liker>()
        .all(db)
        .await
}
