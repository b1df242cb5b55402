//! Posts and everything hanging off them: hashtags, the post lists (feed, tag, author,
//! search, likes), likes and comments.

pub mod comments;
pub mod domain;
pub mod entity;
pub mod likes;
pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::media::Media;
use crate::privacy::Visibility;
use crate::state::AppState;
use crate::users::UserSummary;
use store::{PostExtras, PostRow};

/// A post, with what a client needs to render it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!(crate::docs::examples::post()))]
pub struct Post {
    pub id: String,
    pub author: UserSummary,
    /// 0–500 characters (empty only when media is attached).
    pub content: String,
    /// Who may see it: `public`, or `followers` (always `followers` while the author is
    /// locked).
    pub visibility: Visibility,
    /// Hashtags in the content: lower-case, without `#`, in order of first appearance.
    pub tags: Vec<String>,
    /// The accounts the content mentions (`@username`), in order of first appearance.
    pub mentions: Vec<UserSummary>,
    /// Up to 4 images, in the order given at creation.
    pub media: Vec<Media>,
    pub like_count: i64,
    pub comment_count: i64,
    /// Whether the viewer liked it; `null` for anonymous viewers.
    pub liked: Option<bool>,
    pub created_at: DateTime<Utc>,
    /// When the content was last edited, or `null`.
    pub edited_at: Option<DateTime<Utc>>,
}

/// A hashtag and how many posts carry it.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({"name": "birds", "post_count": 42}))]
pub struct Tag {
    /// Lower-case, without `#`.
    pub name: String,
    /// Posts currently carrying the tag (0 for a tag nobody used yet).
    pub post_count: i64,
}

impl Post {
    pub fn from_row(row: PostRow, extras: &mut PostExtras, state: &AppState) -> Self {
        let media = extras
            .media
            .get(&row.id)
            .map(|media| media.iter().map(|m| Media::from_model(m, state)).collect())
            .unwrap_or_default();
        let tags = row.tags();
        let mentions = extras
            .mentions
            .remove(&row.id)
            .unwrap_or_default()
            .into_iter()
            .map(|mentioned| mentioned.summary(state))
            .collect();
        Self {
            visibility: Visibility::effective(&row.visibility, row.author_locked),
            mentions,
            id: row.id.to_string(),
            author: UserSummary::new(
                row.author_id,
                row.author_username,
                row.author_display_name,
                row.author_avatar_key.as_deref(),
                state,
            ),
            tags,
            content: row.content,
            media,
            like_count: row.like_count,
            comment_count: row.comment_count,
            liked: row.liked,
            created_at: row.created_at,
            edited_at: row.edited_at,
        }
    }
}

impl store::Mentioned {
    /// The mentioned account as posts and comments show it.
    pub fn summary(self, state: &AppState) -> UserSummary {
        UserSummary::new(
            self.id,
            self.username,
            self.display_name,
            self.avatar_key.as_deref(),
            state,
        )
    }
}
