//! Queries on OAuth apps and authorization codes.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::entity::{app, code};

/// Stores a registered app.
pub async fn insert_app(db: &impl ConnectionTrait, model: app::Model) -> Result<(), DbErr> {
    app::Entity::insert(app::ActiveModel {
        id: Set(model.id),
        client_id: Set(model.client_id),
        client_secret_hash: Set(model.client_secret_hash),
        name: Set(model.name),
        redirect_uris: Set(model.redirect_uris),
        scopes: Set(model.scopes),
        website: Set(model.website),
        created_at: Set(model.created_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The app with this client id.
pub async fn find_app_by_client_id(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<app::Model>, DbErr> {
    app::Entity::find()
        .filter(app::Column::ClientId.eq(client_id))
        .one(db)
        .await
}

/// The app with this id.
pub async fn find_app(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<app::Model>, DbErr> {
    app::Entity::find_by_id(id).one(db).await
}

/// Stores a new authorization code, and drops the codes that have expired.
pub async fn insert_code(
    db: &impl ConnectionTrait,
    model: code::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    code::Entity::delete_many()
        .filter(code::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    code::Entity::insert(code::ActiveModel {
        digest: Set(model.digest),
        app_id: Set(model.app_id),
        user_id: Set(model.user_id),
        redirect_uri: Set(model.redirect_uri),
        scopes: Set(model.scopes),
        code_challenge: Set(model.code_challenge),
        expires_at: Set(model.expires_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Takes the code with this digest: deletes it and returns it, in one statement, so that
/// two exchanges of one code cannot both get it.
pub async fn take_code(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<code::Model>, DbErr> {
    let taken = code::Entity::delete_many()
        .filter(code::Column::Digest.eq(digest))
        .exec_with_returning(db)
        .await?;
    Ok(taken.into_iter().next())
}
