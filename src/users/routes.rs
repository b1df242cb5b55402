//! HTTP handlers for the own profile (`/me…`), public profiles, user search and follows:
//! each calls one function of [`super::service`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, FollowList, ProfileEdit, Subject};
use super::{Me, User};
use crate::auth::{AuthUser, MaybeAuthUser, SignedInViewer, Viewer};
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::{AppJson, AppQuery};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me, delete_me))
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(list_my_followers))
        .routes(routes!(list_my_following))
        .routes(routes!(list_user_followers))
        .routes(routes!(list_user_following))
}

/// Your own account
///
/// Returns the account the token belongs to, including its email address, which no other
/// endpoint reveals. The viewer-relative fields (`following`, `followed_by`, `requested`,
/// `blocking`, `blocked_by`, `muting`) are always `null` here.
#[utoipa::path(
    get,
    path = "/me",
    tag = "Profile",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your account.", body = Me, example = json!(examples::me())),
    )
)]
pub async fn get_me(
    State(state): State<AppState>,
    viewer: SignedInViewer,
) -> Result<AppJson<Me>, AppError> {
    service::me(&state, &viewer.into()).await.map(AppJson)
}

/// Body of `PATCH /me`: any subset of the fields. A field left out (or `null`) is unchanged;
/// an empty string clears a text field.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"display_name": "Alice Liddell", "bio": "Curiouser and curiouser.", "website": "https://alice.example"}))]
pub struct UpdateProfileRequest {
    /// 3–30 characters of `a-z`, `0-9`, `_` (lower-cased); unique. The old name stops resolving.
    #[schema(min_length = 3, max_length = 30, pattern = "^[A-Za-z0-9_]{3,30}$")]
    pub username: Option<String>,
    /// 0–50 characters.
    #[schema(max_length = 50)]
    pub display_name: Option<String>,
    /// 0–500 characters; line breaks allowed.
    #[schema(max_length = 500)]
    pub bio: Option<String>,
    /// 0–100 characters.
    #[schema(max_length = 100)]
    pub location: Option<String>,
    /// Empty, or an `http`/`https` URL of at most 200 characters.
    #[schema(max_length = 200)]
    pub website: Option<String>,
    /// Whether follows need your approval (your posts are then for followers only).
    /// Unlocking accepts every pending follow request; existing followers stay either way.
    pub locked: Option<bool>,
}

/// Edit your profile
///
/// Changes any of `username`, `display_name`, `bio`, `location`, `website` and `locked`;
/// fields not sent are left alone. Locking the account makes follows need your approval
/// and your posts visible to your followers only; unlocking accepts every pending follow
/// request. Leading and trailing white space is trimmed. Every broken rule is
/// listed in one 422. A new username must be free (409 otherwise); after the change the
/// old name answers 404. Idempotent: sending the same body again changes nothing further.
#[utoipa::path(
    patch,
    path = "/me",
    tag = "Profile",
    operation_id = "update_me",
    security(("bearer" = [])),
    request_body(content = UpdateProfileRequest, example = json!({"display_name": "Alice Liddell", "bio": "Curiouser and curiouser.", "website": "https://alice.example"})),
    responses(
        (status = 200, description = "The updated account.", body = Me, example = json!(examples::me_edited())),
        (status = 409, description = "The new username is taken.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::conflict("username_taken", "username", "This username is taken."))),
        (status = 422, description = "A field breaks a rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[
                ("display_name", "must be at most 50 characters"),
                ("website", "must be an http or https URL"),
            ]))),
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<UpdateProfileRequest>,
) -> Result<AppJson<Me>, AppError> {
    let edit = ProfileEdit {
        username: request.username,
        display_name: request.display_name,
        bio: request.bio,
        location: request.location,
        website: request.website,
        locked: request.locked,
    };
    service::update_profile(&state, user, &edit)
        .await
        .map(AppJson)
}

/// Body of `DELETE /me`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"password": "correct horse battery"}))]
pub struct DeleteAccountRequest {
    /// Your current password, as confirmation.
    #[schema(format = Password)]
    pub password: String,
}

