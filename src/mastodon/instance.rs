//! What the server says about itself: `GET /api/v1/instance` and `/api/v2/instance`
//! (Mastodon 4.2's shapes), the rules, peers and activity, and NodeInfo 2.0 through
//! `/.well-known/nodeinfo`.
//!
//! Limits are Roost's real ones (post length, images per post, image size and types);
//! what Roost does not have (polls, videos, featured tags, federation) is described as
//! empty or as the smallest limits clients accept. Counts read zero: they would cost a scan
//! of the largest tables on a public endpoint, and clients only display them.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::mastodon::entities::MISSING_HEADER_PATH;
use crate::media::MAX_MEDIA_PER_POST;
use crate::media::upload::MAX_DESCRIPTION_CHARS;
use crate::posts::domain::Content;
use crate::state::AppState;

const TITLE: &str = "Roost";
const DESCRIPTION: &str = "A Roost server: posts, follows, likes and comments, with the privacy and safety a social network needs.";
/// Roost re-encodes every image it accepts as JPEG or PNG.
const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];
/// The most pixels an image may decode to ([`crate::media::pipeline::MAX_PIXELS`]).
const IMAGE_MATRIX_LIMIT: u64 = crate::media::pipeline::MAX_PIXELS;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instance", get(instance_v1))
        .route("/api/v2/instance", get(instance_v2))
        .route("/api/v1/instance/rules", get(rules))
        .route("/api/v1/instance/peers", get(empty_list))
        .route("/api/v1/instance/activity", get(empty_list))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/2.0", get(nodeinfo))
}

/// The version clients read to decide what the server supports.
fn version() -> String {
    format!("4.2.0 (compatible; Roost {})", env!("CARGO_PKG_VERSION"))
}

/// The public URL's host (and port), which Mastodon calls the domain.
fn domain(state: &AppState) -> String {
    let base = &state.config.mastodon_public_url;
    url::Url::parse(base)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| base.clone())
}

/// The streaming API's URL: the public URL with a WebSocket scheme.
fn streaming_url(state: &AppState) -> String {
    let base = &state.config.mastodon_public_url;
    match base.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", base.strip_prefix("http://").unwrap_or(base)),
    }
}

fn thumbnail(state: &AppState) -> String {
    format!("{}{MISSING_HEADER_PATH}", state.config.mastodon_public_url)
}

fn rules_list() -> Value {
    json!([
        {"id": "1", "text": "Be kind: no harassment, hate or threats.", "hint": ""},
        {"id": "2", "text": "Nothing illegal, and no spam.", "hint": ""},
    ])
}

/// What both instance documents say about posts, images and polls.
fn configuration(state: &AppState) -> Value {
    json!({
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {
            "max_characters": Content::MAX_LEN,
            "max_media_attachments": MAX_MEDIA_PER_POST,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": IMAGE_TYPES,
            "image_size_limit": state.config.max_image_bytes,
            "image_matrix_limit": IMAGE_MATRIX_LIMIT,
            "description_limit": MAX_DESCRIPTION_CHARS,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        // Roost has no polls; the smallest limits clients accept.
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 300,
            "max_expiration": 300,
        },
    })
}

/// `GET /api/v1/instance`.
async fn instance_v1(State(state): State<AppState>) -> Json<Value> {
    let mut configuration = configuration(&state);
    configuration["accounts"] = json!({"max_featured_tags": 0});
    Json(json!({
        "uri": domain(&state),
        "title": TITLE,
        "short_description": DESCRIPTION,
        "description": DESCRIPTION,
        "email": "",
        "version": version(),
        "urls": {"streaming_api": streaming_url(&state)},
        "stats": {"user_count": 0, "status_count": 0, "domain_count": 0},
        "thumbnail": thumbnail(&state),
        "languages": ["en"],
        "registrations": true,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": configuration,
        "contact_account": null,
        "rules": rules_list(),
    }))
}

/// `GET /api/v2/instance`.
async fn instance_v2(State(state): State<AppState>) -> Json<Value> {
    let mut configuration = configuration(&state);
    configuration["urls"] = json!({"streaming": streaming_url(&state), "status": null});
    configuration["translation"] = json!({"enabled": false});
    Json(json!({
        "domain": domain(&state),
        "title": TITLE,
        "version": version(),
        "source_url": "https://github.com/mastodon/mastodon",
        "description": DESCRIPTION,
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": thumbnail(&state), "blurhash": null, "versions": {}},
        "languages": ["en"],
        "configuration": configuration,
        // Accounts are created through Roost's own API, open to anyone.
        "registrations": {"enabled": true, "approval_required": false, "message": null, "url": null},
        "contact": {"email": "", "account": null},
        "rules": rules_list(),
    }))
}

/// `GET /api/v1/instance/rules`.
async fn rules() -> Json<Value> {
    Json(rules_list())
}

/// `GET /api/v1/instance/peers` and `/activity`: Roost does not federate.
async fn empty_list() -> Json<Value> {
    Json(json!([]))
}

/// `GET /.well-known/nodeinfo`: where the NodeInfo document is.
async fn nodeinfo_links(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
            "href": format!("{}/nodeinfo/2.0", state.config.mastodon_public_url),
        }]
    }))
}

/// `GET /nodeinfo/2.0`.
async fn nodeinfo() -> Json<Value> {
    Json(json!({
        "version": "2.0",
        "software": {"name": "roost", "version": env!("CARGO_PKG_VERSION")},
        "protocols": [],
        "services": {"outbound": [], "inbound": []},
        "usage": {"users": {"total": 0, "activeMonth": 0, "activeHalfyear": 0}, "localPosts": 0},
        "openRegistrations": true,
        "metadata": {"nodeName": TITLE},
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_names_mastodon_4_2_and_roost() {
        let version = super::version();
        assert!(
            version.starts_with("4.2.0 (compatible; Roost "),
            "{version}"
        );
    }
}
