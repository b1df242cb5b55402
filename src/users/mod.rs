//! Accounts as others see them (`User`) and as their owner sees them (`Me`): profiles,
//! avatars, user search and the follow graph.

pub mod avatar;
pub mod domain;
pub mod entity;
pub mod graph;
pub mod routes;
pub mod service;
pub mod store;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::state::AppState;
use entity::user;

/// A user's public profile. `following`, `followed_by`, `requested`, `blocking`,
/// `blocked_by` and `muting` describe the viewer's relation to this user: booleans for an
/// authenticated viewer, `null` for anonymous ones and on the viewer's own account.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!(crate::docs::examples::user()))]
pub struct User {
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
    /// Absolute URL of the 400×400 avatar image, or `null`.
    pub avatar_url: Option<String>,
    /// Follows need this account's approval, and its posts are for its followers only.
    pub locked: bool,
    pub created_at: DateTime<Utc>,
    pub followers_count: i64,
    pub following_count: i64,
    pub posts_count: i64,
    /// Whether the viewer follows this user (`null` when anonymous or yourself).
    pub following: Option<bool>,
    /// Whether this user follows the viewer (`null` when anonymous or yourself).
    pub followed_by: Option<bool>,
    /// Whether the viewer has a pending request to follow this user.
    pub requested: Option<bool>,
    /// Whether the viewer blocks this user.
    pub blocking: Option<bool>,
    /// Whether this user blocks the viewer.
    pub blocked_by: Option<bool>,
    /// Whether the viewer mutes this user (only ever shown to the muter).
    pub muting: Option<bool>,
}

/// Your own account: the public profile plus `email`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!(crate::docs::examples::me()))]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// Lower-cased; only ever shown to its owner.
    #[schema(format = Email, example = "alice@example.com")]
    pub email: String,
}

/// How the viewer stands to one other account, as flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelationFlags {
    pub following: bool,
    pub followed_by: bool,
    pub requested: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    /// The other account has a pending request to follow the viewer (read only by
    /// [`graph::store::relationships`]; `false` elsewhere).
    pub requested_by: bool,
}

/// The viewer's relations to a set of users, loaded with one query whatever their number
/// (see [`graph::relations`]).
#[derive(Debug, Default)]
pub struct Relations {
    viewer: Option<Uuid>,
    flags: HashMap<Uuid, RelationFlags>,
}

impl Relations {
    /// No viewer: every relation is `null`.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// The relations of `viewer` (`None`: anonymous), user by user; users left out have
    /// none.
    pub fn new(
        viewer: Option<Uuid>,
        flags: impl IntoIterator<Item = (Uuid, RelationFlags)>,
    ) -> Self {
        Relations {
            viewer,
            flags: flags.into_iter().collect(),
        }
    }

    /// The viewer's flags towards `id`: `None` when anonymous or when `id` is the viewer.
    pub fn of(&self, id: Uuid) -> Option<RelationFlags> {
        match self.viewer {
            Some(viewer) if viewer != id => Some(self.flags.get(&id).copied().unwrap_or_default()),
            _ => None,
        }
    }
}

/// Absolute URL of a stored avatar.
pub fn avatar_url(state: &AppState, key: Option<&str>) -> Option<String> {
    key.map(|key| crate::media::file_url(state, key))
}

impl User {
    pub fn from_model(user: user::Model, relations: &Relations, state: &AppState) -> Self {
        let flags = relations.of(user.id);
        let flag = |pick: fn(&RelationFlags) -> bool| flags.as_ref().map(pick);
        Self {
            id: user.id.to_string(),
            avatar_url: avatar_url(state, user.avatar_key.as_deref()),
            locked: user.locked,
            username: user.username,
            display_name: user.display_name,
            bio: user.bio,
            location: user.location,
            website: user.website,
            created_at: user.created_at,
            followers_count: user.followers_count,
            following_count: user.following_count,
            posts_count: user.posts_count,
            following: flag(|f| f.following),
            followed_by: flag(|f| f.followed_by),
            requested: flag(|f| f.requested),
            blocking: flag(|f| f.blocking),
            blocked_by: flag(|f| f.blocked_by),
            muting: flag(|f| f.muting),
        }
    }
}

impl Me {
    pub fn from_model(user: user::Model, state: &AppState) -> Self {
        let email = user.email.clone();
        Self {
            user: User::from_model(user, &Relations::anonymous(), state),
            email,
        }
    }
}

/// The author shown inside posts and comments.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({"id": "019acbde-2f7a-7c3e-9a53-5d6c3e0b1f42", "username": "alice", "display_name": "Alice Liddell", "avatar_url": null}))]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub display_name: String,
    /// Absolute URL of the avatar image, or `null`.
    pub avatar_url: Option<String>,
}

impl UserSummary {
    pub fn new(
        id: Uuid,
        username: String,
        display_name: String,
        avatar_key: Option<&str>,
        state: &AppState,
    ) -> Self {
        Self {
            id: id.to_string(),
            username,
            display_name,
            avatar_url: avatar_url(state, avatar_key),
        }
    }
}
