//! HTTP handlers for likes: each calls one function of [`super::service`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse};
use crate::state::AppState;
use crate::users::User;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(like_post, unlike_post))
        .routes(routes!(list_post_likes))
}

/// Like a post
///
/// Idempotent: liking a post you already like is still 204 and keeps the original like
/// (and its place in `GET /me/likes` and the post's likers). 404 for an unknown post or
/// one hidden from you.
#[utoipa::path(
    put,
    path = "/posts/{id}/like",
    tag = "Likes",
    operation_id = "like_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    responses(
        (status = 204, description = "You like this post."),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn like_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    service::like(&state, user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlike a post
///
/// Idempotent: unliking a post you do not like is still 204. 404 for an unknown post or
/// one hidden from you.
#[utoipa::path(
    delete,
    path = "/posts/{id}/like",
    tag = "Likes",
    operation_id = "unlike_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    responses(
        (status = 204, description = "You do not like this post."),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn unlike_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    service::unlike(&state, user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who liked a post
///
/// Users who liked the post, most recent like first, without the accounts across a block
/// from you. Public; an authenticated viewer also gets their relations to each user. 404
/// for a post hidden from you.
#[utoipa::path(
    get,
    path = "/posts/{id}/likes",
    tag = "Likes",
    operation_id = "list_post_likes",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917"), PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::user_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn list_post_likes(
    State(state): State<AppState>,
    viewer: MaybeAuthUser,
    Path(id): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    service::likers(&state, viewer.0, &id, &page).await
}
