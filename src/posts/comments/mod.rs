//! Comments on posts: the list under a post (oldest first), and creating, reading, editing
//! and deleting one comment. Only a comment's author may edit or delete it — not even the
//! post's author may.

pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::docs::examples;
use crate::state::AppState;
use crate::users::UserSummary;
use store::CommentRow;

/// The mentioned accounts of a page of comments, by comment.
type Mentions = std::collections::HashMap<uuid::Uuid, Vec<crate::posts::store::Mentioned>>;

/// A comment on a post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!(examples::comment()))]
pub struct Comment {
    pub id: String,
    /// The post commented on.
    pub post_id: String,
    pub author: UserSummary,
    /// 1–500 characters.
    pub content: String,
    /// The accounts the content mentions (`@username`), in order of first appearance.
    pub mentions: Vec<UserSummary>,
    pub created_at: DateTime<Utc>,
    /// When the content was last edited, or `null`.
    pub edited_at: Option<DateTime<Utc>>,
}

impl Comment {
    fn from_row(row: CommentRow, mentions: &mut Mentions, state: &AppState) -> Self {
        let mentions = mentions
            .remove(&row.id)
            .unwrap_or_default()
            .into_iter()
            .map(|mentioned| mentioned.summary(state))
            .collect();
        Self {
            mentions,
            id: row.id.to_string(),
            post_id: row.post_id.to_string(),
            author: UserSummary::new(
                row.author_id,
                row.author_username,
                row.author_display_name,
                row.author_avatar_key.as_deref(),
                state,
            ),
            content: row.content,
            created_at: row.created_at,
            edited_at: row.edited_at,
        }
    }
}
