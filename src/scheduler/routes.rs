//! HTTP handlers for `/scheduled-posts`: each calls one function of [`super::service`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::ScheduledPost;
use super::service::{self, NewSchedule, ScheduleChanges};
use crate::auth::AuthUser;
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::{AppJson, Created};
use crate::idempotency::IdempotencyKey;
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse};
use crate::privacy::Visibility;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_scheduled_post, list_scheduled_posts))
        .routes(routes!(
            get_scheduled_post,
            update_scheduled_post,
            delete_scheduled_post
        ))
}

/// Body of `POST /scheduled-posts`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"content": "Happy new year! #2027", "publish_at": "2027-01-01T00:00:00+01:00"}))]
pub struct CreateScheduledPostRequest {
    /// Trimmed; 1–500 characters, or empty when `media_ids` is not.
    #[schema(max_length = 500)]
    pub content: String,
    /// Up to 4 of your own unattached uploads; they are reserved for this schedule.
    #[serde(default)]
    #[schema(max_items = 4)]
    pub media_ids: Option<Vec<String>>,
    /// RFC 3339, any offset; in the future and at most 365 days ahead.
    #[schema(format = DateTime, example = "2027-01-01T00:00:00+01:00")]
    pub publish_at: String,
    /// Who may see the post once published: `public` (the default) or `followers`.
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// Schedule a post
///
/// Stores a post to be published at `publish_at`. Attached media is reserved for it (it
/// cannot be attached elsewhere meanwhile). At `publish_at` (within about a second) it
/// becomes an ordinary post, with `created_at` the moment of publishing, and leaves this
/// list. Publishing survives restarts and happens exactly once, even with several server
/// processes. `Idempotency-Key` works as for `POST /posts`.
#[utoipa::path(
    post,
    path = "/scheduled-posts",
    tag = "Scheduled posts",
    operation_id = "create_scheduled_post",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe (1–255 characters).",
        example = "3f9a1c2e-new-year")),
    request_body(content = CreateScheduledPostRequest, example = json!({"content": "Happy new year! #2027", "publish_at": "2027-01-01T00:00:00+01:00"})),
    responses(
        (status = 201, description = "The schedule (or, for a retry, the original one).", body = ScheduledPost,
            headers(("Location" = String, description = "URL of the schedule.")),
            example = json!(examples::scheduled_post())),
        (status = 400, description = "Malformed JSON or `Idempotency-Key`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::malformed_json())),
        (status = 404, description = "A retry with an `Idempotency-Key` whose schedule has since been published or cancelled (it is not created again).",
            body = Problem, content_type = "application/problem+json", example = json!(examples::idempotent_schedule_gone())),
        (status = 422, description = "A field breaks a rule (e.g. `publish_at` in the past), or the key was used for another body.",
            body = Problem, content_type = "application/problem+json", examples(
                ("past publish_at" = (value = json!(examples::validation(&[("publish_at", "must be in the future")])))),
                ("key reused" = (value = json!(examples::idempotency_key_reused()))),
            )),
    )
)]
pub async fn create_scheduled_post(
    State(state): State<AppState>,
    user: AuthUser,
    key: Option<IdempotencyKey>,
    AppJson(request): AppJson<CreateScheduledPostRequest>,
) -> Result<Created<ScheduledPost>, AppError> {
    let new = NewSchedule {
        content: request.content,
        media_ids: request.media_ids,
        publish_at: request.publish_at,
        visibility: request.visibility,
    };
    let schedule = service::create(&state, user, new, key.as_ref()).await?;
    Ok(Created::at(
        &state.config.public_url,
        format!("/api/v1/scheduled-posts/{}", schedule.id),
        schedule,
    ))
}

