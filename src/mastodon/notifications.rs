//! Notifications: Roost's, of the kinds Mastodon clients know (`follow`,
//! `follow_request`, `favourite` for likes, `mention` for mentions and comments on your
//! posts), read with the same rule as `/api/v1/me/notifications`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::entities::{self, Notification, SHOWN_KINDS};
use super::lookup;
use super::paging::Paging;
use super::params::{QueryParams, lenient};
use super::scopes::Caller;
use crate::auth::{AuthUser, Viewer};
use crate::error::AppError;
use crate::notifications::store::ListFilter;
use crate::notifications::{Kind, service};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notifications", get(list_notifications))
        .route("/api/v1/notifications/unread_count", get(unread_count))
        .route("/api/v1/notifications/clear", post(clear_notifications))
        .route("/api/v1/notifications/{id}", get(get_notification))
        .route(
            "/api/v1/notifications/{id}/dismiss",
            post(dismiss_notification),
        )
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "lenient::strings")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    exclude_types: Vec<String>,
}

/// The Roost kinds that `types` and `exclude_types` leave, among those Mastodon clients
/// are shown. Unknown type names select nothing, as in Mastodon.
fn kinds(types: &[String], exclude_types: &[String]) -> Vec<Kind> {
    let included: Vec<Kind> = if types.is_empty() {
        SHOWN_KINDS.to_vec()
    } else {
        types
            .iter()
            .flat_map(|name| entities::kinds_of_type(name).iter().copied())
            .collect()
    };
    let excluded: Vec<Kind> = exclude_types
        .iter()
        .flat_map(|name| entities::kinds_of_type(name).iter().copied())
        .collect();
    included
        .into_iter()
        .filter(|kind| !excluded.contains(kind))
        .collect()
}

/// Reads the notifications `filter` selects, as Mastodon notifications.
async fn read(
    state: &AppState,
    user: AuthUser,
    filter: &ListFilter,
    limit: u64,
) -> Result<Vec<(Uuid, Notification)>, AppError> {
    let found = service::read(state, user, filter, limit).await?;
    Ok(found
        .iter()
        .filter_map(|notification| {
            let id = Uuid::parse_str(&notification.id).ok()?;
            Some((id, Notification::from_notification(state, notification)?))
        })
        .collect())
}

async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging<40, 80>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Response, AppError> {
    let user = caller.require("read:notifications")?;
    let kinds = kinds(&query.types, &query.exclude_types);
    if kinds.is_empty() {
        return Ok(paging.respond(Vec::<Notification>::new(), &[]));
    }
    let window = paging.window();
    // `since` is exclusive and reads oldest first: the page just above the bound.
    let since = window
        .from
        .map(|from| Uuid::from_u128(from.as_u128().saturating_sub(1)));
    let filter = ListFilter {
        kinds: Some(kinds),
        before: window.before,
        since,
        ..ListFilter::default()
    };
    let mut found = read(&state, user, &filter, paging.limit).await?;
    found.sort_unstable_by_key(|(id, _)| std::cmp::Reverse(*id));
    let keys: Vec<Uuid> = found.iter().map(|(id, _)| *id).collect();
    let items: Vec<Notification> = found.into_iter().map(|(_, item)| item).collect();
    Ok(paging.respond(items, &keys))
}

async fn get_notification(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Notification>, AppError> {
    let user = caller.require("read:notifications")?;
    let id = lookup::find(&state, "notifications", &id).await?;
    let filter = ListFilter {
        kinds: Some(SHOWN_KINDS.to_vec()),
        only: Some(id),
        ..ListFilter::default()
    };
    read(&state, user, &filter, 1)
        .await?
        .pop()
        .map(|(_, notification)| Json(notification))
        .ok_or_else(|| AppError::not_found("No such notification."))
}

/// Dismisses every notification of the caller.
async fn clear_notifications(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, AppError> {
    let user = caller.require("write:notifications")?;
    service::dismiss_all(&state, user).await?;
    Ok(Json(json!({})))
}

async fn dismiss_notification(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let user = caller.require("write:notifications")?;
    let id = lookup::find(&state, "notifications", &id).await?;
    service::dismiss(&state, user, &id.to_string()).await?;
    Ok(Json(json!({})))
}

/// How many unread notifications of the kinds Mastodon clients are shown.
async fn unread_count(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, AppError> {
    let user = caller.require("read:notifications")?;
    let count = service::unread_count_of(&state, &Viewer::Verified(user), &SHOWN_KINDS).await?;
    Ok(Json(json!({ "count": count })))
}
