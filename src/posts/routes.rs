//! HTTP handlers for posts, the feed, tags and the post lists of users.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::domain::{Content, hashtags, parse_tag_name};
use super::store::{self, PostFilter, PostRow};
use super::{Post, idempotency};
use crate::app::AppState;
use crate::auth::{AuthUser, Caller, MaybeAuthUser, ensure_owner};
use crate::db::{self, new_id};
use crate::docs::examples;
use crate::error::{AppError, FieldError, Problem};
use crate::extract::{AppJson, AppQuery};
use crate::media::store::{self as media_store, AttachError};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse, encode_cursor};
use crate::users;

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

/// Parses a post id from a path: anything that is not one of our ids names no post.
pub fn parse_post_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| post_not_found())
}

/// The id of an existing post, or 404 (for endpoints that hang off a post).
pub async fn existing_post(state: &AppState, id: &str) -> Result<Uuid, AppError> {
    let id = parse_post_id(id)?;
    store::author_of(&state.db, id)
        .await?
        .ok_or_else(post_not_found)?;
    Ok(id)
}

pub fn post_not_found() -> AppError {
    AppError::not_found("There is no post with this id.")
}

/// Completes rows into posts (at most one more query, for images), keeping their order.
pub async fn posts_from_rows(state: &AppState, rows: Vec<PostRow>) -> Result<Vec<Post>, AppError> {
    let mut extras = store::hydrate(&state.db, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|row| Post::from_row(row, &mut extras, state))
        .collect())
}

/// One page of any post list: the one listing query (which also checks the caller's
/// token), then hydration.
pub async fn page_of_posts(
    state: &AppState,
    filter: &PostFilter,
    caller: &Caller,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    let after = caller.first(state, page.after_id()).await?;
    let rows = store::list(&state.db, filter, caller, after, page.fetch_limit()).await?;
    caller
        .settle(state, rows.first().map(|row| row.viewer))
        .await?;
    let (rows, next_cursor) =
        page.take_page(rows, |row| encode_cursor(&[&row.sort_key.to_string()]));
    let posts = posts_from_rows(state, rows).await?;
    Ok(page.respond(posts, next_cursor))
}

/// Loads one post as the caller sees it, or 404 (a bad token is a 401 either way).
pub async fn load_post(state: &AppState, id: Uuid, caller: &Caller) -> Result<Post, AppError> {
    let row = store::find(&state.db, id, caller).await?;
    caller
        .settle(state, row.as_ref().map(|row| row.viewer))
        .await?;
    let row = row.ok_or_else(post_not_found)?;
    Ok(posts_from_rows(state, vec![row]).await?.remove(0))
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
}

/// Create a post
///
/// Publishes a post. Hashtags (`#word`) in the content become its `tags`. Up to 4 of your
/// own unattached uploads can be attached with `media_ids`; each then belongs to this post.
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
    headers: HeaderMap,
    AppJson(request): AppJson<CreatePostRequest>,
) -> Result<(StatusCode, HeaderMap, AppJson<Post>), AppError> {
    let key = idempotency::key_from(&headers)?;
    let (content, media_ids) = validate_new_post(&request.content, request.media_ids.as_deref())?;
    let request_hash = hash_request(content.as_str(), &media_ids);
    let now = state.clock.now();

    let transaction = db::begin_write(&state.db).await?;
    if let Some(key) = &key {
        match idempotency::claim(&transaction, user.user_id, key, &request_hash, now).await? {
            idempotency::Claim::New => {}
            idempotency::Claim::Replay {
                request_hash: first_hash,
                created: first,
            } => {
                transaction.rollback().await?;
                let idempotency::Created::Post(post_id) = first else {
                    return Err(idempotency::reused());
                };
                if first_hash != request_hash {
                    return Err(idempotency::reused());
                }
                let post = load_post(&state, post_id, &Caller::Verified(user)).await?;
                return Ok(created(&state, post));
            }
        }
    }
    let id = new_id();
    let tags = hashtags(content.as_str());
    store::insert(
        &transaction,
        store::NewPost {
            id,
            author_id: user.user_id,
            content: content.into_inner(),
            tags,
            created_at: now,
        },
    )
    .await?;
    if let Err(AttachError::Unavailable(media_id)) =
        media_store::attach(&transaction, id, user.user_id, &media_ids).await?
    {
        transaction.rollback().await?;
        return Err(AppError::validation(
            "media_ids",
            &format!("{media_id} is not an unattached upload of yours"),
        ));
    }
    if let Some(key) = &key {
        idempotency::complete(
            &transaction,
            user.user_id,
            key,
            idempotency::Created::Post(id),
        )
        .await?;
    }
    transaction.commit().await?;
    let post = load_post(&state, id, &Caller::Verified(user)).await?;
    Ok(created(&state, post))
}

