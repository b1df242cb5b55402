//! HTTP handlers for comments: each calls one function of [`super::service`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Comment, service};
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::{AppJson, Created};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_post_comments, create_comment))
        .routes(routes!(get_comment, update_comment, delete_comment))
}

/// The comments of a post
///
/// The post's comments, oldest first, each with its author and `mentions`, without the
/// comments of accounts across a block from you or that you mute. Public. 404 for a post
/// hidden from you.
#[utoipa::path(
    get,
    path = "/posts/{id}/comments",
    tag = "Comments",
    operation_id = "list_post_comments",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917"), PageQuery),
    responses(
        (status = 200, description = "One page of comments.", body = Page<Comment>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::comment_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn list_post_comments(
    State(state): State<AppState>,
    viewer: MaybeAuthUser,
    Path(id): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<Comment>, AppError> {
    service::list(&state, viewer.0, &id, &page).await
}

/// Body of `POST /posts/{id}/comments` and `PATCH /comments/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"content": "What a heron! Which river is this?"}))]
pub struct CommentRequest {
    /// Trimmed; 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub content: String,
}

/// Comment on a post
///
/// Adds a comment to the post, as you. The content is trimmed and must then be 1–500
/// characters; `@username` of existing accounts become its `mentions`. 404 for an unknown
/// post or one hidden from you, including one deleted while the comment is being written.
#[utoipa::path(
    post,
    path = "/posts/{id}/comments",
    tag = "Comments",
    operation_id = "create_comment",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    request_body(content = CommentRequest, example = json!({"content": "What a heron! Which river is this?"})),
    responses(
        (status = 201, description = "The new comment.", body = Comment,
            headers(("Location" = String, description = "URL of the comment.")),
            example = json!(examples::comment())),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
        (status = 422, description = "The content is missing or breaks a rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("content", "must not be empty")]))),
    )
)]
pub async fn create_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<CommentRequest>,
) -> Result<Created<Comment>, AppError> {
    let comment = service::create(&state, user, &id, &request.content).await?;
    Ok(Created::at(
        &state.config.public_url,
        format!("/api/v1/comments/{}", comment.id),
        comment,
    ))
}

/// A comment
///
/// One comment, with its author. Public. 404 when its post is hidden from you, or when
/// its author blocks you or you block them.
#[utoipa::path(
    get,
    path = "/comments/{id}",
    tag = "Comments",
    operation_id = "get_comment",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The comment's id.", example = "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53")),
    responses(
        (status = 200, description = "The comment.", body = Comment, example = json!(examples::comment())),
        (status = 404, description = "No comment has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::comment_not_found())),
    )
)]
pub async fn get_comment(
    State(state): State<AppState>,
    viewer: MaybeAuthUser,
    Path(id): Path<String>,
) -> Result<AppJson<Comment>, AppError> {
    service::get(&state, viewer.0, &id).await.map(AppJson)
}

/// Edit a comment
///
/// Replaces the content of your own comment (its `mentions` follow) and sets `edited_at`.
/// 403 on anyone else's comment, even on your own post; 404 when its post is hidden from
/// you.
#[utoipa::path(
    patch,
    path = "/comments/{id}",
    tag = "Comments",
    operation_id = "update_comment",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The comment's id.", example = "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53")),
    request_body(content = CommentRequest, example = json!({"content": "What a heron! Which river is this? (the Avon?)"})),
    responses(
        (status = 200, description = "The edited comment.", body = Comment, example = json!(examples::comment_edited())),
        (status = 403, description = "The comment is someone else's.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::not_owner("comment"))),
        (status = 404, description = "No comment has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::comment_not_found())),
        (status = 422, description = "The content is missing or breaks a rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("content", "must be at most 500 characters")]))),
    )
)]
pub async fn update_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<CommentRequest>,
) -> Result<AppJson<Comment>, AppError> {
    service::update(&state, user, &id, &request.content)
        .await
        .map(AppJson)
}

/// Delete a comment
///
/// Deletes your own comment. 403 on anyone else's comment, even on your own post; deleting
/// it again is a 404.
#[utoipa::path(
    delete,
    path = "/comments/{id}",
    tag = "Comments",
    operation_id = "delete_comment",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The comment's id.", example = "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53")),
    responses(
        (status = 204, description = "The comment is gone."),
        (status = 403, description = "The comment is someone else's.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::not_owner("comment"))),
        (status = 404, description = "No comment has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::comment_not_found())),
    )
)]
pub async fn delete_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    service::delete(&state, user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
