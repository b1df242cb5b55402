//! HTTP handlers for `/scheduled-posts`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{ScheduledPost, entity as scheduled, publisher, store};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::db::{self, new_id};
use crate::docs::examples;
use crate::error::{AppError, FieldError, Problem};
use crate::extract::AppJson;
use crate::media::store::{self as media_store, AttachError};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse, encode_cursor};
use crate::posts::domain::Content;
use crate::posts::idempotency::{self, Claim, Created};

/// How far ahead a post may be scheduled.
pub const MAX_AHEAD: TimeDelta = TimeDelta::days(365);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_scheduled_post, list_scheduled_posts))
        .routes(routes!(
            get_scheduled_post,
            update_scheduled_post,
            delete_scheduled_post
        ))
}

fn not_found() -> AppError {
    AppError::not_found("You have no scheduled post with this id.")
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

/// Loads one schedule with its media, as the API shows it.
async fn load(state: &AppState, model: scheduled::Model) -> Result<ScheduledPost, AppError> {
    let media = media_store::for_schedules(&state.db, &[model.id]).await?;
    let media = media.get(&model.id).map(Vec::as_slice).unwrap_or_default();
    Ok(ScheduledPost::from_model(model, media, state))
}

/// Parses `publish_at`: an RFC 3339 timestamp with any offset, in the future and at most
/// 365 days ahead of `now`.
fn parse_publish_at(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(input.trim())
        .map_err(|_| "must be an RFC 3339 timestamp, e.g. 2026-12-24T18:00:00Z".to_owned())?
        .with_timezone(&Utc);
    // Both databases keep microseconds and no leap seconds: answer with exactly what will
    // be stored (a leap second becomes the next second's start).
    let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
    if at <= now {
        return Err("must be in the future".into());
    }
    if at > now + MAX_AHEAD {
        return Err("must be at most 365 days ahead".into());
    }
    Ok(at)
}

fn unavailable(id: Uuid) -> AppError {
    AppError::validation(
        "media_ids",
        &format!("{id} is not an unattached upload of yours"),
    )
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
    headers: HeaderMap,
    AppJson(request): AppJson<CreateScheduledPostRequest>,
) -> Result<(StatusCode, HeaderMap, AppJson<ScheduledPost>), AppError> {
    let key = idempotency::key_from(&headers)?;
    let now = state.clock.now();
    let mut errors = Vec::new();
    let media_ids = crate::media::parse_media_ids(
        request.media_ids.as_deref().unwrap_or_default(),
        &mut errors,
    );
    let content = if media_ids.is_empty() {
        Content::parse(&request.content)
    } else {
        Content::parse_allow_empty(&request.content)
    }
    .map_err(|message| errors.push(FieldError::new("content", message)));
    let publish_at = parse_publish_at(&request.publish_at, now)
        .map_err(|message| errors.push(FieldError::new("publish_at", message)));
    let (Ok(content), Ok(publish_at)) = (content, publish_at) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let request_hash = fingerprint(content.as_str(), &media_ids, publish_at);

    let transaction = db::begin_write(&state.db).await?;
    let claim = match &key {
        Some(key) => {
            idempotency::claim(&transaction, user.user_id, key, &request_hash, now).await?
        }
        None => Claim::New,
    };
    if let Claim::Replay {
        request_hash: first_hash,
        created,
    } = claim
    {
        transaction.rollback().await?;
        let Created::Schedule(id) = created else {
            return Err(idempotency::reused());
        };
        if first_hash != request_hash {
            return Err(idempotency::reused());
        }
        let model = store::find_owned(&state.db, id, user.user_id)
            .await?
            .ok_or_else(|| {
                AppError::not_found(
                    "The schedule created with this key has since been published or cancelled.",
                )
            })?;
        return Ok(created_response(&state, load(&state, model).await?));
    }
    let model = scheduled::Model {
        id: new_id(),
        author_id: user.user_id,
        content: content.into_inner(),
        publish_at,
        created_at: now,
    };
    store::insert(&transaction, model.clone()).await?;
    if let Err(AttachError::Unavailable(id)) =
        media_store::reserve(&transaction, model.id, user.user_id, &media_ids).await?
    {
        transaction.rollback().await?;
        return Err(unavailable(id));
    }
    if let Some(key) = &key {
        idempotency::complete(&transaction, user.user_id, key, Created::Schedule(model.id)).await?;
    }
    // Read inside the transaction: a schedule due very soon may be published (and its
    // media handed to the post) as soon as this commits.
    let media = media_store::for_schedules(&transaction, &[model.id]).await?;
    let schedule = ScheduledPost::from_model(
        model.clone(),
        media.get(&model.id).map(Vec::as_slice).unwrap_or_default(),
        &state,
    );
    transaction.commit().await?;
    publisher::wake(&state.publisher_wake);
    Ok(created_response(&state, schedule))
}

fn created_response(
    state: &AppState,
    schedule: ScheduledPost,
) -> (StatusCode, HeaderMap, AppJson<ScheduledPost>) {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{}/api/v1/scheduled-posts/{}",
        state.config.public_url, schedule.id
    )) {
        headers.insert(header::LOCATION, value);
    }
    (StatusCode::CREATED, headers, AppJson(schedule))
}

