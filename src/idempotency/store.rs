//! Queries on idempotency keys: the claim (an `INSERT … ON CONFLICT DO NOTHING` on the
//! key's primary key), its completion, and the pruning of expired keys.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{Claim, Created, KEY_LIFETIME};

/// The `idempotency_keys` table.
pub mod idempotency_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Hex SHA-256 of the request body.
        pub request_hash: String,
        /// The post the first request created (set in the same transaction).
        pub post_id: Option<Uuid>,
        /// Or the schedule it created.
        pub scheduled_post_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Claims `key` for `user`, or finds the request that already did.
pub async fn claim(
    db: &impl ConnectionTrait,
    user: Uuid,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Claim, DbErr> {
    // An expired key is forgotten, so it can be used afresh.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::CreatedAt.lt(now - KEY_LIFETIME))
        .exec(db)
        .await?;
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        user_id: Set(user),
        key: Set(key.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        post_id: Set(None),
        scheduled_post_id: Set(None),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            idempotency_key::Column::UserId,
            idempotency_key::Column::Key,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(rows) if rows > 0 => return Ok(Claim::New),
        Ok(_) | Err(DbErr::RecordNotInserted) => {}
        Err(error) => return Err(error),
    }
    let existing = idempotency_key::Entity::find_by_id((user, key.to_owned()))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::Custom("idempotency key vanished while claiming it".into()))?;
    let created = match (existing.post_id, existing.scheduled_post_id) {
        (Some(post_id), _) => Created::Post(post_id),
        (None, Some(schedule_id)) => Created::Schedule(schedule_id),
        // What the first request created is gone (deleted since): start again.
        (None, None) => {
            idempotency_key::Entity::update_many()
                .col_expr(
                    idempotency_key::Column::RequestHash,
                    Expr::value(request_hash),
                )
                .col_expr(idempotency_key::Column::CreatedAt, Expr::value(now))
                .filter(idempotency_key::Column::UserId.eq(user))
                .filter(idempotency_key::Column::Key.eq(key))
                .exec(db)
                .await?;
            return Ok(Claim::New);
        }
    };
    Ok(Claim::Replay {
        request_hash: existing.request_hash,
        created,
    })
}

/// Records what a claimed key created.
pub async fn complete(
    db: &impl ConnectionTrait,
    user: Uuid,
    key: &str,
    created: Created,
) -> Result<(), DbErr> {
    let (post_id, schedule_id) = match created {
        Created::Post(id) => (Some(id), None),
        Created::Schedule(id) => (None, Some(id)),
    };
    idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::PostId, Expr::value(post_id))
        .col_expr(
            idempotency_key::Column::ScheduledPostId,
            Expr::value(schedule_id),
        )
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets keys older than their lifetime (run periodically).
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - KEY_LIFETIME))
        .exec(db)
        .await?
        .rows_affected)
}