/// Delete your account
///
/// Deletes the account and everything it owns — posts, comments, likes, follows in both
/// directions (the other users' counters are corrected), media files and every token — in
/// one transaction. Needs the current password (403 `invalid_password` otherwise, counted
/// as a failed login). The token used stops working at once.
#[utoipa::path(
    delete,
    path = "/me",
    tag = "Profile",
    operation_id = "delete_me",
    security(("bearer" = [])),
    request_body(content = DeleteAccountRequest, example = json!({"password": "correct horse battery"})),
    responses(
        (status = 204, description = "The account and everything it owned are gone."),
        (status = 403, description = "The password is wrong.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_password_for_deletion())),
        (status = 422, description = "`password` is missing or not a string.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("password", "is required")]))),
        (status = 429, description = "Too many failed attempts for this account.", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until an attempt may succeed.")),
            example = json!(examples::too_many_failed_logins())),
    )
)]
pub async fn delete_me(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<DeleteAccountRequest>,
) -> Result<StatusCode, AppError> {
    service::delete_account(&state, user, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /users`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Search text, 1–100 characters: matches usernames and display names containing it,
    /// case-insensitively. Without it, every user is listed, newest first.
    #[param(min_length = 1, max_length = 100, example = "ali")]
    pub q: Option<String>,
}

/// List or search users
///
/// Without `q`: every user, newest first. With `q`: users whose username or display name
/// contains it (case-insensitive), ranked: the exact username first, then usernames
/// starting with it, then the rest, each group by username. Public; an authenticated
/// viewer also gets their relations to each user (`following`, `followed_by`, `requested`,
/// `muting`), and never sees an account that blocks them or that they block.
#[utoipa::path(
    get,
    path = "/users",
    tag = "Users",
    operation_id = "list_users",
    security((), ("bearer" = [])),
    params(SearchQuery, PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::user_page())),
        (status = 400, description = "Invalid `q`, `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    viewer: Viewer,
    AppQuery(query): AppQuery<SearchQuery>,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    service::search(&state, &viewer, query.q.as_deref(), &page).await
}

/// A user's profile
///
/// Public, including for a locked account and across a block. Counts are exact. For an
/// authenticated viewer, `following` says whether the viewer follows this user,
/// `followed_by` whether this user follows the viewer, `requested` whether the viewer's
/// follow request waits for this user's approval, `blocking` / `blocked_by` whether either
/// blocks the other and `muting` whether the viewer mutes this user (all `null` for
/// anonymous viewers and on yourself). Usernames match case-insensitively.
#[utoipa::path(
    get,
    path = "/users/{username}",
    tag = "Users",
    operation_id = "get_user",
    security((), ("bearer" = [])),
    params(("username" = String, Path, description = "The user's username (case-insensitive).", example = "alice")),
    responses(
        (status = 200, description = "The profile.", body = User, example = json!(examples::user())),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    viewer: MaybeAuthUser,
    Path(username): Path<String>,
) -> Result<AppJson<User>, AppError> {
    service::profile(&state, viewer.0, &username)
        .await
        .map(AppJson)
}

/// Your followers
///
/// Users who follow you, most recent follow first.
#[utoipa::path(
    get,
    path = "/me/followers",
    tag = "Follows",
    operation_id = "list_my_followers",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::user_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_my_followers(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let subject = Subject::Id(user.user_id);
    service::follows(&state, Some(user), subject, FollowList::Followers, &page).await
}

/// Whom you follow
///
/// Users you follow, most recent follow first.
#[utoipa::path(
    get,
    path = "/me/following",
    tag = "Follows",
    operation_id = "list_my_following",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::user_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
    )
)]
pub async fn list_my_following(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let subject = Subject::Id(user.user_id);
    service::follows(&state, Some(user), subject, FollowList::Following, &page).await
}

/// A user's followers
///
/// Users who follow this user, most recent follow first, without the accounts across a
/// block from you. Public. 403 `private_account` when the account is locked and you do not
/// follow it; 403 `blocked` when either of you blocks the other.
#[utoipa::path(
    get,
    path = "/users/{username}/followers",
    tag = "Follows",
    operation_id = "list_user_followers",
    security((), ("bearer" = [])),
    params(("username" = String, Path, description = "The user's username.", example = "alice"), PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::user_page())),
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
pub async fn list_user_followers(
    State(state): State<AppState>,
    viewer: MaybeAuthUser,
    Path(username): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let subject = Subject::Username(&username);
    service::follows(&state, viewer.0, subject, FollowList::Followers, &page).await
}

/// Whom a user follows
///
/// Users this user follows, most recent follow first, without the accounts across a
/// block from you. Public. 403 `private_account` when the account is locked and you do not
/// follow it; 403 `blocked` when either of you blocks the other.
#[utoipa::path(
    get,
    path = "/users/{username}/following",
    tag = "Follows",
    operation_id = "list_user_following",
    security((), ("bearer" = [])),
    params(("username" = String, Path, description = "The user's username.", example = "alice"), PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::user_page())),
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
pub async fn list_user_following(
    State(state): State<AppState>,
    viewer: MaybeAuthUser,
    Path(username): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let subject = Subject::Username(&username);
    service::follows(&state, viewer.0, subject, FollowList::Following, &page).await
}
