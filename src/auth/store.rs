//! Queries on tokens (an account's, and the ones OAuth apps hold for themselves) and
//! failed logins.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::entity::{app_token, login_failure, token};
use crate::db::new_id;

/// Stores the digest of a new token for `user_id`, valid until `expires_at`.
pub async fn insert_token(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    digest: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    insert_token_row(db, user_id, digest, now, expires_at, None).await
}

/// The OAuth grant of a token: the app it was issued to and what it may do.
#[derive(Debug, Clone)]
pub struct Grant {
    pub app_id: Uuid,
    /// Space-separated scopes.
    pub scopes: String,
}

/// Stores the digest of a token issued through OAuth to `grant.app_id` for `user_id`, with
/// `grant.scopes`. It is an ordinary token row: logging out revokes it as any other.
pub async fn insert_granted_token(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    digest: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    grant: Grant,
) -> Result<(), DbErr> {
    insert_token_row(db, user_id, digest, now, expires_at, Some(grant)).await
}

async fn insert_token_row(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    digest: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    grant: Option<Grant>,
) -> Result<(), DbErr> {
    let (app_id, scopes) = grant.map_or((None, None), |grant| {
        (Some(grant.app_id), Some(grant.scopes))
    });
    token::Entity::insert(token::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user_id),
        token_hash: Set(digest),
        created_at: Set(now),
        expires_at: Set(expires_at),
        scopes: Set(scopes),
        app_id: Set(app_id),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Stores the digest of a token an app holds for itself (client credentials).
pub async fn insert_app_token(
    db: &impl ConnectionTrait,
    digest: String,
    grant: Grant,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    app_token::Entity::insert(app_token::ActiveModel {
        digest: Set(digest),
        app_id: Set(grant.app_id),
        scopes: Set(grant.scopes),
        created_at: Set(now),
        expires_at: Set(expires_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The app token with this digest, if one exists (expired or not).
pub async fn find_app_token(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<app_token::Model>, DbErr> {
    app_token::Entity::find_by_id(digest.to_owned())
        .one(db)
        .await
}

/// Revokes the token with this digest if `app_id` holds it, for an account or for itself;
/// whether one was revoked.
pub async fn delete_app_tokens(
    db: &impl ConnectionTrait,
    digest: &str,
    app_id: Uuid,
) -> Result<bool, DbErr> {
    let users = token::Entity::delete_many()
        .filter(token::Column::TokenHash.eq(digest))
        .filter(token::Column::AppId.eq(app_id))
        .exec(db)
        .await?;
    let own = app_token::Entity::delete_many()
        .filter(app_token::Column::Digest.eq(digest))
        .filter(app_token::Column::AppId.eq(app_id))
        .exec(db)
        .await?;
    Ok(users.rows_affected + own.rows_affected > 0)
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
