//! Mastodon's streams (`user`, `public`, `hashtag` …), what a connection follows, and how
//! the events of Roost's real-time core become Mastodon's: their names, their `stream`
//! and their payload (a Status or a Notification as a string, or a deleted status's id).

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::AppError;
use crate::mastodon::entities;
use crate::mastodon::scopes::Caller;
use crate::state::AppState;
use crate::stream::routes::{REPLAY_WINDOW, replay_page};
use crate::stream::{Delivery, Frame, PublicFrame, PublicTopics, Registration, Subject};

/// Event ids remembered per connection, so that none is sent twice (a live event may also
/// have been replayed).
const REMEMBERED_IDS: usize = 128;

/// One of Mastodon's streams. Every account is local, so `public:local` is `public` and
/// `hashtag:local` is `hashtag`; they keep their names in the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// The home feed and the notifications.
    User,
    /// The notifications.
    UserNotification,
    /// Public posts (with images only when `media`).
    Public { local: bool, media: bool },
    /// Public posts with the hashtag `tag` (lower-case, without `#`).
    Hashtag { local: bool, tag: String },
}

/// Why a stream cannot be followed: Mastodon's message for it and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub message: &'static str,
    pub status: u16,
}

impl Refused {
    const UNKNOWN: Self = Self {
        message: "Unknown stream type",
        status: 400,
    };
    const NO_TAG: Self = Self {
        message: "No tag for stream provided",
        status: 400,
    };
    const SCOPES: Self = Self {
        message: "Access token does not have the required scopes",
        status: 401,
    };
    /// A client message that is not a `subscribe` or `unsubscribe` in JSON.
    pub const BAD_MESSAGE: Self = Self {
        message: "Unknown message type",
        status: 400,
    };

    /// The same refusal as an HTTP answer.
    pub fn into_error(self) -> AppError {
        if self.status == 401 {
            return crate::mastodon::scopes::outside_scopes();
        }
        AppError::bad_request("unknown_stream", self.message)
    }
}

impl Channel {
    /// The stream `name` (`hashtag` streams take `tag`, with or without `#`).
    pub fn parse(name: &str, tag: Option<&str>) -> Result<Self, Refused> {
        let hashtag = |local| {
            let tag = tag.map(str::trim).filter(|tag| !tag.is_empty());
            let tag = tag.ok_or(Refused::NO_TAG)?;
            let tag = tag.strip_prefix('#').unwrap_or(tag);
            Ok(Self::Hashtag {
                local,
                tag: crate::posts::domain::normalize_tag(tag),
            })
        };
        match name {
            "user" => Ok(Self::User),
            "user:notification" => Ok(Self::UserNotification),
            "public" => Ok(Self::Public {
                local: false,
                media: false,
            }),
            "public:local" => Ok(Self::Public {
                local: true,
                media: false,
            }),
            "public:media" => Ok(Self::Public {
                local: false,
                media: true,
            }),
            "public:local:media" => Ok(Self::Public {
                local: true,
                media: true,
            }),
            "hashtag" => hashtag(false),
            "hashtag:local" => hashtag(true),
            _ => Err(Refused::UNKNOWN),
        }
    }

    /// The scope a token needs to follow it (`read` grants both).
    fn scope(&self) -> &'static str {
        match self {
            Self::UserNotification => "read:notifications",
            _ => "read:statuses",
        }
    }

    /// Refuses unless `caller`'s token may follow it.
    pub fn allowed_to(&self, caller: &Caller) -> Result<(), Refused> {
        caller
            .require(self.scope())
            .map(|_| ())
            .map_err(|_| Refused::SCOPES)
    }

    /// Its `stream` in the events: its name, and the tag of a hashtag stream.
    fn stream(&self) -> Vec<String> {
        let name = match self {
            Self::User => "user",
            Self::UserNotification => "user:notification",
            Self::Public { local, media } => match (local, media) {
                (false, false) => "public",
                (true, false) => "public:local",
                (false, true) => "public:media",
                (true, true) => "public:local:media",
            },
            Self::Hashtag { local: false, tag } => return vec!["hashtag".into(), tag.clone()],
            Self::Hashtag { local: true, tag } => {
                return vec!["hashtag:local".into(), tag.clone()];
            }
        };
        vec![name.to_owned()]
    }
}

