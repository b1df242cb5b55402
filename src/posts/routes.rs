//! HTTP handlers for posts, the feed, tags and the post lists of users: each extracts the
//! request, calls one function of [`super::service`] and answers what it returns.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::domain::Draft;
use super::{Post, Tag, service};
use crate::auth::{AuthUser, MaybeAuthUser, SignedInViewer, Viewer};
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::{AppJson, AppQuery, Created};
use crate::idempotency::IdempotencyKey;
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse};
use crate::privacy::Visibility;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_post, list_posts))
        .routes(routes!(get_post, update_post, delete_post))
        .routes(routes!(list_feed))
        .routes(routes!(get_tag))
        .routes(routes!(list_tag_posts))
        .routes(routes!(list_my_posts))
        .routes(routes!(list_my_likes))
        .routes(routes!(list_user_posts))
}

/// Body of `POST /posts`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"content": "First light on the river #birds #morning", "media_ids": ["019acc01-5b7e-7d2a-8f3c-2e6a1b9d4c70"]}))]
pub struct CreatePostRequest {
    /// Trimmed; 1–500 characters, or empty when `media_ids` is not.
    #[schema(max_length = 500)]
    pub content: String,
    /// Up to 4 ids of your own uploads (`POST /media`) not attached to anything yet.
    #[serde(default)]
    #[schema(max_items = 4)]
    pub media_ids: Option<Vec<String>>,
    /// Who may see the post: `public` (the default) or `followers`.
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// Create a post
///
/// Publishes a post. Hashtags (`#word`) in the content become its `tags`, and `@username`
/// of existing accounts its `mentions`. Up to 4 of your own unattached uploads can be
/// attached with `media_ids`; each then belongs to this post. `visibility` is `public`
/// (everyone, the default) or `followers` (your followers only); while your account is
/// locked every post of yours is for followers only and reads `followers`.
///
/// **Idempotency:** send an `Idempotency-Key` header (1–255 characters) to make retries
/// safe: a repeat with the same key by the same user within 24 hours answers the first
/// post again (same id, `201`) instead of creating another, even when the two requests
/// race; the same key with a different body is a 422 `idempotency_key_reused`.
#[utoipa::path(
    post,
    path = "/posts",
    tag = "Posts",
    operation_id = "create_post",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe (1–255 characters).",
        example = "9b2f4c1e-create-post-1")),
    request_body(content = CreatePostRequest, example = json!({"content": "First light on the river #birds #morning", "media_ids": ["019acc01-5b7e-7d2a-8f3c-2e6a1b9d4c70"]})),
    responses(
        (status = 201, description = "The new post (or, for a retry, the original one).", body = Post,
            headers(("Location" = String, description = "URL of the post.")),
            example = json!(examples::post())),
        (status = 400, description = "Malformed JSON or `Idempotency-Key`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::malformed_json())),
        (status = 422, description = "Content or media break a rule, or the idempotency key was used for another body.",
            body = Problem, content_type = "application/problem+json", examples(
                ("invalid fields" = (value = json!(examples::validation(&[("content", "must not be empty")])))),
                ("media not available" = (value = json!(examples::validation(&[("media_ids", "019acc01-5b7e-7d2a-8f3c-2e6a1b9d4c70 is not an unattached upload of yours")])))),
                ("key reused" = (value = json!(examples::idempotency_key_reused()))),
            )),
    )
)]
pub async fn create_post(
    State(state): State<AppState>,
    user: AuthUser,
    key: Option<IdempotencyKey>,
    AppJson(request): AppJson<CreatePostRequest>,
) -> Result<Created<Post>, AppError> {
    let mut errors = Vec::new();
    let draft = Draft::parse(
        &request.content,
        request.media_ids.as_deref(),
        request.visibility,
        &mut errors,
    );
    let draft = match draft {
        Some(draft) if errors.is_empty() => draft,
        _ => return Err(AppError::Validation(errors)),
    };
    let post = service::create(&state, user, draft, key.as_ref()).await?;
    Ok(Created::at(
        &state.config.public_url,
        format!("/api/v1/posts/{}", post.id),
        post,
    ))
}

