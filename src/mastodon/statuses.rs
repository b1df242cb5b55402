//! Statuses: Roost's posts, and its comments as replies to them.
//!
//! - `POST /api/v1/statuses` publishes a post (or, with `scheduled_at`, schedules one; with
//!   `in_reply_to_id`, comments on the post replied to, or on the post of the comment
//!   replied to). Visibility `public` and `unlisted` are Roost's `public`, `private` its
//!   `followers`; `direct` is refused until Roost has direct messages.
//! - `GET`/`PUT`/`DELETE /api/v1/statuses/:id`, `:id/context`, `:id/favourite`,
//!   `:id/unfavourite`, `:id/favourited_by`, and `GET /api/v1/favourites`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::entities::{Account, Context, Status};
use super::lookup::{self, StatusId};
use super::paging::{AccountPaging, Paging};
use super::params::{Params, lenient};
use super::scopes::{Caller, MaybeCaller, ScopedViewer};
use crate::auth::{AuthUser, Viewer};
use crate::error::{AppError, FieldError};
use crate::idempotency::IdempotencyKey;
use crate::pagination::PageRequest;
use crate::posts::comments::{self, Comment};
use crate::posts::domain::Draft;
use crate::posts::likes;
use crate::posts::store::PostList;
use crate::posts::{Post, service as posts};
use crate::privacy::Visibility;
use crate::scheduler::service as scheduler;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/statuses", post(create_status))
        .route(
            "/api/v1/statuses/{id}",
            get(get_status).put(edit_status).delete(delete_status),
        )
        .route("/api/v1/statuses/{id}/context", get(status_context))
        .route("/api/v1/statuses/{id}/favourite", post(favourite_status))
        .route(
            "/api/v1/statuses/{id}/unfavourite",
            post(unfavourite_status),
        )
        .route("/api/v1/statuses/{id}/favourited_by", get(favourited_by))
        .route("/api/v1/statuses/{id}/reblogged_by", get(reblogged_by))
        .route("/api/v1/favourites", get(list_favourites))
}

#[derive(Debug, Deserialize)]
struct StatusRequest {
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    media_ids: Vec<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    in_reply_to_id: Option<String>,
    #[serde(default)]
    scheduled_at: Option<String>,
    #[serde(default)]
    poll: Option<serde_json::Value>,
}

/// Mastodon's visibility names in Roost's terms.
fn parse_visibility(name: Option<&str>) -> Result<Option<Visibility>, AppError> {
    match name.map(str::trim) {
        None | Some("") => Ok(None),
        Some("public" | "unlisted") => Ok(Some(Visibility::Public)),
        Some("private") => Ok(Some(Visibility::Followers)),
        Some("direct") => Err(AppError::validation(
            "visibility",
            "direct messages are not supported yet",
        )),
        Some(_) => Err(AppError::validation(
            "visibility",
            "must be public, unlisted or private",
        )),
    }
}

/// The Roost ids of the caller's uploads named by Mastodon ids (as text, for [`Draft`]).
async fn media_ids(state: &AppState, ids: &[String]) -> Result<Vec<String>, AppError> {
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let uuid = lookup::find(state, "media", id).await.map_err(|_| {
            AppError::validation("media_ids", &format!("{id} is not an upload of yours"))
        })?;
        found.push(uuid.to_string());
    }
    Ok(found)
}

/// Mastodon's minimum lead time for a scheduled status.
const MIN_SCHEDULE_LEAD: chrono::Duration = chrono::Duration::minutes(5);

async fn create_status(
    State(state): State<AppState>,
    caller: Caller,
    key: Option<IdempotencyKey>,
    Params(request): Params<StatusRequest>,
) -> Result<Response, AppError> {
    let user = caller.require("write:statuses")?;
    if request.poll.is_some() {
        return Err(AppError::validation("poll", "polls are not supported yet"));
    }
    let visibility = parse_visibility(request.visibility.as_deref())?;
    let text = request.status.unwrap_or_default();
    let media = media_ids(&state, &request.media_ids).await?;
    if let Some(reply_to) = request.in_reply_to_id.filter(|id| !id.is_empty()) {
        if !media.is_empty() {
            return Err(AppError::validation(
                "media_ids",
                "replies cannot carry images",
            ));
        }
        return reply(&state, user, &reply_to, &text).await;
    }
    if let Some(at) = request.scheduled_at.filter(|at| !at.is_empty()) {
        let publish_at = DateTime::parse_from_rfc3339(&at)
            .map_err(|_| AppError::validation("scheduled_at", "must be an ISO 8601 time"))?
            .with_timezone(&Utc);
        if publish_at < state.clock.now() + MIN_SCHEDULE_LEAD {
            return Err(AppError::validation(
                "scheduled_at",
                "must be at least 5 minutes in the future",
            ));
        }
        let schedule = scheduler::create(
            &state,
            user,
            scheduler::NewSchedule {
                content: text,
                media_ids: Some(media),
                publish_at: at,
                visibility,
            },
            key.as_ref(),
        )
        .await?;
        return Ok(
            Json(super::entities::ScheduledStatus::from_scheduled(&schedule)).into_response(),
        );
    }
    let mut errors: Vec<FieldError> = Vec::new();
    let draft = Draft::parse(&text, Some(&media), visibility, &mut errors);
    let draft = match draft {
        Some(draft) if errors.is_empty() => draft,
        _ => return Err(AppError::Validation(rename_content(errors))),
    };
    let post = posts::create(&state, user, draft, key.as_ref()).await?;
    Ok(Json(Status::from_post(&state, &post, true)).into_response())
}

