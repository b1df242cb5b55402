//! Queries on the `media` table: inserting uploads, attaching them to posts, loading them
//! for a page of posts, and finding the ones never attached.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity as media;

pub async fn insert(db: &impl ConnectionTrait, model: media::Model) -> Result<(), DbErr> {
    let active: media::ActiveModel = model.into();
    media::Entity::insert(active)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// `owner`'s upload `id`, attached or not.
pub async fn find_owned(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: Uuid,
) -> Result<Option<media::Model>, DbErr> {
    media::Entity::find_by_id(id)
        .filter(media::Column::OwnerId.eq(owner))
        .one(db)
        .await
}

/// Sets the alt text of `owner`'s upload `id`; returns whether there was one.
pub async fn set_description(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: Uuid,
    description: String,
) -> Result<bool, DbErr> {
    let updated = media::Entity::update_many()
        .col_expr(media::Column::Description, Expr::value(description))
        .filter(media::Column::Id.eq(id))
        .filter(media::Column::OwnerId.eq(owner))
        .exec(db)
        .await?
        .rows_affected;
    Ok(updated > 0)
}

/// Why media could not be attached.
#[derive(Debug, PartialEq, Eq)]
pub enum AttachError {
    /// An id is unknown, someone else's, or already attached to a post.
    Unavailable(Uuid),
}

/// Attaches `ids` (in this order) to `post_id`, each only if it belongs to `owner` and is
/// not attached yet. The check and the claim are one `UPDATE`, so two posts racing for the
/// same upload cannot both get it. Call inside the post's transaction and roll back on error.
pub async fn attach(
    db: &impl ConnectionTrait,
    post_id: Uuid,
    owner: Uuid,
    ids: &[Uuid],
) -> Result<Result<(), AttachError>, DbErr> {
    for (position, id) in ids.iter().enumerate() {
        let claimed = media::Entity::update_many()
            .col_expr(media::Column::PostId, Expr::value(Some(post_id)))
            .col_expr(media::Column::Position, Expr::value(Some(position as i32)))
            .filter(media::Column::Id.eq(*id))
            .filter(media::Column::OwnerId.eq(owner))
            .filter(media::Column::PostId.is_null())
            .filter(media::Column::ScheduledPostId.is_null())
            .exec(db)
            .await?
            .rows_affected;
        if claimed != 1 {
            return Ok(Err(AttachError::Unavailable(*id)));
        }
    }
    Ok(Ok(()))
}

/// Reserves `ids` (in this order) for the schedule `schedule_id`, with the same rules and
/// the same single-`UPDATE` claim as [`attach`]. Call inside the schedule's transaction.
pub async fn reserve(
    db: &impl ConnectionTrait,
    schedule_id: Uuid,
    owner: Uuid,
    ids: &[Uuid],
) -> Result<Result<(), AttachError>, DbErr> {
    for (position, id) in ids.iter().enumerate() {
        let claimed = media::Entity::update_many()
            .col_expr(
                media::Column::ScheduledPostId,
                Expr::value(Some(schedule_id)),
            )
            .col_expr(media::Column::Position, Expr::value(Some(position as i32)))
            .filter(media::Column::Id.eq(*id))
            .filter(media::Column::OwnerId.eq(owner))
            .filter(media::Column::PostId.is_null())
            .filter(media::Column::ScheduledPostId.is_null())
            .exec(db)
            .await?
            .rows_affected;
        if claimed != 1 {
            return Ok(Err(AttachError::Unavailable(*id)));
        }
    }
    Ok(Ok(()))
}

/// Lets go of everything `schedule_id` reserved (it was cancelled or its media replaced).
pub async fn release(db: &impl ConnectionTrait, schedule_id: Uuid) -> Result<(), DbErr> {
    media::Entity::update_many()
        .col_expr(
            media::Column::ScheduledPostId,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(media::Column::Position, Expr::value(Option::<i32>::None))
        .filter(media::Column::ScheduledPostId.eq(schedule_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Hands a schedule's media to the post it became, keeping their order.
pub async fn move_to_post(
    db: &impl ConnectionTrait,
    schedule_id: Uuid,
    post_id: Uuid,
) -> Result<(), DbErr> {
    media::Entity::update_many()
        .col_expr(media::Column::PostId, Expr::value(Some(post_id)))
        .col_expr(
            media::Column::ScheduledPostId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(media::Column::ScheduledPostId.eq(schedule_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The media of each of `schedule_ids`, in order: one query for the whole page.
pub async fn for_schedules(
    db: &impl ConnectionTrait,
    schedule_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<media::Model>>, DbErr> {
    let mut by_schedule: HashMap<Uuid, Vec<media::Model>> = HashMap::new();
    if schedule_ids.is_empty() {
        return Ok(by_schedule);
    }
    let rows = media::Entity::find()
        .filter(media::Column::ScheduledPostId.is_in(schedule_ids.iter().copied()))
        .order_by_asc(media::Column::ScheduledPostId)
        .order_by_asc(media::Column::Position)
        .all(db)
        .await?;
    for row in rows {
        if let Some(schedule_id) = row.scheduled_post_id {
            by_schedule.entry(schedule_id).or_default().push(row);
        }
    }
    Ok(by_schedule)
}

/// The media of each of `post_ids`, in attachment order: one query for the whole page.
pub async fn for_posts(
    db: &impl ConnectionTrait,
    post_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<media::Model>>, DbErr> {
    let mut by_post: HashMap<Uuid, Vec<media::Model>> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(by_post);
    }
    let rows = media::Entity::find()
        .filter(media::Column::PostId.is_in(post_ids.iter().copied()))
        .order_by_asc(media::Column::PostId)
        .order_by_asc(media::Column::Position)
        .all(db)
        .await?;
    for row in rows {
        if let Some(post_id) = row.post_id {
            by_post.entry(post_id).or_default().push(row);
        }
    }
    Ok(by_post)
}

/// Storage keys of every file of the given posts' media (to delete after the rows go).
pub async fn keys_of_posts(
    db: &impl ConnectionTrait,
    post_ids: &[Uuid],
) -> Result<Vec<String>, DbErr> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String)> = media::Entity::find()
        .select_only()
        .column(media::Column::FileKey)
        .column(media::Column::PreviewKey)
        .filter(media::Column::PostId.is_in(post_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .flat_map(|(file, preview)| [file, preview])
        .collect())
}

/// Storage keys of every file an owner uploaded (for account deletion).
pub async fn keys_of_owner(db: &impl ConnectionTrait, owner: Uuid) -> Result<Vec<String>, DbErr> {
    let rows: Vec<(String, String)> = media::Entity::find()
        .select_only()
        .column(media::Column::FileKey)
        .column(media::Column::PreviewKey)
        .filter(media::Column::OwnerId.eq(owner))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .flat_map(|(file, preview)| [file, preview])
        .collect())
}

/// Uploads created before `before` that were never attached, oldest first.
pub async fn unattached_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<media::Model>, DbErr> {
    media::Entity::find()
        .filter(media::Column::PostId.is_null())
        .filter(media::Column::ScheduledPostId.is_null())
        .filter(media::Column::CreatedAt.lt(before))
        .order_by_asc(media::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await
}

/// Deletes the row of an upload, only if it is still unattached; returns whether it did.
pub async fn delete_unattached(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let result = media::Entity::delete_many()
        .filter(media::Column::Id.eq(id))
        .filter(media::Column::PostId.is_null())
        .filter(media::Column::ScheduledPostId.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