/// Filters of `GET /posts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostsQuery {
    /// Only posts with this hashtag (without `#`, case-insensitive).
    #[param(example = "birds")]
    pub tag: Option<String>,
    /// Only posts by this username.
    #[param(example = "alice")]
    pub author: Option<String>,
    /// Full-text: only posts containing every word of it (case-insensitive), 1–200 characters.
    #[param(example = "river light", min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// List or search posts
///
/// Every post you may see, newest first, optionally narrowed by `tag`, `author` and `q`
/// (all given filters apply together): public posts, followers-only posts of accounts you
/// follow, and your own; never the posts of an account you block or that blocks you, nor
/// of an account you mute. Public; an authenticated viewer also gets `liked`.
#[utoipa::path(
    get,
    path = "/posts",
    tag = "Posts",
    operation_id = "list_posts",
    security((), ("bearer" = [])),
    params(PostsQuery, PageQuery),
    responses(
        (status = 200, description = "One page of posts.", body = Page<Post>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::post_page())),
        (status = 400, description = "Invalid `tag`, `q`, `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_posts(
    State(state): State<AppState>,
    viewer: Viewer,
    AppQuery(query): AppQuery<PostsQuery>,
    page: PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    let search = service::Search {
        tag: query.tag,
        author: query.author,
        q: query.q,
    };
    service::search(&state, &viewer, &search, &page).await
}

/// A post
///
/// Public; an authenticated viewer also gets `liked`. A post hidden from you (followers
/// only, or by a locked account, when you do not follow its author; or across a block) is
/// a 404, as if it did not exist.
#[utoipa::path(
    get,
    path = "/posts/{id}",
    tag = "Posts",
    operation_id = "get_post",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    responses(
        (status = 200, description = "The post.", body = Post, example = json!(examples::post())),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn get_post(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<AppJson<Post>, AppError> {
    service::get(&state, &viewer, &id).await.map(AppJson)
}

/// Body of `PATCH /posts/{id}`: one or both of the fields; one left out (or `null`) is
/// unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"content": "First light on the river, and a heron #birds"}))]
pub struct UpdatePostRequest {
    /// Trimmed; 1–500 characters (may be empty if the post has media).
    #[schema(max_length = 500)]
    pub content: Option<String>,
    /// `public` or `followers`.
    pub visibility: Option<Visibility>,
}

/// Edit a post
///
/// Changes the content and/or the visibility of your own post and sets `edited_at`; new
/// content recomputes its `tags` and `mentions`. Media stay as they are. A body needs at
/// least one of the two fields (422 otherwise). 403 on someone else's post; 404 on a post
/// hidden from you, as for any other request about it.
#[utoipa::path(
    patch,
    path = "/posts/{id}",
    tag = "Posts",
    operation_id = "update_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    request_body(content = UpdatePostRequest, example = json!({"content": "First light on the river, and a heron #birds"})),
    responses(
        (status = 200, description = "The edited post.", body = Post, example = json!(examples::post_edited())),
        (status = 403, description = "The post is someone else's.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::not_owner("post"))),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
        (status = 422, description = "The content breaks a rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("content", "must be at most 500 characters")]))),
    )
)]
pub async fn update_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<UpdatePostRequest>,
) -> Result<AppJson<Post>, AppError> {
    service::update(
        &state,
        user,
        &id,
        request.content.as_deref(),
        request.visibility,
    )
    .await
    .map(AppJson)
}

/// Delete a post
///
/// Deletes your own post with its comments, likes and images (files included). 403 on
/// someone else's post; deleting it again is a 404.
#[utoipa::path(
    delete,
    path = "/posts/{id}",
    tag = "Posts",
    operation_id = "delete_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    responses(
        (status = 204, description = "The post and everything attached to it are gone."),
        (status = 403, description = "The post is someone else's.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::not_owner("post"))),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn delete_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    service::delete(&state, user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your home feed
///
/// Your own posts and the posts of everyone you follow (followers-only ones included),
/// newest first, without the accounts you mute.
#[utoipa::path(
    get,
    path = "/feed",
    tag = "Feed",
    operation_id = "list_feed",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of posts.", body = Page<Post>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::post_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_feed(
    State(state): State<AppState>,
    viewer: SignedInViewer,
    page: PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    service::home_feed(&state, &viewer.into(), &page).await
}

/// A hashtag
///
/// The tag's normalised name and how many posts carry it. Any well-formed name answers,
/// with `post_count: 0` when no post uses it. Public.
#[utoipa::path(
    get,
    path = "/tags/{name}",
    tag = "Tags",
    operation_id = "get_tag",
    security((), ("bearer" = [])),
    params(("name" = String, Path, description = "Tag name, without `#`, case-insensitive.", example = "birds")),
    responses(
        (status = 200, description = "The tag.", body = Tag, example = json!({"name": "birds", "post_count": 42})),
        (status = 404, description = "The name cannot be a tag (letters, digits and `_` only).", body = Problem,
            content_type = "application/problem+json", example = json!(examples::tag_not_found())),
    )
)]
pub async fn get_tag(
    State(state): State<AppState>,
    _viewer: MaybeAuthUser,
    Path(name): Path<String>,
) -> Result<AppJson<Tag>, AppError> {
    service::tag(&state, &name).await.map(AppJson)
}