fn created(state: &AppState, post: Post) -> (StatusCode, HeaderMap, AppJson<Post>) {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{}/api/v1/posts/{}",
        state.config.public_url, post.id
    )) {
        headers.insert(header::LOCATION, value);
    }
    (StatusCode::CREATED, headers, AppJson(post))
}

/// Checks a new post's content and media ids together, listing every broken rule.
fn validate_new_post(
    content: &str,
    media_ids: Option<&[String]>,
) -> Result<(Content, Vec<Uuid>), AppError> {
    let mut errors = Vec::new();
    let media_ids = media_ids.unwrap_or_default();
    let ids = crate::media::parse_media_ids(media_ids, &mut errors);
    let content = if media_ids.is_empty() {
        Content::parse(content)
    } else {
        Content::parse_allow_empty(content)
    };
    let content = content.map_err(|message| errors.push(FieldError::new("content", message)));
    match content {
        Ok(content) if errors.is_empty() => Ok((content, ids)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Fingerprint of a request body, to tell an idempotent retry from a different request.
fn hash_request(content: &str, media_ids: &[Uuid]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(content.as_bytes());
    for id in media_ids {
        hasher.update(b"\0");
        hasher.update(id.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
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
/// Every post, newest first, optionally narrowed by `tag`, `author` and `q` (all given
/// filters apply together). Public; an authenticated viewer also gets `liked`.
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
    caller: Caller,
    query: Result<AppQuery<PostsQuery>, AppError>,
    page: Result<PageRequest, AppError>,
) -> Result<PageResponse<Post>, AppError> {
    let AppQuery(query) = caller.first(&state, query).await?;
    let page = caller.first(&state, page).await?;
    let filter = caller
        .first(&state, posts_filter(&state, &query, &page).await)
        .await?;
    match filter {
        Some(filter) => page_of_posts(&state, &filter, &caller, &page).await,
        None => {
            caller.settle(&state, None).await?;
            Ok(page.respond(Vec::new(), None))
        }
    }
}

/// The filter `GET /posts` asks for, or `None` when the answer is known to be empty.
async fn posts_filter(
    state: &AppState,
    query: &PostsQuery,
    page: &PageRequest,
) -> Result<Option<PostFilter>, AppError> {
    // Checked up front, so a bad cursor is a 400 even when the answer is known to be empty.
    page.after_id()?;
    let mut filter = PostFilter::default();
    if let Some(tag) = &query.tag {
        filter.tag = Some(parse_tag_name(tag).ok_or_else(|| {
            AppError::bad_request(
                "invalid_query",
                "`tag` must be letters, digits and `_` (an optional leading `#`).",
            )
        })?);
    }
    if let Some(q) = &query.q {
        let length = q.chars().count();
        if !(1..=200).contains(&length) || q.contains('\0') {
            return Err(AppError::bad_request(
                "invalid_query",
                "`q` must be 1 to 200 characters long.",
            ));
        }
        let words = store::query_words(q);
        if words.is_empty() {
            // Nothing to match: no post contains "no word".
            return Ok(None);
        }
        filter.words = Some(words);
    }
    if let Some(author) = &query.author {
        match users::store::find_by_username(&state.db, author).await? {
            Some(author) => filter.author = Some(author.id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

/// A post
///
/// Public; an authenticated viewer also gets `liked`.
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
    caller: Caller,
    Path(id): Path<String>,
) -> Result<AppJson<Post>, AppError> {
    let id = caller.first(&state, parse_post_id(&id)).await?;
    Ok(AppJson(load_post(&state, id, &caller).await?))
}

/// Body of `PATCH /posts/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"content": "First light on the river, and a heron #birds"}))]
pub struct UpdatePostRequest {
    /// Trimmed; 1–500 characters (may be empty if the post has media).
    #[schema(max_length = 500)]
    pub content: String,
}

/// Edit a post
///
/// Replaces the content of your own post, recomputes its `tags` and sets `edited_at`.
/// Media stay as they are. 403 on someone else's post.
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
    let id = parse_post_id(&id)?;
    let author = store::author_of(&state.db, id)
        .await?
        .ok_or_else(post_not_found)?;
    ensure_owner(author, user, "post")?;
    let has_media = !media_store::for_posts(&state.db, &[id]).await?.is_empty();
    let content = if has_media {
        Content::parse_allow_empty(&request.content)
    } else {
        Content::parse(&request.content)
    }
    .map_err(|message| AppError::validation("content", message))?;
    let tags = hashtags(content.as_str());
    let transaction = db::begin_write(&state.db).await?;
    store::update_content(
        &transaction,
        id,
        content.into_inner(),
        &tags,
        state.clock.now(),
    )
    .await?;
    transaction.commit().await?;
    Ok(AppJson(
        load_post(&state, id, &Caller::Verified(user)).await?,
    ))
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
    let id = parse_post_id(&id)?;
    let author = store::author_of(&state.db, id)
        .await?
        .ok_or_else(post_not_found)?;
    ensure_owner(author, user, "post")?;
    let transaction = db::begin_write(&state.db).await?;
    let keys = media_store::keys_of_posts(&transaction, &[id]).await?;
    if !store::delete(&transaction, id, author).await? {
        transaction.rollback().await?;
        return Err(post_not_found());
    }
    transaction.commit().await?;
    for key in keys {
        crate::media::remove_file(&state, &key).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Your home feed
///
/// Your own posts and the posts of everyone you follow, newest first.
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
    caller: Caller,
    page: Result<PageRequest, AppError>,
) -> Result<PageResponse<Post>, AppError> {
    let caller = caller.required()?;
    let page = caller.first(&state, page).await?;
    let filter = PostFilter {
        home_feed: true,
        ..PostFilter::default()
    };
    page_of_posts(&state, &filter, &caller, &page).await
}

/// A hashtag and how many posts carry it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "birds", "post_count": 42}))]
pub struct Tag {
    /// Lower-case, without `#`.
    pub name: String,
    /// Posts currently carrying the tag (0 for a tag nobody used yet).
    pub post_count: i64,
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
    let name = parse_tag_name(&name).ok_or_else(tag_not_found)?;
    let post_count = store::tag_post_count(&state.db, &name).await?;
    Ok(AppJson(Tag { name, post_count }))
}

fn tag_not_found() -> AppError {
    AppError::not_found("A tag name has only letters, digits and `_`.")
}

/// Posts with a hashtag
///
/// The same list as `GET /posts?tag={name}`: posts carrying the tag, newest first. Public.
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
    caller: Caller,
    Path(name): Path<String>,
    page: Result<PageRequest, AppError>,
) -> Result<PageResponse<Post>, AppError> {
    let page = caller.first(&state, page).await?;
    let tag = parse_tag_name(&name).ok_or_else(tag_not_found);
    let filter = PostFilter {
        tag: Some(caller.first(&state, tag).await?),
        ..PostFilter::default()
    };
    page_of_posts(&state, &filter, &caller, &page).await
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
    let filter = PostFilter {
        author: Some(user.user_id),
        ..PostFilter::default()
    };
    page_of_posts(&state, &filter, &Caller::Verified(user), &page).await
}

/// Posts you liked
///
/// Posts you liked, most recently liked first.
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
    let filter = PostFilter {
        liked_by: Some(user.user_id),
        ..PostFilter::default()
    };
    page_of_posts(&state, &filter, &Caller::Verified(user), &page).await
}

/// A user's posts
///
/// The user's published posts, newest first. Public.
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
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn list_user_posts(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    page: Result<PageRequest, AppError>,
) -> Result<PageResponse<Post>, AppError> {
    let page = caller.first(&state, page).await?;
    let author = users::store::find_by_username(&state.db, &username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user named {username:?}.")));
    let author = caller.first(&state, author).await?;
    let filter = PostFilter {
        author: Some(author.id),
        ..PostFilter::default()
    };
    page_of_posts(&state, &filter, &caller, &page).await
}
