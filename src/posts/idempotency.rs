//! `Idempotency-Key` for creating posts: keys are stored per user for 24 hours with a
//! fingerprint of the request and the post it created, written in the same transaction
//! as the post. A concurrent retry blocks on the key's primary key until the first request
//! commits (or rolls back), then replays its post — so a race creates one post, not two.

use axum::http::HeaderMap;
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::idempotency_key;
use crate::error::AppError;

/// How long a key is remembered.
pub const KEY_LIFETIME: TimeDelta = TimeDelta::hours(24);
const HEADER: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if any: 1–255 visible ASCII characters, else a 400.
pub fn key_from(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(AppError::bad_request(
            "invalid_idempotency_key",
            "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// What the first request with a key created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Post(Uuid),
    Schedule(Uuid),
}

/// What a key means for this request.
#[derive(Debug)]
pub enum Claim {
    /// First use: go ahead, then [`complete`] in the same transaction.
    New,
    /// Used before (within its lifetime): answer with what that request created.
    Replay {
        request_hash: String,
        created: Created,
    },
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

pub fn reused() -> AppError {
    AppError::Unprocessable {
        code: "idempotency_key_reused",
        detail: "This Idempotency-Key was already used with a different request body.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, value.parse().unwrap());
        headers
    }

    #[test]
    fn keys_are_optional_and_checked() {
        assert_eq!(key_from(&HeaderMap::new()).unwrap(), None);
        assert_eq!(
            key_from(&headers("abc-123")).unwrap().as_deref(),
            Some("abc-123")
        );
        assert!(key_from(&headers(&"k".repeat(256))).is_err());
        assert!(key_from(&headers(&"k".repeat(255))).is_ok());
    }
}