/// Posts with a hashtag
///
/// The same list as `GET /posts?tag={name}`: posts carrying the tag that you may see,
/// newest first. Public. `post_count` of `GET /tags/{name}` counts every post, including
/// those hidden from you.
#[utoipa::path(
    get,
    path = "/tags/{name}/posts",
    tag = "Tags",
    operation_id = "list_tag_posts",
    security((), ("bearer" = [])),
    params(("name" = String, Path, description = "Tag name, without `#`, case-insensitive.", example = "birds"), PageQuery),
    responses(
        (status = 200, description = "One page of posts.", body = Page<Post>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::post_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
        (status = 404, description = "The name cannot be a tag.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::tag_not_found())),
    )
)]
pub async fn list_tag_posts(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    service::with_tag(&state, &viewer, &name, &page).await
}

/// Your posts
///
/// Your own published posts, newest first.
#[utoipa::path(
    get,
    path = "/me/posts",
    tag = "Posts",
    operation_id = "list_my_posts",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of posts.", body = Page<Post>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::post_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_my_posts(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    service::by_author(&state, &Viewer::Verified(user), user.user_id, &page).await
}

/// Posts you liked
///
/// Posts you liked and may still see, most recently liked first.
#[utoipa::path(
    get,
    path = "/me/likes",
    tag = "Likes",
    operation_id = "list_my_likes",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of posts.", body = Page<Post>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::post_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_my_likes(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    service::liked_by(&state, user, &page).await
}

/// A user's posts
///
/// The user's published posts that you may see, newest first: public ones, and
/// followers-only ones when you follow the user (a muted user's posts are listed here).
/// Public. 403 `private_account` when the account is locked and you do not follow it; 403
/// `blocked` when either of you blocks the other (which wins).
#[utoipa::path(
    get,
    path = "/users/{username}/posts",
    tag = "Posts",
    operation_id = "list_user_posts",
    security((), ("bearer" = [])),
    params(("username" = String, Path, description = "The user's username.", example = "alice"), PageQuery),
    responses(
        (status = 200, description = "One page of posts.", body = Page<Post>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::post_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
        (status = 403, description = "The account is locked and you do not follow it, or one of you blocks the other.",
            body = Problem, content_type = "application/problem+json", examples(
                ("private account" = (value = json!(examples::private_account()))),
                ("blocked" = (value = json!(examples::blocked()))),
            )),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn list_user_posts(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(username): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    service::by_username(&state, &viewer, &username, &page).await
}