/// Your scheduled posts
///
/// Your own schedules that have not been published yet, soonest first.
#[utoipa::path(
    get,
    path = "/scheduled-posts",
    tag = "Scheduled posts",
    operation_id = "list_scheduled_posts",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of schedules.", body = Page<ScheduledPost>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::scheduled_post_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_scheduled_posts(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<ScheduledPost>, AppError> {
    service::list(&state, user, &page).await
}

/// A scheduled post
///
/// One of your schedules. Someone else's schedule answers 404, as if it did not exist.
#[utoipa::path(
    get,
    path = "/scheduled-posts/{id}",
    tag = "Scheduled posts",
    operation_id = "get_scheduled_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The schedule's id.", example = "019acc10-77aa-7c01-8e4b-1d2c3b4a5f60")),
    responses(
        (status = 200, description = "The schedule.", body = ScheduledPost, example = json!(examples::scheduled_post())),
        (status = 404, description = "You have no schedule with this id (it may have been published).", body = Problem,
            content_type = "application/problem+json", example = json!(examples::scheduled_post_not_found())),
    )
)]
pub async fn get_scheduled_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<AppJson<ScheduledPost>, AppError> {
    service::get(&state, user, &id).await.map(AppJson)
}

/// Body of `PATCH /scheduled-posts/{id}`: any of the fields; those left out stay.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"content": "Happy new year, everyone! #2027", "publish_at": "2027-01-01T00:00:30+01:00"}))]
pub struct UpdateScheduledPostRequest {
    #[schema(max_length = 500)]
    pub content: Option<String>,
    /// Replaces the reserved media (the previous ones are released); `[]` removes them all.
    #[schema(max_items = 4)]
    pub media_ids: Option<Vec<String>>,
    /// RFC 3339, any offset; in the future and at most 365 days ahead.
    #[schema(format = DateTime)]
    pub publish_at: Option<String>,
    /// `public` or `followers`.
    pub visibility: Option<Visibility>,
}

/// Edit a scheduled post
///
/// Changes the content, the media and/or the publication time of one of your schedules.
/// An edit racing the publisher either lands before publication (the post appears in its
/// edited form) or finds the schedule already published (404).
#[utoipa::path(
    patch,
    path = "/scheduled-posts/{id}",
    tag = "Scheduled posts",
    operation_id = "update_scheduled_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The schedule's id.", example = "019acc10-77aa-7c01-8e4b-1d2c3b4a5f60")),
    request_body(content = UpdateScheduledPostRequest, example = json!({"content": "Happy new year, everyone! #2027", "publish_at": "2027-01-01T00:00:30+01:00"})),
    responses(
        (status = 200, description = "The edited schedule.", body = ScheduledPost, example = json!(examples::scheduled_post())),
        (status = 404, description = "You have no schedule with this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::scheduled_post_not_found())),
        (status = 422, description = "A field breaks a rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("publish_at", "must be at most 365 days ahead")]))),
    )
)]
pub async fn update_scheduled_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<UpdateScheduledPostRequest>,
) -> Result<AppJson<ScheduledPost>, AppError> {
    let changes = ScheduleChanges {
        content: request.content,
        media_ids: request.media_ids,
        publish_at: request.publish_at,
        visibility: request.visibility,
    };
    service::update(&state, user, &id, changes)
        .await
        .map(AppJson)
}

/// Cancel a scheduled post
///
/// Deletes one of your schedules; it will never be published, and its media is released
/// (attach it elsewhere within 24 hours of its upload, or it is cleaned up). A second call,
/// or a call after publication, answers 404.
#[utoipa::path(
    delete,
    path = "/scheduled-posts/{id}",
    tag = "Scheduled posts",
    operation_id = "delete_scheduled_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The schedule's id.", example = "019acc10-77aa-7c01-8e4b-1d2c3b4a5f60")),
    responses(
        (status = 204, description = "Cancelled."),
        (status = 404, description = "You have no schedule with this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::scheduled_post_not_found())),
    )
)]
pub async fn delete_scheduled_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    service::delete(&state, user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
