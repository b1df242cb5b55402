//! `Idempotency-Key`: safe retries of the requests that create something (a post, a
//! scheduled post), and the one write path they share ([`create_once`]).
//!
//! Keys are stored per user for 24 hours with a fingerprint of the request and what it
//! created, written in the same transaction as the thing itself. A concurrent retry blocks
//! on the key's primary key until the first request commits (or rolls back), then replays
//! its answer — so a race creates one post, not two.

pub mod store;

use std::future::Future;
use std::pin::Pin;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseTransaction;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// How long a key is remembered.
pub const KEY_LIFETIME: TimeDelta = TimeDelta::hours(24);
const HEADER: &str = "idempotency-key";

/// A request's `Idempotency-Key`: 1–255 visible ASCII characters. As an extractor,
/// `Option<IdempotencyKey>` is `None` without the header, and a malformed one is a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &[u8]) -> Result<Self, AppError> {
        let key = std::str::from_utf8(value).unwrap_or_default();
        if key.is_empty()
            || key.len() > 255
            || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err(AppError::bad_request(
                "invalid_idempotency_key",
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
            ));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        parts
            .headers
            .get(HEADER)
            .map(|value| Self::parse(value.as_bytes()))
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        <Self as axum::extract::OptionalFromRequestParts<S>>::from_request_parts(parts, state)
            .await?
            .ok_or_else(|| {
                AppError::bad_request(
                    "invalid_idempotency_key",
                    "This request needs an `Idempotency-Key` header.",
                )
            })
    }
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
    /// First use: go ahead, then [`store::complete`] in the same transaction.
    New,
    /// Used before (within its lifetime): answer with what that request created.
    Replay {
        request_hash: String,
        created: Created,
    },
}

/// The fingerprint of a request, from its validated parts: a retry must send the same.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The outcome of [`create_once`].
pub enum Outcome<T> {
    /// Created now; `T` is what the creation returned (read inside its transaction).
    New(T),
    /// A retry: the first request with this key created this.
    Replay(Created),
}

/// Work done inside the creating transaction: returns what it created and the answer.
pub type Creation<'t, T> =
    Pin<Box<dyn Future<Output = Result<(Created, T), AppError>> + Send + 't>>;

/// The one write path of everything created under an `Idempotency-Key`: in one write
/// transaction, claims the key (when there is one), runs `create`, records what it created
/// against the key and commits. A retry with the same key and the same `fingerprint`
/// answers [`Outcome::Replay`] without creating anything; with another fingerprint, or a
/// key first used to create another kind of thing, it is a 422 `idempotency_key_reused`.
/// When `create` fails, nothing of it (nor the claim) is kept.
pub async fn create_once<T, F>(
    state: &AppState,
    user: Uuid,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
    kind: fn(Uuid) -> Created,
    create: F,
) -> Result<Outcome<T>, AppError>
where
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> Creation<'t, T>,
{
    let now = state.clock.now();
    let transaction = db::begin_write(&state.db).await?;
    if let Some(key) = key {
        let claim = store::claim(&transaction, user, key.as_str(), fingerprint, now).await?;
        if let Claim::Replay {
            request_hash,
            created,
        } = claim
        {
            transaction.rollback().await?;
            let same_kind = match created {
                Created::Post(id) | Created::Schedule(id) => kind(id) == created,
            };
            if !same_kind || request_hash != fingerprint {
                return Err(reused());
            }
            return Ok(Outcome::Replay(created));
        }
    }
    let (created, answer) = match create(&transaction).await {
        Ok(done) => done,
        Err(error) => {
            transaction.rollback().await?;
            return Err(error);
        }
    };
    if let Some(key) = key {
        store::complete(&transaction, user, key.as_str(), created).await?;
    }
    transaction.commit().await?;
    Ok(Outcome::New(answer))
}

/// Forgets keys older than their lifetime (run periodically).
pub async fn prune(
    db: &impl sea_orm::ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    store::prune(db, now).await
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

    #[test]
    fn keys_are_checked() {
        assert_eq!(
            IdempotencyKey::parse(b"abc-123").unwrap().as_str(),
            "abc-123"
        );
        assert!(IdempotencyKey::parse(b"").is_err());
        assert!(IdempotencyKey::parse("k".repeat(256).as_bytes()).is_err());
        assert!(IdempotencyKey::parse("k".repeat(255).as_bytes()).is_ok());
        assert!(IdempotencyKey::parse("caf\u{e9}".as_bytes()).is_err());
    }

    #[test]
    fn fingerprints_tell_parts_apart() {
        assert_eq!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"ab", b"c"]));
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
    }
}
