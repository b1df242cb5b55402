//! Queries on scheduled posts, including the publisher's atomic claim.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::privacy::Visibility;

use super::entity as scheduled;

pub async fn insert(db: &impl ConnectionTrait, model: scheduled::Model) -> Result<(), DbErr> {
    let active: scheduled::ActiveModel = model.into();
    scheduled::Entity::insert(active)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The schedule `id` if `author` owns it (others' schedules do not exist for them).
pub async fn find_owned(
    db: &impl ConnectionTrait,
    id: Uuid,
    author: Uuid,
) -> Result<Option<scheduled::Model>, DbErr> {
    scheduled::Entity::find_by_id(id)
        .filter(scheduled::Column::AuthorId.eq(author))
        .one(db)
        .await
}

/// As [`find_owned`], locking the row for the rest of the transaction, so the publisher
/// cannot claim it halfway through an edit or a cancellation (it skips locked rows).
pub async fn lock_owned(
    db: &impl ConnectionTrait,
    id: Uuid,
    author: Uuid,
) -> Result<Option<scheduled::Model>, DbErr> {
    scheduled::Entity::find_by_id(id)
        .filter(scheduled::Column::AuthorId.eq(author))
        .lock_exclusive()
        .one(db)
        .await
}

/// One page of `author`'s schedules, soonest first, after `(publish_at, id)`.
pub async fn list(
    db: &impl ConnectionTrait,
    author: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<scheduled::Model>, DbErr> {
    let mut query = scheduled::Entity::find()
        .filter(scheduled::Column::AuthorId.eq(author))
        .order_by_asc(scheduled::Column::PublishAt)
        .order_by_asc(scheduled::Column::Id)
        .limit(limit);
    if let Some((publish_at, id)) = after {
        query = query.filter(
            sea_orm::Condition::any()
                .add(scheduled::Column::PublishAt.gt(publish_at))
                .add(
                    sea_orm::Condition::all()
                        .add(scheduled::Column::PublishAt.eq(publish_at))
                        .add(scheduled::Column::Id.gt(id)),
                ),
        );
    }
    query.all(db).await
}

pub async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    content: Option<String>,
    publish_at: Option<DateTime<Utc>>,
    visibility: Option<Visibility>,
) -> Result<(), DbErr> {
    let mut update = scheduled::Entity::update_many().filter(scheduled::Column::Id.eq(id));
    if let Some(visibility) = visibility {
        update = update.col_expr(
            scheduled::Column::Visibility,
            Expr::value(visibility.as_str()),
        );
    }
    if let Some(content) = content {
        update = update.col_expr(scheduled::Column::Content, Expr::value(content));
    }
    if let Some(publish_at) = publish_at {
        update = update.col_expr(scheduled::Column::PublishAt, Expr::value(publish_at));
    }
    update.exec(db).await?;
    Ok(())
}

/// Deletes a schedule; returns whether it existed.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    Ok(scheduled::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// When the soonest schedule falls due, if there is any.
pub async fn next_due(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    scheduled::Entity::find()
        .select_only()
        .column(scheduled::Column::PublishAt)
        .order_by_asc(scheduled::Column::PublishAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await
}

/// Claims up to `limit` schedules due at `now`, locking them for this transaction.
/// PostgreSQL skips rows another process (or an edit) holds — `FOR UPDATE SKIP LOCKED` —
/// so concurrent publishers share the work and never take the same schedule; SQLite has no
/// row locks, and its write transaction (`BEGIN IMMEDIATE`) already admits one publisher
/// at a time.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<scheduled::Model>, DbErr> {
    scheduled::Entity::find()
        .filter(scheduled::Column::PublishAt.lte(now))
        .order_by_asc(scheduled::Column::PublishAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(db)
        .await
}