/// Roost's field `content` is Mastodon's `status`.
fn rename_content(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|error| {
            if error.field == "content" {
                FieldError::new("status", error.message)
            } else {
                error
            }
        })
        .collect()
}

/// A reply: a comment on the post replied to, or on the post of the comment replied to.
async fn reply(
    state: &AppState,
    user: AuthUser,
    to: &str,
    text: &str,
) -> Result<Response, AppError> {
    let post_id = match lookup::status(state, to).await? {
        StatusId::Post(id) => id,
        StatusId::Comment(id) => {
            let comment = comments::service::get(state, Some(user), &id.to_string()).await?;
            Uuid::parse_str(&comment.post_id).map_err(|_| posts::not_found())?
        }
    };
    let comment = comments::service::create(state, user, &post_id.to_string(), text)
        .await
        .map_err(|error| match error {
            AppError::Validation(errors) => AppError::Validation(rename_content(errors)),
            other => other,
        })?;
    let status = comment_status(state, &Viewer::Verified(user), &comment, true).await?;
    Ok(Json(status).into_response())
}

/// A comment as the reply it is to its post (read as `viewer`, who may see the comment and
/// so the post).
async fn comment_status(
    state: &AppState,
    viewer: &Viewer,
    comment: &Comment,
    signed_in: bool,
) -> Result<Status, AppError> {
    let post = posts::get(state, viewer, &comment.post_id).await?;
    Ok(Status::from_comment(
        state,
        comment,
        &post.author.id,
        post.visibility,
        signed_in,
    ))
}

fn viewer_of(user: Option<AuthUser>) -> Viewer {
    user.map_or(Viewer::Anonymous, Viewer::Verified)
}

/// The status `id` as the caller sees it.
async fn status_of(state: &AppState, user: Option<AuthUser>, id: &str) -> Result<Status, AppError> {
    let viewer = viewer_of(user);
    match lookup::status(state, id).await? {
        StatusId::Post(post) => {
            let post = posts::get(state, &viewer, &post.to_string()).await?;
            Ok(Status::from_post(state, &post, user.is_some()))
        }
        StatusId::Comment(comment) => {
            let comment = comments::service::get(state, user, &comment.to_string()).await?;
            comment_status(state, &viewer, &comment, user.is_some()).await
        }
    }
}

/// A post is read by one statement that also checks the token, as on Roost's
/// `/posts/{id}`; only when no post has the id is it looked for among the comments.
async fn get_status(
    State(state): State<AppState>,
    reader: ScopedViewer,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let viewer = reader.require("read:statuses")?;
    let number = crate::db::ids::parse_number(&id).ok_or_else(posts::not_found)?;
    if let Some(post) = posts::get_by_number(&state, &viewer, number).await? {
        let signed_in = post.liked.is_some();
        return Ok(Json(Status::from_post(&state, &post, signed_in)));
    }
    let user = viewer.settle(&state, None).await?;
    status_of(&state, user, &id).await.map(Json)
}

#[derive(Debug, Deserialize)]
struct EditRequest {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
}

async fn edit_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(request): Params<EditRequest>,
) -> Result<Json<Status>, AppError> {
    let user = caller.require("write:statuses")?;
    let visibility = parse_visibility(request.visibility.as_deref())?;
    let rename = |error: AppError| match error {
        AppError::Validation(errors) => AppError::Validation(rename_content(errors)),
        other => other,
    };
    match lookup::status(&state, &id).await? {
        StatusId::Post(post) => {
            let post = posts::update(
                &state,
                user,
                &post.to_string(),
                request.status.as_deref(),
                visibility,
            )
            .await
            .map_err(rename)?;
            Ok(Json(Status::from_post(&state, &post, true)))
        }
        StatusId::Comment(comment) => {
            let text = request
                .status
                .ok_or_else(|| AppError::validation("status", "is required"))?;
            let comment = comments::service::update(&state, user, &comment.to_string(), &text)
                .await
                .map_err(rename)?;
            comment_status(&state, &Viewer::Verified(user), &comment, true)
                .await
                .map(Json)
        }
    }
}

