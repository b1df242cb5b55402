//! Mastodon's entities (as of Mastodon 4.2), each converted from Roost's objects in this
//! one place: [`Account`], [`Status`], [`MediaAttachment`], [`Notification`],
//! [`Relationship`], [`ScheduledStatus`], [`Tag`], [`Context`] and [`Application`].
//!
//! - Ids are the 64-bit numbers of Roost's ids, as strings ([`id`]).
//! - Timestamps are RFC 3339 with milliseconds ([`time`]).
//! - An account embedded in a status or a notification is made from the post's author
//!   summary: its counts read 0 (apps fetch `GET /api/v1/accounts/:id` for a profile).
//! - URLs are under `ROOST_MASTODON_PUBLIC_URL`; images stay where Roost serves them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::ids;
use crate::media::Media;
use crate::notifications::Kind;
use crate::posts::Post;
use crate::posts::comments::Comment;
use crate::privacy::Visibility;
use crate::scheduler::ScheduledPost;
use crate::state::AppState;
use crate::users::{RelationFlags, User, UserSummary};

mod application;
pub mod content;

pub use application::Application;

/// Where the default avatar and header images are served on this API.
pub const MISSING_AVATAR_PATH: &str = "/avatars/original/missing.png";
pub const MISSING_HEADER_PATH: &str = "/headers/original/missing.png";

/// The Mastodon id of a Roost id.
pub fn id(uuid: Uuid) -> String {
    ids::number(uuid).to_string()
}

/// The Mastodon id of a Roost id given as text (ids in Roost's objects are strings).
pub fn id_of(text: &str) -> String {
    Uuid::parse_str(text).map(id).unwrap_or_default()
}

/// RFC 3339 with milliseconds, as Mastodon writes times.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// When a time-ordered id was made (an account's creation, for embedded accounts).
fn time_of(uuid: Uuid) -> String {
    let millis = (uuid.as_u128() >> 80) as i64;
    time(DateTime::from_timestamp_millis(millis).unwrap_or_default())
}

fn base(state: &AppState) -> &str {
    &state.config.mastodon_public_url
}

/// A profile's note as HTML (Roost's bio is plain text).
fn note_html(bio: &str) -> String {
    content::to_html(bio, "", &[])
}

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub display_name: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub group: bool,
    pub created_at: String,
    pub note: String,
    pub url: String,
    pub uri: String,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    pub last_status_at: Option<String>,
    pub emojis: [Value; 0],
    pub fields: Vec<Value>,
    /// Only in `verify_credentials` and `update_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
}

impl Account {
    fn new(state: &AppState, uuid: Uuid, username: &str, display_name: &str) -> Self {
        let url = format!("{}/@{username}", base(state));
        let header = format!("{}{MISSING_HEADER_PATH}", base(state));
        Self {
            id: id(uuid),
            username: username.to_owned(),
            acct: username.to_owned(),
            display_name: display_name.to_owned(),
            locked: false,
            bot: false,
            discoverable: true,
            group: false,
            created_at: time_of(uuid),
            note: String::new(),
            uri: url.clone(),
            url,
            avatar: String::new(),
            avatar_static: String::new(),
            header_static: header.clone(),
            header,
            followers_count: 0,
            following_count: 0,
            statuses_count: 0,
            last_status_at: None,
            emojis: [],
            fields: Vec::new(),
            source: None,
        }
        .with_avatar(state, None)
    }

    fn with_avatar(mut self, state: &AppState, avatar_url: Option<&str>) -> Self {
        self.avatar = avatar_url.map_or_else(
            || format!("{}{MISSING_AVATAR_PATH}", base(state)),
            str::to_owned,
        );
        self.avatar_static = self.avatar.clone();
        self
    }

