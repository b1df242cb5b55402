//! HTTP handlers for notifications (`/me/notifications…`): each calls one function of
//! [`super::service`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Notification, service};
use crate::auth::{AuthUser, SignedInViewer};
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::{AppJson, AppQuery, has_json_content_type, parse_json};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(dismiss_notification))
}

/// The filters of the notification list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Only these types, comma-separated: `follow`, `follow_request`, `follow_accepted`,
    /// `like`, `comment`, `mention`, `published`. An unknown type is a 400.
    #[param(example = "like,comment")]
    pub types: Option<String>,
    /// `true` for unread notifications only, `false` for read ones only.
    #[param(example = "true")]
    pub unread: Option<String>,
}

/// Your notifications
///
/// Newest first. A notification is written with the action it tells of, and removed when
/// the action is undone (an unlike, an unfollow, a deleted post or comment). Those from
/// accounts you block, that block you or that you mute are not shown, nor those about
/// posts you can no longer see; they come back if the block or mute is lifted.
#[utoipa::path(
    get,
    path = "/me/notifications",
    tag = "Notifications",
    operation_id = "list_notifications",
    security(("bearer" = [])),
    params(NotificationsQuery, PageQuery),
    responses(
        (status = 200, description = "One page of notifications.", body = Page<Notification>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::notification_page())),
        (status = 400, description = "An unknown type in `types`, an `unread` other than `true` or `false`, or an invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_types())),
    )
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    viewer: SignedInViewer,
    AppQuery(query): AppQuery<NotificationsQuery>,
    page: PageRequest,
) -> Result<PageResponse<Notification>, AppError> {
    let kinds = query
        .types
        .as_deref()
        .map(service::parse_kinds)
        .transpose()?;
    let read = match query.unread.as_deref() {
        None => None,
        Some("true") => Some(false),
        Some("false") => Some(true),
        Some(_) => {
            return Err(AppError::bad_request(
                "invalid_query",
                "`unread` must be `true` or `false`.",
            ));
        }
    };
    service::list(&state, &viewer.into(), kinds, read, &page).await
}

/// How many notifications are unread.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"count": 3}))]
pub struct UnreadCount {
    pub count: i64,
}

/// Your unread notifications
///
/// How many of the notifications the list would show you are unread.
#[utoipa::path(
    get,
    path = "/me/notifications/unread-count",
    tag = "Notifications",
    operation_id = "count_unread_notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The number of unread notifications.", body = UnreadCount,
            example = json!({"count": 3})),
    )
)]
pub async fn unread_count(
    State(state): State<AppState>,
    viewer: SignedInViewer,
) -> Result<AppJson<UnreadCount>, AppError> {
    let count = service::unread_count(&state, &viewer.into()).await?;
    Ok(AppJson(UnreadCount { count }))
}

/// Which notifications to mark read.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"up_to_id": "019acc10-3c1e-7a40-8d2b-6f5e4c3b2a19"}))]
pub struct MarkRead {
    /// This notification and every older one; without it, all of them.
    pub up_to_id: Option<String>,
}

/// Mark notifications read
///
/// Marks the notification `up_to_id` and every older one read, or all of them when the
/// body is empty or has no `up_to_id`. 404 when `up_to_id` is not one of yours.
#[utoipa::path(
    post,
    path = "/me/notifications/read",
    tag = "Notifications",
    operation_id = "mark_notifications_read",
    security(("bearer" = [])),
    request_body(content = Option<MarkRead>, description = "Optional; an empty body marks every notification read.",
        example = json!({"up_to_id": "019acc10-3c1e-7a40-8d2b-6f5e4c3b2a19"})),
    responses(
        (status = 204, description = "They are read."),
        (status = 404, description = "`up_to_id` is not one of your notifications.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::notification_not_found())),
        (status = 415, description = "A body that is not `application/json`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::unsupported_media_type())),
        (status = 422, description = "`up_to_id` is not a string.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("up_to_id", "invalid type: map, expected a string")]))),
    )
)]
pub async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        MarkRead::default()
    } else if has_json_content_type(&headers) {
        parse_json::<MarkRead>(&body)?
    } else {
        return Err(AppError::UnsupportedMediaType {
            detail: "Expected a body with `Content-Type: application/json`.".into(),
        });
    };
    service::mark_read(&state, user, body.up_to_id.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Dismiss a notification
///
/// Deletes one of your notifications. 404 when it is not one of yours (or is already
/// dismissed).
#[utoipa::path(
    delete,
    path = "/me/notifications/{id}",
    tag = "Notifications",
    operation_id = "dismiss_notification",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The notification.", example = "019acc10-3c1e-7a40-8d2b-6f5e4c3b2a19")),
    responses(
        (status = 204, description = "It is gone."),
        (status = 404, description = "Not one of your notifications.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::notification_not_found())),
    )
)]
pub async fn dismiss_notification(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    service::dismiss(&state, user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