/// Deletes the caller's status and answers it as it was, with its text (apps offer to
/// "delete and redraft").
async fn delete_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = caller.require("write:statuses")?;
    let viewer = Viewer::Verified(user);
    match lookup::status(&state, &id).await? {
        StatusId::Post(post) => {
            let post_id = post.to_string();
            let post = posts::get(&state, &viewer, &post_id).await?;
            posts::delete(&state, user, &post_id).await?;
            Ok(Json(
                Status::from_post(&state, &post, true).with_text(&post.content),
            ))
        }
        StatusId::Comment(comment) => {
            let comment_id = comment.to_string();
            let comment = comments::service::get(&state, Some(user), &comment_id).await?;
            let status = comment_status(&state, &viewer, &comment, true).await?;
            comments::service::delete(&state, user, &comment_id).await?;
            Ok(Json(status.with_text(&comment.content)))
        }
    }
}

/// Most comments shown under a post in its context.
const MAX_DESCENDANTS: u64 = 100;

/// A post's context: no ancestors, its comments (oldest first) as descendants. A
/// comment's: its post as the one ancestor, no descendants (a reply to a comment joins
/// the post).
async fn status_context(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<String>,
) -> Result<Json<Context>, AppError> {
    let user = caller.viewer_with("read:statuses")?;
    let viewer = viewer_of(user);
    match lookup::status(&state, &id).await? {
        StatusId::Post(post) => {
            let post = posts::get(&state, &viewer, &post.to_string()).await?;
            let page = PageRequest::below(MAX_DESCENDANTS, None);
            let comments = comments::service::list(&state, user, &post.id, &page).await?;
            let descendants = comments
                .page
                .items
                .iter()
                .map(|comment| {
                    Status::from_comment(
                        &state,
                        comment,
                        &post.author.id,
                        post.visibility,
                        user.is_some(),
                    )
                })
                .collect();
            Ok(Json(Context {
                ancestors: Vec::new(),
                descendants,
            }))
        }
        StatusId::Comment(comment) => {
            let comment = comments::service::get(&state, user, &comment.to_string()).await?;
            let post = posts::get(&state, &viewer, &comment.post_id).await?;
            Ok(Json(Context {
                ancestors: vec![Status::from_post(&state, &post, user.is_some())],
                descendants: Vec::new(),
            }))
        }
    }
}

/// Only posts can be favourited (Roost's likes are on posts).
async fn post_of(state: &AppState, id: &str) -> Result<String, AppError> {
    match lookup::status(state, id).await? {
        StatusId::Post(post) => Ok(post.to_string()),
        StatusId::Comment(_) => Err(AppError::validation(
            "id",
            "replies cannot be favourited yet",
        )),
    }
}

async fn favourite_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = caller.require("write:favourites")?;
    let post_id = post_of(&state, &id).await?;
    likes::service::like(&state, user, &post_id).await?;
    let post: Post = posts::get(&state, &Viewer::Verified(user), &post_id).await?;
    Ok(Json(Status::from_post(&state, &post, true)))
}

async fn unfavourite_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Status>, AppError> {
    let user = caller.require("write:favourites")?;
    let post_id = post_of(&state, &id).await?;
    likes::service::unlike(&state, user, &post_id).await?;
    let post = posts::get(&state, &Viewer::Verified(user), &post_id).await?;
    Ok(Json(Status::from_post(&state, &post, true)))
}

/// The accounts that favourited a post, most recent first (paged by `max_id`).
async fn favourited_by(
    State(state): State<AppState>,
    caller: MaybeCaller,
    paging: AccountPaging,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = caller.viewer_with("read:accounts")?;
    let post_id = match lookup::status(&state, &id).await? {
        StatusId::Post(post) => post.to_string(),
        StatusId::Comment(_) => return Ok(paging.respond(Vec::<Account>::new(), &[])),
    };
    let window = paging.window();
    let page = PageRequest::below(paging.limit, window.before);
    let found = likes::service::likers_in_window(&state, user, &post_id, &page).await?;
    let keys: Vec<Uuid> = found.iter().map(|(key, _)| *key).collect();
    let accounts = found
        .iter()
        .map(|(_, user)| Account::from_user(&state, user))
        .collect();
    Ok(paging.respond(accounts, &keys))
}

/// Roost has no boosts: nobody reblogged anything.
async fn reblogged_by(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    lookup::status(&state, &id).await?;
    Ok(Json(Vec::<Account>::new()).into_response())
}

/// The caller's favourites, most recently favourited first (paged by the like).
async fn list_favourites(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
) -> Result<Response, AppError> {
    let user = caller.require("read:favourites")?;
    let found = posts::in_window(
        &state,
        PostList::LikedBy(user.user_id),
        &Viewer::Verified(user),
        paging.window(),
        paging.limit,
    )
    .await?;
    let keys: Vec<Uuid> = found.iter().map(|(key, _)| *key).collect();
    let statuses = found
        .iter()
        .map(|(_, post)| Status::from_post(&state, post, true))
        .collect();
    Ok(paging.respond(statuses, &keys))
}