fn fingerprint(content: &str, media_ids: &[Uuid], publish_at: DateTime<Utc>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"schedule\0");
    hasher.update(content.as_bytes());
    hasher.update(publish_at.to_rfc3339().as_bytes());
    for id in media_ids {
        hasher.update(id.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
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
    let invalid = || {
        AppError::bad_request(
            "invalid_cursor",
            "`cursor` is not a cursor this list issued.",
        )
    };
    let after = match page.after_parts::<2>()? {
        None => None,
        Some([at, id]) => Some((
            DateTime::parse_from_rfc3339(&at)
                .map_err(|_| invalid())?
                .with_timezone(&Utc),
            Uuid::parse_str(&id).map_err(|_| invalid())?,
        )),
    };
    let rows = store::list(&state.db, user.user_id, after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.take_page(rows, |row| {
        encode_cursor(&[&row.publish_at.to_rfc3339(), &row.id.to_string()])
    });
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let media = media_store::for_schedules(&state.db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let attached = media.get(&row.id).map(Vec::as_slice).unwrap_or_default();
            ScheduledPost::from_model(row, attached, &state)
        })
        .collect();
    Ok(page.respond(items, next_cursor))
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
    let model = store::find_owned(&state.db, parse_id(&id)?, user.user_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(AppJson(load(&state, model).await?))
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
    let id = parse_id(&id)?;
    let now = state.clock.now();
    let mut errors = Vec::new();
    let media_ids = request
        .media_ids
        .as_deref()
        .map(|raw| crate::media::parse_media_ids(raw, &mut errors));
    let publish_at = match &request.publish_at {
        Some(raw) => match parse_publish_at(raw, now) {
            Ok(at) => Some(at),
            Err(message) => {
                errors.push(FieldError::new("publish_at", message));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }

    let transaction = db::begin_write(&state.db).await?;
    let current = store::lock_owned(&transaction, id, user.user_id)
        .await?
        .ok_or_else(not_found)?;
    let has_media = match &media_ids {
        Some(ids) => !ids.is_empty(),
        None => media_store::for_schedules(&transaction, &[id])
            .await?
            .contains_key(&id),
    };
    let raw_content = request.content.as_deref().unwrap_or(&current.content);
    let content = if has_media {
        Content::parse_allow_empty(raw_content)
    } else {
        Content::parse(raw_content)
    }
    .map_err(|message| AppError::validation("content", message))?;
    if let Some(ids) = &media_ids {
        media_store::release(&transaction, id).await?;
        if let Err(AttachError::Unavailable(media_id)) =
            media_store::reserve(&transaction, id, user.user_id, ids).await?
        {
            transaction.rollback().await?;
            return Err(unavailable(media_id));
        }
    }
    store::update(&transaction, id, Some(content.into_inner()), publish_at).await?;
    // The answer is read inside the transaction: once it commits, the publisher may take
    // the schedule at any moment, and the edit must still be reported as applied.
    let model = store::find_owned(&transaction, id, user.user_id)
        .await?
        .ok_or_else(not_found)?;
    let media = media_store::for_schedules(&transaction, &[id]).await?;
    let edited = ScheduledPost::from_model(
        model,
        media.get(&id).map(Vec::as_slice).unwrap_or_default(),
        &state,
    );
    transaction.commit().await?;
    publisher::wake(&state.publisher_wake);
    Ok(AppJson(edited))
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
    let id = parse_id(&id)?;
    let transaction = db::begin_write(&state.db).await?;
    if store::lock_owned(&transaction, id, user.user_id)
        .await?
        .is_none()
    {
        transaction.rollback().await?;
        return Err(not_found());
    }
    media_store::release(&transaction, id).await?;
    store::delete(&transaction, id).await?;
    transaction.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_at_must_be_future_and_within_a_year() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(parse_publish_at("2026-11-28T12:00:01Z", now).is_ok());
        assert!(parse_publish_at("2026-11-28T12:00:00Z", now).is_err());
        assert!(parse_publish_at("2026-11-28T11:00:00Z", now).is_err());
        assert!(parse_publish_at("2027-11-28T12:00:00Z", now).is_ok());
        assert!(parse_publish_at("2027-11-28T12:00:01Z", now).is_err());
        assert!(parse_publish_at("tomorrow", now).is_err());
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = parse_publish_at("2026-11-28T14:00:00+01:00", now).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-28T13:00:00+00:00");
    }
}