    /// A full profile.
    pub fn from_user(state: &AppState, user: &User) -> Self {
        let uuid = Uuid::parse_str(&user.id).unwrap_or_default();
        let mut account = Self::new(state, uuid, &user.username, &user.display_name)
            .with_avatar(state, user.avatar_url.as_deref());
        account.locked = user.locked;
        account.created_at = time(user.created_at);
        account.note = note_html(&user.bio);
        account.followers_count = user.followers_count;
        account.following_count = user.following_count;
        account.statuses_count = user.posts_count;
        if !user.website.is_empty() {
            account.fields.push(json!({
                "name": "Website",
                "value": content::escape(&user.website),
                "verified_at": null,
            }));
        }
        if !user.location.is_empty() {
            account.fields.push(json!({
                "name": "Location",
                "value": content::escape(&user.location),
                "verified_at": null,
            }));
        }
        account
    }

    /// The signed-in account, with `source` (the plain text and settings for editing).
    pub fn credential(state: &AppState, user: &User) -> Self {
        let mut account = Self::from_user(state, user);
        account.source = Some(json!({
            "note": user.bio,
            "fields": [],
            "privacy": "public",
            "sensitive": false,
            "language": "",
            "follow_requests_count": 0,
        }));
        account
    }

    /// An account embedded in a status or a notification.
    pub fn from_summary(state: &AppState, summary: &UserSummary) -> Self {
        let uuid = Uuid::parse_str(&summary.id).unwrap_or_default();
        Self::new(state, uuid, &summary.username, &summary.display_name)
            .with_avatar(state, summary.avatar_url.as_deref())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaAttachment {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub url: String,
    pub preview_url: String,
    pub remote_url: Option<String>,
    pub text_url: Option<String>,
    pub meta: Value,
    pub description: Option<String>,
    pub blurhash: Option<String>,
}

/// Longest side of a preview, as Roost makes them.
const PREVIEW_SIDE: f64 = 400.0;

impl MediaAttachment {
    pub fn from_media(media: &Media) -> Self {
        let (width, height) = (f64::from(media.width), f64::from(media.height));
        let scale = (PREVIEW_SIDE / width.max(height)).min(1.0);
        let (small_width, small_height) = (
            (width * scale).round() as i64,
            (height * scale).round() as i64,
        );
        let size = |w: i64, h: i64| {
            json!({
                "width": w,
                "height": h,
                "size": format!("{w}x{h}"),
                "aspect": if h > 0 { w as f64 / h as f64 } else { 1.0 },
            })
        };
        Self {
            id: id_of(&media.id),
            type_: "image",
            url: media.url.clone(),
            preview_url: media.preview_url.clone(),
            remote_url: None,
            text_url: None,
            meta: json!({
                "original": size(i64::from(media.width), i64::from(media.height)),
                "small": size(small_width, small_height),
            }),
            description: (!media.description.is_empty()).then(|| media.description.clone()),
            blurhash: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Mention {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub name: String,
    pub url: String,
    /// Present where Mastodon gives it (search, tag pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<bool>,
}

impl Tag {
    pub fn new(state: &AppState, name: &str) -> Self {
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        Self {
            name: name.to_owned(),
            url: format!("{}/tags/{encoded}", base(state)),
            history: None,
            following: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub id: String,
    pub uri: String,
    pub url: String,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub account: Account,
    pub content: String,
    pub visibility: &'static str,
    pub sensitive: bool,
    pub spoiler_text: &'static str,
    pub media_attachments: Vec<MediaAttachment>,
    pub application: Option<Value>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<Tag>,
    pub emojis: [Value; 0],
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub replies_count: i64,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_account_id: Option<String>,
    pub reblog: Option<Value>,
    pub poll: Option<Value>,
    pub card: Option<Value>,
    pub language: Option<String>,
    /// The plain text, only in answers to the author's own writes (for editing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Whether the caller favourited, reblogged, muted, bookmarked or pinned it: present
    /// for signed-in callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favourited: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reblogged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookmarked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    pub filtered: [Value; 0],
}

/// Mastodon's name of a Roost visibility.
pub fn visibility_name(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Public => "public",
        Visibility::Followers => "private",
    }
}

fn mentions(state: &AppState, accounts: &[UserSummary]) -> Vec<Mention> {
    accounts
        .iter()
        .map(|account| Mention {
            id: id_of(&account.id),
            username: account.username.clone(),
            acct: account.username.clone(),
            url: format!("{}/@{}", base(state), account.username),
        })
        .collect()
}

fn mentioned_names(accounts: &[UserSummary]) -> Vec<String> {
    accounts
        .iter()
        .map(|account| account.username.to_ascii_lowercase())
        .collect()
}

impl Status {
    /// A post. `signed_in` says whether the caller has an account (and so the
    /// `favourited` … flags).
    pub fn from_post(state: &AppState, post: &Post, signed_in: bool) -> Self {
        let uuid = Uuid::parse_str(&post.id).unwrap_or_default();
        let url = format!(
            "{}/@{}/{}",
            base(state),
            post.author.username,
            ids::number(uuid)
        );
        let flag = |value: bool| signed_in.then_some(value);
        Self {
            id: id(uuid),
            uri: url.clone(),
            url,
            created_at: time(post.created_at),
            edited_at: post.edited_at.map(time),
            account: Account::from_summary(state, &post.author),
            content: content::to_html(&post.content, base(state), &mentioned_names(&post.mentions)),
            visibility: visibility_name(post.visibility),
            sensitive: false,
            spoiler_text: "",
            media_attachments: post.media.iter().map(MediaAttachment::from_media).collect(),
            application: None,
            mentions: mentions(state, &post.mentions),
            tags: post.tags.iter().map(|tag| Tag::new(state, tag)).collect(),
            emojis: [],
            reblogs_count: 0,
            favourites_count: post.like_count,
            replies_count: post.comment_count,
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog: None,
            poll: None,
            card: None,
            language: None,
            text: None,
            favourited: flag(post.liked.unwrap_or(false)),
            reblogged: flag(false),
            muted: flag(false),
            bookmarked: flag(false),
            pinned: flag(false),
            filtered: [],
        }
    }

    /// A comment, as a reply to its post (written by `post_author`). A comment has no
    /// visibility of its own: it is seen with its post, so it takes the post's.
    pub fn from_comment(
        state: &AppState,
        comment: &Comment,
        post_author: &str,
        visibility: Visibility,
        signed_in: bool,
    ) -> Self {
        let uuid = Uuid::parse_str(&comment.id).unwrap_or_default();
        let url = format!(
            "{}/@{}/{}",
            base(state),
            comment.author.username,
            ids::number(uuid)
        );
        let flag = |value: bool| signed_in.then_some(value);
        Self {
            id: id(uuid),
            uri: url.clone(),
            url,
            created_at: time(comment.created_at),
            edited_at: comment.edited_at.map(time),
            account: Account::from_summary(state, &comment.author),
            content: content::to_html(
                &comment.content,
                base(state),
                &mentioned_names(&comment.mentions),
            ),
            visibility: visibility_name(visibility),
            sensitive: false,
            spoiler_text: "",
            media_attachments: Vec::new(),
            application: None,
            mentions: mentions(state, &comment.mentions),
            tags: crate::posts::domain::hashtags(&comment.content)
                .iter()
                .map(|tag| Tag::new(state, tag))
                .collect(),
            emojis: [],
            reblogs_count: 0,
            favourites_count: 0,
            replies_count: 0,
            in_reply_to_id: Some(id_of(&comment.post_id)),
            in_reply_to_account_id: Some(id_of(post_author)),
            reblog: None,
            poll: None,
            card: None,
            language: None,
            text: None,
            favourited: flag(false),
            reblogged: flag(false),
            muted: flag(false),
            bookmarked: flag(false),
            pinned: flag(false),
            filtered: [],
        }
    }

    /// Adds the plain text (answers to the author's own writes).
    pub fn with_text(mut self, text: &str) -> Self {
        self.text = Some(text.to_owned());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub ancestors: Vec<Status>,
    pub descendants: Vec<Status>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Relationship {
    pub id: String,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub languages: Option<Vec<String>>,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: &'static str,
}

impl Relationship {
    /// The caller's relationship with the account `uuid`. `requested_by`: whether that
    /// account asked to follow the caller.
    pub fn new(uuid: Uuid, flags: RelationFlags, requested_by: bool) -> Self {
        Self {
            id: id(uuid),
            following: flags.following,
            showing_reblogs: flags.following,
            notifying: false,
            languages: None,
            followed_by: flags.followed_by,
            blocking: flags.blocking,
            blocked_by: flags.blocked_by,
            muting: flags.muting,
            muting_notifications: flags.muting,
            requested: flags.requested,
            requested_by,
            domain_blocking: false,
            endorsed: false,
            note: "",
        }
    }
}

/// Mastodon's type of a Roost notification; `None` for kinds Mastodon clients do not
/// know (`follow_accepted`, `published`), which this API leaves out.
pub fn notification_type(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Follow => Some("follow"),
        Kind::FollowRequest => Some("follow_request"),
        Kind::Like => Some("favourite"),
        Kind::Comment | Kind::Mention => Some("mention"),
        Kind::FollowAccepted | Kind::Published => None,
    }
}

/// The Roost kinds a Mastodon type stands for.
pub fn kinds_of_type(name: &str) -> &'static [Kind] {
    match name {
        "follow" => &[Kind::Follow],
        "follow_request" => &[Kind::FollowRequest],
        "favourite" => &[Kind::Like],
        "mention" => &[Kind::Comment, Kind::Mention],
        _ => &[],
    }
}

/// The Roost kinds Mastodon clients are shown.
pub const SHOWN_KINDS: [Kind; 5] = [
    Kind::Follow,
    Kind::FollowRequest,
    Kind::Like,
    Kind::Comment,
    Kind::Mention,
];

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub created_at: String,
    pub account: Account,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl Notification {
    /// `None` for kinds Mastodon clients are not shown.
    pub fn from_notification(
        state: &AppState,
        notification: &crate::notifications::Notification,
    ) -> Option<Self> {
        let type_ = notification_type(notification.kind)?;
        // A comment (or a mention in one) is shown as the reply it is; a mention in a
        // post, as the post.
        let status = match (&notification.comment, &notification.post) {
            (Some(comment), Some(post)) => Some(Status::from_comment(
                state,
                comment,
                &post.author.id,
                post.visibility,
                true,
            )),
            (None, Some(post)) => Some(Status::from_post(state, post, true)),
            _ => None,
        };
        Some(Self {
            id: id_of(&notification.id),
            type_,
            created_at: time(notification.created_at),
            account: Account::from_summary(state, &notification.account),
            status,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScheduledStatus {
    pub id: String,
    pub scheduled_at: String,
    pub params: Value,
    pub media_attachments: Vec<MediaAttachment>,
}

impl ScheduledStatus {
    pub fn from_scheduled(scheduled: &ScheduledPost) -> Self {
        let media: Vec<MediaAttachment> = scheduled
            .media
            .iter()
            .map(MediaAttachment::from_media)
            .collect();
        Self {
            id: id_of(&scheduled.id),
            scheduled_at: time(scheduled.publish_at),
            params: json!({
                "text": scheduled.content,
                "poll": null,
                "media_ids": media.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
                "sensitive": false,
                "spoiler_text": "",
                "visibility": visibility_name(scheduled.visibility),
                "in_reply_to_id": null,
                "language": null,
                "application_id": null,
                "scheduled_at": null,
                "idempotency": null,
                "with_rate_limit": false,
            }),
            media_attachments: media,
        }
    }
}
