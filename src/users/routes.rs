//! HTTP handlers for the own profile (`/me…`), public profiles, user search and follows.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::domain::{self, Username};
use super::entity::user;
use super::store::{self, FollowList, ProfileChanges};
use super::{Me, Relations, User};
use crate::app::AppState;
use crate::auth::extract::INVALID as INVALID_TOKEN;
use crate::auth::{AuthUser, Caller, MaybeAuthUser};
use crate::db;
use crate::docs::examples;
use crate::error::{AppError, FieldError, Problem, is_foreign_key_violation, is_unique_violation};
use crate::extract::{AppJson, AppQuery};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse, encode_cursor};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me, delete_me))
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(follow_user, unfollow_user))
        .routes(routes!(list_my_followers))
        .routes(routes!(list_my_following))
        .routes(routes!(list_user_followers))
        .routes(routes!(list_user_following))
}

/// The token's account; gone only if it was deleted since the token was checked.
async fn current_account(state: &AppState, user: AuthUser) -> Result<user::Model, AppError> {
    store::find_by_id(&state.db, user.user_id)
        .await?
        .ok_or(INVALID_TOKEN)
}

async fn find_user(state: &AppState, username: &str) -> Result<user::Model, AppError> {
    store::find_by_username(&state.db, username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user named {username:?}.")))
}

/// Your own account
///
/// Returns the account the token belongs to, including its email address, which no other
/// endpoint reveals. `following` and `followed_by` are always `null` here.
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
    caller: Caller,
) -> Result<AppJson<Me>, AppError> {
    let caller = caller.required()?;
    let found = store::find_own_account(&state.db, &caller).await?;
    caller
        .settle_required(&state, found.as_ref().map(|found| found.viewer))
        .await?;
    let account = found.ok_or(INVALID_TOKEN)?;
    Ok(AppJson(Me::from_model(account.user, &state)))
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
}

/// Edit your profile
///
/// Changes any of `username`, `display_name`, `bio`, `location` and `website`; fields not
/// sent are left alone. Leading and trailing white space is trimmed. Every broken rule is
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
    let mut errors = Vec::new();
    let mut changes = ProfileChanges::default();
    if let Some(username) = &request.username {
        match Username::parse(username) {
            Ok(username) => changes.username = Some(username.as_str().to_owned()),
            Err(message) => errors.push(FieldError::new("username", message)),
        }
    }
    let texts = [
        (
            "display_name",
            &request.display_name,
            domain::DISPLAY_NAME_MAX,
            false,
            &mut changes.display_name,
        ),
        ("bio", &request.bio, domain::BIO_MAX, true, &mut changes.bio),
        (
            "location",
            &request.location,
            domain::LOCATION_MAX,
            false,
            &mut changes.location,
        ),
    ];
    for (field, value, max, multiline, target) in texts {
        if let Some(value) = value {
            match domain::profile_text(value, max, multiline) {
                Ok(value) => *target = Some(value),
                Err(message) => errors.push(FieldError::new(field, message)),
            }
        }
    }
    if let Some(website) = &request.website {
        match domain::website(website) {
            Ok(website) => changes.website = Some(website),
            Err(message) => errors.push(FieldError::new("website", message)),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }

    let account = current_account(&state, user).await?;
    if let Some(username) = &changes.username {
        if *username == account.username {
            changes.username = None;
        } else if store::username_exists(&state.db, username).await? {
            return Err(username_taken());
        }
    }
    store::update_profile(&state.db, account.id, changes)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                username_taken()
            } else {
                error.into()
            }
        })?;
    let updated = current_account(&state, user).await?;
    Ok(AppJson(Me::from_model(updated, &state)))
}

fn username_taken() -> AppError {
    AppError::Conflict {
        code: "username_taken",
        detail: "This username is taken.".into(),
        field: "username",
    }
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
    let account = current_account(&state, user).await?;
    let verified = crate::auth::throttle::verify_password(
        &state,
        &account.email,
        request.password,
        Some(account.password_hash.clone()),
    )
    .await?;
    if !verified {
        return Err(AppError::forbidden(
            "invalid_password",
            "The password is wrong.",
        ));
    }
    let id = account.id;
    let media_keys = db::write_transaction(&state.db, |transaction| {
        Box::pin(async move {
            let keys = crate::media::store::keys_of_owner(transaction, id).await?;
            store::delete_account(transaction, id).await?;
            Ok(keys)
        })
    })
    .await?;
    for key in media_keys {
        crate::media::remove_file(&state, &key).await;
    }
    if let Some(key) = account.avatar_key {
        crate::media::remove_file(&state, &key).await;
    }
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
/// viewer also gets `following` / `followed_by` on each user.
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
    caller: Caller,
    query: Result<AppQuery<SearchQuery>, AppError>,
    page: Result<PageRequest, AppError>,
) -> Result<PageResponse<User>, AppError> {
    let AppQuery(query) = caller.first(&state, query).await?;
    let page = caller.first(&state, page).await?;
    let Some(q) = query.q else {
        let after = caller.first(&state, page.after_id()).await?;
        let viewer = caller.settle(&state, None).await?.map(|user| user.user_id);
        let rows = store::list_newest(&state.db, after, page.fetch_limit()).await?;
        let relations = store::relations(&state.db, viewer, &ids(&rows, |u| u.id)).await?;
        return Ok(page.finish(
            rows,
            |u| encode_cursor(&[&u.id.to_string()]),
            |u| User::from_model(u, &relations, &state),
        ));
    };
    let (needle, after) = caller.first(&state, search_terms(&q, &page)).await?;
    let rows = store::search(&state.db, &caller, &needle, after, page.fetch_limit()).await?;
    let viewer = caller
        .settle(&state, rows.first().map(|row| row.viewer))
        .await?
        .map(|user| user.user_id);
    let relations = Relations::reported(
        viewer,
        rows.iter().map(|row| {
            let flag = |relation: Option<bool>| relation.unwrap_or(false);
            (row.user.id, flag(row.following), flag(row.followed_by))
        }),
    );
    Ok(page.finish(
        rows,
        |r| encode_cursor(&[&r.search_rank.to_string(), &r.user.username]),
        |r| User::from_model(r.user, &relations, &state),
    ))
}

