//! Queries on accounts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use super::entity as user;
use crate::db::new_id;

/// The fields a new account starts with.
pub struct NewUser {
    pub email: String,
    pub username: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewUser) -> Result<user::Model, DbErr> {
    let model = user::Model {
        id: new_id(),
        email: new.email,
        username: new.username,
        password_hash: new.password_hash,
        display_name: String::new(),
        bio: String::new(),
        location: String::new(),
        website: String::new(),
        avatar_key: None,
        created_at: new.created_at,
    };
    user::Entity::insert(user::ActiveModel {
        id: Set(model.id),
        email: Set(model.email.clone()),
        username: Set(model.username.clone()),
        password_hash: Set(model.password_hash.clone()),
        display_name: Set(String::new()),
        bio: Set(String::new()),
        location: Set(String::new()),
        website: Set(String::new()),
        avatar_key: Set(None),
        created_at: Set(model.created_at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(model)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// Looks up by a lower-cased email.
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await
}

pub async fn email_exists(db: &impl ConnectionTrait, email: &str) -> Result<bool, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .count(db)
        .await?
        > 0)
}

pub async fn username_exists(db: &impl ConnectionTrait, username: &str) -> Result<bool, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .count(db)
        .await?
        > 0)
}

pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: Uuid,
    password_hash: String,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(password_hash),
        )
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