/// One event as a Mastodon client receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub stream: Vec<String>,
    /// `update`, `status.update`, `delete` or `notification`.
    pub event: &'static str,
    /// A Status or a Notification as JSON, or a deleted status's id.
    pub payload: Arc<str>,
}

impl Message {
    /// The WebSocket text frame: `{"stream": […], "event": …, "payload": "…"}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "stream": self.stream,
            "event": self.event,
            "payload": &*self.payload,
        })
        .to_string()
    }
}

/// Mastodon's name of a Roost event.
fn event_name(event: &str) -> Option<&'static str> {
    match event {
        "post" => Some("update"),
        "post.update" => Some("status.update"),
        "post.delete" => Some("delete"),
        "notification" => Some("notification"),
        _ => None,
    }
}

/// The payload of `subject`: its entity as JSON, or a deleted status's id; `None` for a
/// notification of a kind Mastodon clients do not know. `signed_in` says whether the
/// listener's own flags (`favourited` …) are part of it: on the account's events, not on
/// the public streams' (one rendering for every listener).
fn payload(state: &AppState, subject: &Subject, signed_in: bool) -> Option<String> {
    let json = match subject {
        Subject::Post(post) => {
            serde_json::to_string(&entities::Status::from_post(state, post, signed_in))
        }
        Subject::Notification(notification) => serde_json::to_string(
            &entities::Notification::from_notification(state, notification)?,
        ),
        Subject::Deleted(id) => return Some(entities::id(*id)),
    };
    json.map_err(|error| tracing::error!(%error, "rendering a streamed entity failed"))
        .ok()
}

/// A connection's streams and its place in the real-time core: what it follows, and the
/// messages each delivery makes for it.
pub struct Listener {
    state: AppState,
    user: AuthUser,
    /// Whether the token may read notifications (the `user` stream leaves them out
    /// otherwise).
    notifications: bool,
    channels: Vec<Channel>,
    pub registration: Registration,
    /// The id of the last account event sent (a replay goes on from there).
    last_id: Option<Uuid>,
    /// An id issued when the connection opened (a replay before any event starts there).
    opened: Uuid,
    /// What a replay goes back to at most.
    not_before: DateTime<Utc>,
    recent: VecDeque<Uuid>,
}

impl Listener {
    pub fn new(state: AppState, caller: &Caller, registration: Registration) -> Self {
        let not_before =
            state.clock.now() - chrono::Duration::from_std(REPLAY_WINDOW).unwrap_or_default();
        Self {
            state,
            user: caller.user,
            notifications: caller.require("read:notifications").is_ok(),
            channels: Vec::new(),
            registration,
            last_id: None,
            opened: crate::db::new_id(),
            not_before,
            recent: VecDeque::new(),
        }
    }

    /// Follows `channel` too.
    pub fn subscribe(&mut self, channel: Channel) {
        if !self.channels.contains(&channel) {
            self.channels.push(channel);
            self.registration.follow_public(self.public_topics());
        }
    }

    /// Stops following `channel`.
    pub fn unsubscribe(&mut self, channel: &Channel) {
        self.channels.retain(|followed| followed != channel);
        self.registration.follow_public(self.public_topics());
    }

    /// The public posts the channels follow.
    fn public_topics(&self) -> PublicTopics {
        let mut topics = PublicTopics::default();
        for channel in &self.channels {
            match channel {
                Channel::Public { .. } => topics.all = true,
                Channel::Hashtag { tag, .. } if !topics.tags.contains(tag) => {
                    topics.tags.push(tag.clone());
                }
                _ => {}
            }
        }
        topics
    }

