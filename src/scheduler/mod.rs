//! Scheduled posts: the `/scheduled-posts` endpoints and the in-process publisher that
//! turns them into posts when they fall due (see [`publisher`] for the claim protocol and
//! its guarantees).

pub mod entity;
pub mod publisher;
pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::media::Media;
use crate::posts::domain::hashtags;
use crate::privacy::Visibility;
use crate::state::AppState;

/// A post waiting for its `publish_at`. Only its author can see it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!(crate::docs::examples::scheduled_post()))]
pub struct ScheduledPost {
    pub id: String,
    /// Trimmed content, as it will be published.
    pub content: String,
    /// The visibility the post will be published with: `public` or `followers`.
    pub visibility: Visibility,
    /// The hashtags the post will carry.
    pub tags: Vec<String>,
    /// Images reserved for the post, in order.
    pub media: Vec<Media>,
    /// When it will be published (UTC).
    pub publish_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl ScheduledPost {
    pub fn from_model(
        model: entity::Model,
        media: &[crate::media::entity::Model],
        state: &AppState,
    ) -> Self {
        Self {
            id: model.id.to_string(),
            tags: hashtags(&model.content),
            visibility: Visibility::from_stored(&model.visibility),
            content: model.content,
            media: media.iter().map(|m| Media::from_model(m, state)).collect(),
            publish_at: model.publish_at,
            created_at: model.created_at,
        }
    }
}
