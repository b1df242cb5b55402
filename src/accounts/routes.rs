//! HTTP handlers under `/auth`: each calls one function of [`super::service`].

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, Registration};
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::{AppJson, Created};
use crate::state::AppState;
use crate::users::Me;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(change_password))
}

/// Body of `POST /auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "alice@example.com", "password": "correct horse battery", "username": "alice"}))]
pub struct RegisterRequest {
    /// A valid address; unique case-insensitively; stored lower-cased.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128, format = Password)]
    pub password: String,
    /// 3–30 characters of `a-z`, `0-9`, `_`; lower-cased; unique.
    #[schema(min_length = 3, max_length = 30, pattern = "^[A-Za-z0-9_]{3,30}$")]
    pub username: String,
}

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "alice@example.com", "password": "correct horse battery"}))]
pub struct LoginRequest {
    /// Case-insensitive.
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = Password)]
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!(examples::login_response()))]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`. Shown once; only its digest is stored.
    pub token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// When the token stops working unless revoked sooner.
    pub expires_at: DateTime<Utc>,
    pub user: Me,
}

/// Body of `POST /auth/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "correct horse battery", "new_password": "staple battery horse"}))]
pub struct ChangePasswordRequest {
    #[schema(format = Password)]
    pub current_password: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128, format = Password)]
    pub new_password: String,
}

/// Create an account
///
/// Registers a new account with an email address, a password and a username. No token is
/// issued: log in afterwards. Email and username are unique case-insensitively; a clash is
/// a 409 naming the field. Not idempotent: repeating the request gives 409.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "Auth",
    operation_id = "register",
    security(()),
    request_body(content = RegisterRequest, example = json!({"email": "alice@example.com", "password": "correct horse battery", "username": "alice"})),
    responses(
        (status = 201, description = "The account was created.", body = Me,
            headers(("Location" = String, description = "URL of the new user's public profile.")),
            example = json!(examples::me())),
        (status = 409, description = "The email address or the username is taken.", body = Problem,
            content_type = "application/problem+json", examples(
                ("email taken" = (value = json!(examples::conflict("email_taken", "email", "An account with this email address already exists.")))),
                ("username taken" = (value = json!(examples::conflict("username_taken", "username", "This username is taken.")))),
            )),
        (status = 422, description = "A field breaks a rule (or is missing, or has the wrong type).", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[
                ("email", "is not a valid email address"),
                ("password", "must be at least 8 characters"),
            ]))),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    // Nobody needs a token to register, but one that is presented must be valid.
    _viewer: MaybeAuthUser,
    AppJson(request): AppJson<RegisterRequest>,
) -> Result<Created<Me>, AppError> {
    let registration = Registration {
        email: request.email,
        password: request.password,
        username: request.username,
    };
    let me = service::register(&state, registration).await?;
    Ok(Created::at(
        &state.config.public_url,
        format!("/api/v1/users/{}", me.user.username),
        me,
    ))
}

/// Log in
///
/// Exchanges an email address and password for a bearer token valid for
/// `ROOST_TOKEN_TTL_SECS` (30 days by default). An unknown email and a wrong password get
/// the same 401 in comparable time. After 10 failed attempts for one email address within
/// 15 minutes, every attempt for it, even with the right password, gets 429 with
/// `Retry-After` until the window has passed. Each call creates a new, independent session.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "Auth",
    operation_id = "login",
    security(()),
    request_body(content = LoginRequest, example = json!({"email": "alice@example.com", "password": "correct horse battery"})),
    responses(
        (status = 200, description = "A new token.", body = LoginResponse, example = json!(examples::login_response())),
        (status = 401, description = "Unknown email address or wrong password (indistinguishable), or a token was sent \
but is malformed, expired or revoked.", body = Problem,
            content_type = "application/problem+json", examples(
                ("invalid credentials" = (value = json!(examples::invalid_credentials()))),
                ("invalid token" = (value = json!(examples::unauthorized()))),
            )),
        (status = 422, description = "A field is missing or not a string.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("password", "is required")]))),
        (status = 429, description = "Too many failed logins for this email address.", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until an attempt may succeed.")),
            example = json!(examples::too_many_failed_logins())),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    // Nobody needs a token to log in, but one that is presented must be valid.
    _viewer: MaybeAuthUser,
    AppJson(request): AppJson<LoginRequest>,
) -> Result<AppJson<LoginResponse>, AppError> {
    let session = service::login(&state, &request.email, request.password).await?;
    Ok(AppJson(LoginResponse {
        token: session.token,
        token_type: "Bearer".to_owned(),
        expires_at: session.expires_at,
        user: session.account,
    }))
}

/// Log out
///
/// Revokes the token used for this request. From the next request on, that token gets 401
/// everywhere, this endpoint included. Other sessions of the account are untouched.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "Auth",
    operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The token is revoked."),
    )
)]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, AppError> {
    service::logout(&state, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Log out everywhere
///
/// Revokes every token of the account, the one used for this request included.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "Auth",
    operation_id = "logout_all",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every token of the account is revoked."),
    )
)]
pub async fn logout_all(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, AppError> {
    service::logout_everywhere(&state, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your password
///
/// Replaces the password after checking the current one, and revokes every other token of
/// the account; the token used for this request stays valid. A wrong current password is a
/// 403 (`invalid_password`) and counts as a failed login for the account's email address.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "Auth",
    operation_id = "change_password",
    security(("bearer" = [])),
    request_body(content = ChangePasswordRequest, example = json!({"current_password": "correct horse battery", "new_password": "staple battery horse"})),
    responses(
        (status = 204, description = "The password is changed and other sessions are revoked."),
        (status = 403, description = "The current password is wrong.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_password())),
        (status = 422, description = "The new password breaks the length rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("new_password", "must be at least 8 characters")]))),
        (status = 429, description = "Too many failed attempts for this account.", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until an attempt may succeed.")),
            example = json!(examples::too_many_failed_logins())),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<ChangePasswordRequest>,
) -> Result<StatusCode, AppError> {
    service::change_password(&state, user, request.current_password, request.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