/// The folded needle and the cursor's position of a user search, or why they are invalid.
fn search_terms(q: &str, page: &PageRequest) -> Result<(String, Option<(i32, String)>), AppError> {
    let length = q.chars().count();
    if !(1..=100).contains(&length) {
        return Err(AppError::bad_request(
            "invalid_query",
            "`q` must be 1 to 100 characters long.",
        ));
    }
    if q.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_query",
            "`q` must not contain control characters.",
        ));
    }
    let after = match page.after_parts::<2>()? {
        None => None,
        Some([rank, username]) => {
            let rank = rank.parse::<i32>().map_err(|_| invalid_cursor())?;
            let username = Username::parse(&username).map_err(|_| invalid_cursor())?;
            Some((rank, username.as_str().to_owned()))
        }
    };
    Ok((domain::fold_case(q), after))
}

fn invalid_cursor() -> AppError {
    AppError::bad_request(
        "invalid_cursor",
        "`cursor` is not a cursor this list issued.",
    )
}

fn ids<R>(rows: &[R], id: impl Fn(&R) -> Uuid) -> Vec<Uuid> {
    rows.iter().map(id).collect()
}

/// A user's profile
///
/// Public. Counts are exact. For an authenticated viewer, `following` says whether the
/// viewer follows this user and `followed_by` whether this user follows the viewer
/// (`null` for anonymous viewers and on yourself). Usernames match case-insensitively.
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
    let found = find_user(&state, &username).await?;
    let relations = store::relations(&state.db, viewer.0.map(|v| v.user_id), &[found.id]).await?;
    Ok(AppJson(User::from_model(found, &relations, &state)))
}

/// Follow a user
///
/// Idempotent: following someone you already follow is still 204 and keeps the original
/// follow (and its place in lists). 404 for an unknown user, 422 for yourself.
#[utoipa::path(
    put,
    path = "/me/following/{username}",
    tag = "Follows",
    operation_id = "follow_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to follow.", example = "bob")),
    responses(
        (status = 204, description = "You follow this user."),
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
    let target = find_user(&state, &username).await?;
    if target.id == user.user_id {
        return Err(AppError::Unprocessable {
            code: "cannot_follow_self",
            detail: "You cannot follow yourself.".into(),
        });
    }
    let (follower, followee, now) = (user.user_id, target.id, state.clock.now());
    db::write_transaction(&state.db, |transaction| {
        Box::pin(async move { store::follow(transaction, follower, followee, now).await })
    })
    .await
    .map_err(|error| {
        // One of the two accounts was deleted after it was looked up.
        if is_foreign_key_violation(&error) {
            AppError::not_found(format!("There is no user named {username:?}."))
        } else {
            error.into()
        }
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unfollow a user
///
/// Idempotent: unfollowing someone you do not follow is still 204. 404 for an unknown user.
#[utoipa::path(
    delete,
    path = "/me/following/{username}",
    tag = "Follows",
    operation_id = "unfollow_user",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to stop following.", example = "bob")),
    responses(
        (status = 204, description = "You do not follow this user."),
        (status = 404, description = "No user has this username.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::user_not_found())),
    )
)]
pub async fn unfollow_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    let target = find_user(&state, &username).await?;
    let (follower, followee) = (user.user_id, target.id);
    db::write_transaction(&state.db, |transaction| {
        Box::pin(async move { store::unfollow(transaction, follower, followee).await })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn follow_page(
    state: &AppState,
    subject: Uuid,
    list: FollowList,
    viewer: Option<Uuid>,
    page: &PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let rows = store::list_follows(
        &state.db,
        subject,
        list,
        page.after_id()?,
        page.fetch_limit(),
    )
    .await?;
    let relations = store::relations(&state.db, viewer, &ids(&rows, |r| r.user.id)).await?;
    Ok(page.finish(
        rows,
        |r| encode_cursor(&[&r.follow_id.to_string()]),
        |r| User::from_model(r.user, &relations, state),
    ))
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
    follow_page(
        &state,
        user.user_id,
        FollowList::Followers,
        Some(user.user_id),
        &page,
    )
    .await
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
    follow_page(
        &state,
        user.user_id,
        FollowList::Following,
        Some(user.user_id),
        &page,
    )
    .await
}

/// A user's followers
///
/// Users who follow this user, most recent follow first. Public.
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
    let subject = find_user(&state, &username).await?;
    follow_page(
        &state,
        subject.id,
        FollowList::Followers,
        viewer.0.map(|v| v.user_id),
        &page,
    )
    .await
}

/// Whom a user follows
///
/// Users this user follows, most recent follow first. Public.
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
    let subject = find_user(&state, &username).await?;
    follow_page(
        &state,
        subject.id,
        FollowList::Following,
        viewer.0.map(|v| v.user_id),
        &page,
    )
    .await
}
