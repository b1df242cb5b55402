//! What Roost does not have (yet) answered as Mastodon answers an instance without it:
//! valid empty lists and objects, never 404, so that apps' screens load. Filters, lists,
//! markers, announcements, trends, bookmarks, conversations, followed tags, suggestions,
//! custom emojis and preferences.

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::scopes::Caller;
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    let public_lists = [
        "/api/v1/custom_emojis",
        "/api/v1/announcements",
        "/api/v1/trends",
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends/links",
        "/api/v1/directory",
    ];
    let own_lists = [
        "/api/v1/filters",
        "/api/v2/filters",
        "/api/v1/lists",
        "/api/v1/bookmarks",
        "/api/v1/conversations",
        "/api/v1/followed_tags",
        "/api/v1/suggestions",
        "/api/v2/suggestions",
        "/api/v1/featured_tags",
        "/api/v1/endorsements",
        "/api/v1/domain_blocks",
    ];
    let mut router = Router::new()
        .route("/api/v1/preferences", get(preferences))
        .route("/api/v1/markers", get(no_markers).post(no_markers));
    for path in public_lists {
        router = router.route(path, get(|| async { Json(Vec::<Value>::new()) }));
    }
    for path in own_lists {
        router = router.route(path, get(own_empty_list));
    }
    router.route(
        "/api/v1/announcements/{id}/dismiss",
        post(|| async { Json(json!({})) }),
    )
}

async fn own_empty_list(caller: Caller) -> Result<Json<Vec<Value>>, AppError> {
    caller.require("read")?;
    Ok(Json(Vec::new()))
}

/// Markers (where the reader stopped in each timeline) are not kept: none are set.
async fn no_markers(caller: Caller) -> Result<Json<Value>, AppError> {
    caller.require("read:statuses")?;
    Ok(Json(json!({})))
}

async fn preferences(caller: Caller) -> Result<Json<Value>, AppError> {
    caller.require("read:accounts")?;
    Ok(Json(json!({
        "posting:default:visibility": "public",
        "posting:default:sensitive": false,
        "posting:default:language": null,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    })))
}
