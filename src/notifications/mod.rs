//! Notifications: who followed you, asked to, accepted your request, liked or commented on
//! your post, mentioned you, and which of your scheduled posts went out.
//!
//! Written by the action that causes them, in its transaction ([`notify`] and
//! [`withdraw`], called by the follow graph, likes, comments, posts and the scheduler), so a
//! like never exists without its notification or the reverse. Whether a notification is
//! written, and whether it is shown, is the visibility rule of [`crate::privacy`]: nobody is
//! notified across a block or by an account they mute, nor of a post they cannot see, and a
//! block, a mute or a narrower visibility made later hides what was already written.

pub mod routes;
pub mod service;
pub mod store;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::posts::Post;
use crate::posts::comments::Comment;
use crate::users::UserSummary;

pub use store::{Notice, notify, notify_mentions, renotify_mentions, withdraw};

/// What a notification tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Someone followed you (or you accepted their request).
    Follow,
    /// Someone asked to follow your locked account (gone once the request stops pending).
    FollowRequest,
    /// The account you asked to follow accepted.
    FollowAccepted,
    /// Someone liked your post.
    Like,
    /// Someone commented on your post.
    Comment,
    /// A post or comment that you can see mentions you.
    Mention,
    /// Your scheduled post was published.
    Published,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Follow,
        Kind::FollowRequest,
        Kind::FollowAccepted,
        Kind::Like,
        Kind::Comment,
        Kind::Mention,
        Kind::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Follow => "follow",
            Kind::FollowRequest => "follow_request",
            Kind::FollowAccepted => "follow_accepted",
            Kind::Like => "like",
            Kind::Comment => "comment",
            Kind::Mention => "mention",
            Kind::Published => "published",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or(())
    }
}

/// A notification, as its recipient reads it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!(crate::docs::examples::notification()))]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    /// Who acted (for `published`, you).
    pub account: UserSummary,
    /// The post liked, commented on, mentioning you or published; `null` for follows.
    pub post: Option<Post>,
    /// The comment (for `comment`, and `mention` in a comment); otherwise `null`.
    pub comment: Option<Comment>,
}

pub mod entity {
    use sea_orm::entity::prelude::*;

    /// A notification to `recipient_id` of what `actor_id` did.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        /// Time-ordered: the list and the stream sort on it.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub recipient_id: Uuid,
        pub actor_id: Uuid,
        pub kind: String,
        /// With the recipient, the kind and the actor, what makes it one of a kind (a
        /// unique index): the post or comment it is about, or the actor for follows.
        pub subject_id: Uuid,
        pub post_id: Option<Uuid>,
        pub comment_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub read: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_from_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert!("likes".parse::<Kind>().is_err());
    }
}
