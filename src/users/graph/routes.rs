//! HTTP handlers for follows, follow requests, blocks and mutes (`/me/following`,
//! `/me/followers/{username}`, `/me/follow-requests`, `/me/blocks`, `/me/mutes`): each calls
//! one function of [`super::service`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, FollowOutcome};
use super::store::Related;
use crate::auth::AuthUser;
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse};
use crate::state::AppState;
use crate::users::User;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(follow_user, unfollow_user))
        .routes(routes!(remove_follower))
        .routes(routes!(list_follow_requests))
        .routes(routes!(accept_follow_request))
        .routes(routes!(reject_follow_request))
        .routes(routes!(list_blocks))
        .routes(routes!(block_user, unblock_user))
        .routes(routes!(list_mutes))
        .routes(routes!(mute_user, unmute_user))
}

/// Follow a user
///
/// Follows the user at once (204), or, when the account is locked, sends it a follow
/// request that waits for its approval (202; the account then shows `requested: true`).
/// Idempotent: following someone you already follow is still 204 and keeps the original
/// follow (and its place in lists); asking again is still 202. 404 for an unknown user,
/// 422 for yourself, 403 `blocked` when either of you blocks the other.
#[utoipa::path(
    put,
    path = "/me/following/{username}",
    tag = "Follows",
    operation_id = "follow_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to follow.", example = "bob")),
    responses(
        (status = 204, description = "You follow this user."),
        (status = 202, description = "The account is locked: your follow request waits for its approval."),
        (status = 403, description = "One of you blocks the other.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::blocked())),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
        (status = 422, description = "You cannot follow yourself.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::cannot_follow_self())),
    )
)]
pub async fn follow_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    Ok(match service::follow(&state, user, &username).await? {
        FollowOutcome::Following => StatusCode::NO_CONTENT,
        FollowOutcome::Requested => StatusCode::ACCEPTED,
    })
}

/// Unfollow a user, or cancel a follow request
///
/// Stops following the user and withdraws a pending follow request to them. Idempotent:
/// unfollowing someone you do not follow is still 204. 404 for an unknown user.
#[utoipa::path(
    delete,
    path = "/me/following/{username}",
    tag = "Follows",
    operation_id = "unfollow_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to stop following.", example = "bob")),
    responses(
        (status = 204, description = "You neither follow this user nor ask to."),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn unfollow_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::unfollow(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a follower
///
/// The user stops following you (both counters move). They are not told, and may follow
/// (or ask to follow) again; to prevent that, block them. Idempotent. 404 for an unknown
/// user.
#[utoipa::path(
    delete,
    path = "/me/followers/{username}",
    tag = "Follows",
    operation_id = "remove_follower",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "The follower to remove.", example = "bob")),
    responses(
        (status = 204, description = "This user does not follow you."),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn remove_follower(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::remove_follower(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Follow requests to you
///
/// The users asking to follow your locked account, oldest request first.
#[utoipa::path(
    get,
    path = "/me/follow-requests",
    tag = "Follows",
    operation_id = "list_follow_requests",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::requester_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_follow_requests(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    service::list(&state, user, Related::FollowRequests, &page).await
}

/// Accept a follow request
///
/// The user's pending request becomes a follow (both counters move). 404 when there is no
/// pending request from this user (never sent, cancelled, already answered, or removed by
/// a block).
#[utoipa::path(
    post,
    path = "/me/follow-requests/{username}/accept",
    tag = "Follows",
    operation_id = "accept_follow_request",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Who asked to follow you.", example = "bob")),
    responses(
        (status = 204, description = "This user now follows you."),
        (status = 404, description = "No pending request from this user (or no such user).", body = Problem,
            content_type = "application/problem+json", example = json!(examples::no_pending_request())),
    )
)]
pub async fn accept_follow_request(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::accept_request(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reject a follow request
///
/// The user's pending request is removed; they are not told, and may ask again. 404 when
/// there is no pending request from this user.
#[utoipa::path(
    post,
    path = "/me/follow-requests/{username}/reject",
    tag = "Follows",
    operation_id = "reject_follow_request",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Who asked to follow you.", example = "bob")),
    responses(
        (status = 204, description = "The request is gone."),
        (status = 404, description = "No pending request from this user (or no such user).", body = Problem,
            content_type = "application/problem+json", example = json!(examples::no_pending_request())),
    )
)]
pub async fn reject_follow_request(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::reject_request(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whom you block
///
/// The accounts you block, most recent block first.
#[utoipa::path(
    get,
    path = "/me/blocks",
    tag = "Safety",
    operation_id = "list_blocks",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::blocked_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_blocks(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    service::list(&state, user, Related::Blocks, &page).await
}

/// Block a user
///
/// Removes follows and pending follow requests between you, in both directions (the
/// counters move), in one step. While either of you blocks the other, neither can follow
/// the other, each one's posts and comments are hidden from the other, and neither appears
/// in the other's user lists; the profile stays readable with `blocking` / `blocked_by`
/// set. Idempotent. 404 for an unknown user, 422 for yourself.
#[utoipa::path(
    put,
    path = "/me/blocks/{username}",
    tag = "Safety",
    operation_id = "block_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to block.", example = "mallory")),
    responses(
        (status = 204, description = "You block this user."),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
        (status = 422, description = "You cannot block yourself.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::cannot_block_self())),
    )
)]
pub async fn block_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::block(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblock a user
///
/// Follows removed by the block do not come back. Idempotent: unblocking someone you do
/// not block is still 204. 404 for an unknown user.
#[utoipa::path(
    delete,
    path = "/me/blocks/{username}",
    tag = "Safety",
    operation_id = "unblock_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to unblock.", example = "mallory")),
    responses(
        (status = 204, description = "You do not block this user."),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn unblock_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::unblock(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whom you mute
///
/// The accounts you mute, most recent mute first.
#[utoipa::path(
    get,
    path = "/me/mutes",
    tag = "Safety",
    operation_id = "list_mutes",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::muted_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_mutes(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    service::list(&state, user, Related::Mutes, &page).await
}

/// Mute a user
///
/// Affects you only: the account's posts and comments leave your feed, `/posts` lists and
/// search, tag lists and comment lists. Its posts stay readable by id and on its profile.
/// The account is not told and may still follow you. Idempotent. 404 for an unknown user,
/// 422 for yourself.
#[utoipa::path(
    put,
    path = "/me/mutes/{username}",
    tag = "Safety",
    operation_id = "mute_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to mute.", example = "mallory")),
    responses(
        (status = 204, description = "You mute this user."),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
        (status = 422, description = "You cannot mute yourself.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::cannot_mute_self())),
    )
)]
pub async fn mute_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::mute(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unmute a user
///
/// Idempotent: unmuting someone you do not mute is still 204. 404 for an unknown user.
#[utoipa::path(
    delete,
    path = "/me/mutes/{username}",
    tag = "Safety",
    operation_id = "unmute_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to unmute.", example = "mallory")),
    responses(
        (status = 204, description = "You do not mute this user."),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn unmute_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    service::unmute(&state, user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
