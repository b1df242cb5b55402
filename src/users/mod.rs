//! Accounts as others see them and as their owner sees them: the `Me` and `User` objects,
//! profiles and (in later work) search and the follow graph.

pub mod domain;
pub mod entity;
pub mod routes;
pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;

/// Your own account: the public profile plus `email`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!(crate::docs::examples::me()))]
pub struct Me {
    /// Opaque, time-ordered identifier.
    #[schema(example = "019acbde-2f7a-7c3e-9a53-5d6c3e0b1f42")]
    pub id: String,
    /// 3–30 characters of `a-z`, `0-9`, `_`.
    #[schema(example = "alice")]
    pub username: String,
    /// 0–50 characters; empty when unset.
    pub display_name: String,
    /// 0–500 characters; empty when unset.
    pub bio: String,
    /// 0–100 characters; empty when unset.
    pub location: String,
    /// Empty, or an http(s) URL of at most 200 characters.
    pub website: String,
    /// Absolute URL of the avatar image, or `null`.
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub followers_count: i64,
    pub following_count: i64,
    pub posts_count: i64,
    /// Always `null` on yourself.
    pub following: Option<bool>,
    /// Always `null` on yourself.
    pub followed_by: Option<bool>,
    /// Lower-cased; only ever shown to its owner.
    #[schema(format = Email, example = "alice@example.com")]
    pub email: String,
}

impl Me {
    pub fn from_model(user: entity::Model, state: &AppState) -> Self {
        Self {
            id: user.id.to_string(),
            avatar_url: user
                .avatar_key
                .as_deref()
                .map(|key| format!("{}/media/{key}", state.config.public_url)),
            username: user.username,
            display_name: user.display_name,
            bio: user.bio,
            location: user.location,
            website: user.website,
            created_at: user.created_at,
            followers_count: 0,
            following_count: 0,
            posts_count: 0,
            following: None,
            followed_by: None,
            email: user.email,
        }
    }
}
