//! Queries on tokens and failed logins.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::entity::{login_failure, token};
use crate::db::new_id;

/// Stores the digest of a new token for `user_id`, valid until `expires_at`.
pub async fn insert_token(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    digest: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    token::Entity::insert(token::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id),
        token_hash: Set(digest),
        created_at: Set(now),
        expires_at: Set(expires_at),
        scopes: Set(None),
        app_id: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The token row with this digest, if one exists (expired or not).
pub async fn find_token(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<token::Model>, DbErr> {
    token::Entity::find()
        .filter(token::Column::TokenHash.eq(digest))
        .one(db)
        .await
}

/// Revokes one token.
pub async fn delete_token(db: &impl ConnectionTrait, token_id: Uuid) -> Result<(), DbErr> {
    token::Entity::delete_by_id(token_id).exec(db).await?;
    Ok(())
}

/// Revokes every token of `user_id` except `keep` (when given).
pub async fn delete_user_tokens(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<(), DbErr> {
    let mut delete = token::Entity::delete_many().filter(token::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        delete = delete.filter(token::Column::Id.ne(keep));
    }
    delete.exec(db).await?;
    Ok(())
}

/// Times of the most recent failed logins for `email` after `since`, newest first, at most `limit`.
pub async fn recent_failures(
    db: &impl ConnectionTrait,
    email: &str,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    login_failure::Entity::find()
        .select_only()
        .column(login_failure::Column::FailedAt)
        .filter(login_failure::Column::Email.eq(email))
        .filter(login_failure::Column::FailedAt.gt(since))
        .order_by_desc(login_failure::Column::FailedAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

/// Takes a transaction-level lock on the failed logins of `email`, on PostgreSQL, so that
/// concurrent attempts for one address are counted one after the other (SQLite's write
/// lock already serialises them).
pub async fn lock_failures_postgres(db: &impl ConnectionTrait, email: &str) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        [email.into()],
    ))
    .await?;
    Ok(())
}

/// Records a failed (or not yet verified) login for `email` and returns its id.
pub async fn insert_failure(
    db: &impl ConnectionTrait,
    email: String,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = new_id();
    login_failure::Entity::insert(login_failure::ActiveModel {
        id: Set(id),
        email: Set(email),
        failed_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// Forgets an attempt that turned out to be a success.
pub async fn delete_failure(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    login_failure::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Drops records that have left every window.
pub async fn prune_failures(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<(), DbErr> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::FailedAt.lt(before))
        .exec(db)
        .await?;
    Ok(())
}