    /// The messages `delivery` makes for this connection, in order. A resync replays the
    /// account's events since the last one sent; a replay that fails is logged, and the
    /// connection goes on (its client reloads its timelines when it reconnects).
    pub async fn messages(&mut self, delivery: Delivery) -> Vec<Message> {
        match delivery {
            Delivery::Frame(frame) => self.account_messages(&frame),
            Delivery::Public(frame) => self.public_messages(&frame),
            Delivery::Resync => {
                let follows_account = self
                    .channels
                    .iter()
                    .any(|channel| matches!(channel, Channel::User | Channel::UserNotification));
                if !follows_account {
                    return Vec::new();
                }
                let mut messages = Vec::new();
                let mut since = Some(self.last_id.unwrap_or(self.opened));
                while let Some(from) = since {
                    let replay =
                        Box::pin(replay_page(&self.state, self.user, from, self.not_before));
                    match replay.await {
                        Ok((frames, next)) => {
                            for frame in frames {
                                messages.extend(self.account_messages(&frame));
                            }
                            since = next;
                        }
                        Err(error) => {
                            tracing::warn!(?error, "replaying a Mastodon stream failed");
                            since = None;
                        }
                    }
                }
                messages
            }
        }
    }

    /// An event of the account: for `user` (notifications only with the scope for them)
    /// and, a notification, for `user:notification`.
    fn account_messages(&mut self, frame: &Frame) -> Vec<Message> {
        if self.recent.contains(&frame.id) {
            return Vec::new();
        }
        if self.recent.len() == REMEMBERED_IDS {
            self.recent.pop_front();
        }
        self.recent.push_back(frame.id);
        self.last_id = Some(self.last_id.map_or(frame.id, |last| last.max(frame.id)));
        let is_notification = frame.event == "notification";
        let wanted: Vec<&Channel> = self
            .channels
            .iter()
            .filter(|channel| match channel {
                Channel::User => !is_notification || self.notifications,
                Channel::UserNotification => is_notification,
                _ => false,
            })
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let Some((event, payload)) = self.render(frame, true) else {
            return Vec::new();
        };
        wanted
            .into_iter()
            .map(|channel| Message {
                stream: channel.stream(),
                event,
                payload: payload.clone(),
            })
            .collect()
    }

    /// A public post's event: for the public streams (`:media` ones only when it has
    /// images; deletions go to all) and the hashtag streams of its tags.
    fn public_messages(&self, public: &PublicFrame) -> Vec<Message> {
        let frame = &public.frame;
        let has_media = match &frame.subject {
            Subject::Post(post) => !post.media.is_empty(),
            _ => true,
        };
        let wanted: Vec<&Channel> = self
            .channels
            .iter()
            .filter(|channel| match channel {
                Channel::Public { media, .. } => !media || has_media,
                Channel::Hashtag { tag, .. } => public.tags.contains(tag),
                _ => false,
            })
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let Some((event, payload)) = self.render(frame, false) else {
            return Vec::new();
        };
        wanted
            .into_iter()
            .map(|channel| Message {
                stream: channel.stream(),
                event,
                payload: payload.clone(),
            })
            .collect()
    }

    /// Mastodon's name and payload of `frame`, rendered once for every listener.
    fn render(&self, frame: &Frame, signed_in: bool) -> Option<(&'static str, Arc<str>)> {
        let event = event_name(frame.event)?;
        let payload =
            frame.mastodon_rendering(|subject| payload(&self.state, subject, signed_in))?;
        Some((event, Arc::from(payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_parse_with_their_tags() {
        assert_eq!(Channel::parse("user", None), Ok(Channel::User));
        assert_eq!(
            Channel::parse("public:local", None),
            Ok(Channel::Public {
                local: true,
                media: false
            })
        );
        let tag = Channel::parse("hashtag", Some("#Birds")).unwrap();
        assert_eq!(
            tag,
            Channel::Hashtag {
                local: false,
                tag: "birds".into()
            }
        );
        assert_eq!(tag.stream(), ["hashtag", "birds"]);
        assert_eq!(Channel::parse("hashtag", None), Err(Refused::NO_TAG));
        assert_eq!(
            Channel::parse("hashtag:local", Some(" ")),
            Err(Refused::NO_TAG)
        );
        assert_eq!(Channel::parse("list", Some("1")), Err(Refused::UNKNOWN));
    }

    #[test]
    fn roost_events_have_mastodon_names() {
        assert_eq!(event_name("post"), Some("update"));
        assert_eq!(event_name("post.update"), Some("status.update"));
        assert_eq!(event_name("post.delete"), Some("delete"));
        assert_eq!(event_name("notification"), Some("notification"));
    }
}
