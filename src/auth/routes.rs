//! HTTP handlers under `/auth`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::domain::{Email, Password};
use super::{AuthUser, store, throttle, token};
use crate::app::AppState;
use crate::db;
use crate::docs::examples;
use crate::error::{AppError, FieldError, Problem, is_unique_violation};
use crate::extract::AppJson;
use crate::users::domain::Username;
use crate::users::{self, Me};

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
    AppJson(request): AppJson<RegisterRequest>,
) -> Result<(StatusCode, HeaderMap, AppJson<Me>), AppError> {
    let mut errors = Vec::new();
    let email = Email::parse(&request.email).map_err(|m| errors.push(FieldError::new("email", m)));
    let password =
        Password::parse(request.password).map_err(|m| errors.push(FieldError::new("password", m)));
    let username =
        Username::parse(&request.username).map_err(|m| errors.push(FieldError::new("username", m)));
    let (Ok(email), Ok(password), Ok(username)) = (email, password, username) else {
        return Err(AppError::Validation(errors));
    };

    // Checked before hashing so a clash costs no Argon2 work; the unique indexes still
    // decide races between two registrations.
    if users::store::email_exists(&state.db, email.as_str()).await? {
        return Err(email_taken());
    }
    if users::store::username_exists(&state.db, username.as_str()).await? {
        return Err(username_taken());
    }

    let password_hash = state.passwords.hash(password.into_inner()).await?;
    let created = users::store::insert(
        &state.db,
        users::store::NewUser {
            email: email.as_str().to_owned(),
            username: username.as_str().to_owned(),
            password_hash,
            created_at: state.clock.now(),
        },
    )
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            if error.to_string().contains("email") {
                email_taken()
            } else {
                username_taken()
            }
        } else {
            error.into()
        }
    })?;

    let mut headers = HeaderMap::new();
    let location = format!(
        "{}/api/v1/users/{}",
        state.config.public_url, created.username
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        AppJson(Me::from_model(created, &state)),
    ))
}

fn email_taken() -> AppError {
    AppError::Conflict {
        code: "email_taken",
        detail: "An account with this email address already exists.".into(),
        field: "email",
    }
}

fn username_taken() -> AppError {
    AppError::Conflict {
        code: "username_taken",
        detail: "This username is taken.".into(),
        field: "username",
    }
}

fn invalid_credentials() -> AppError {
    AppError::Unauthorized {
        code: "invalid_credentials",
        detail: "The email address or the password is wrong.",
    }
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
    AppJson(request): AppJson<LoginRequest>,
) -> Result<AppJson<LoginResponse>, AppError> {
    let account = match Email::parse(&request.email) {
        Ok(email) => users::store::find_by_email(&state.db, email.as_str()).await?,
        Err(_) => None,
    };
    let stored_hash = account
        .as_ref()
        .map(|account| account.password_hash.clone());
    // Always one Argon2 verification, against a dummy hash when there is no account, so
    // an unknown address costs the same time as a wrong password.
    let throttle_key = Email::throttle_key(&request.email);
    let verified =
        throttle::verify_password(&state, &throttle_key, request.password, stored_hash).await?;
    let Some(account) = account.filter(|_| verified) else {
        return Err(invalid_credentials());
    };

    let now = state.clock.now();
    let expires_at = now + TimeDelta::from_std(state.config.token_ttl).unwrap_or(TimeDelta::MAX);
    let minted = token::generate()?;
    store::insert_token(&state.db, account.id, minted.digest, now, expires_at).await?;
    Ok(AppJson(LoginResponse {
        token: minted.token,
        token_type: "Bearer".to_owned(),
        expires_at,
        user: Me::from_model(account, &state),
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
    store::delete_token(&state.db, user.token_id).await?;
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
    store::delete_user_tokens(&state.db, user.user_id, None).await?;
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
    let new_password = Password::parse(request.new_password)
        .map_err(|message| AppError::validation("new_password", message))?;
    let account = users::store::find_by_id(&state.db, user.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("The account no longer exists."))?;

    let verified = throttle::verify_password(
        &state,
        &account.email,
        request.current_password,
        Some(account.password_hash.clone()),
    )
    .await?;
    if !verified {
        return Err(AppError::forbidden(
            "invalid_password",
            "The current password is wrong.",
        ));
    }

    let new_hash = state.passwords.hash(new_password.into_inner()).await?;
    let transaction = db::begin_write(&state.db).await?;
    users::store::set_password_hash(&transaction, account.id, new_hash).await?;
    store::delete_user_tokens(&transaction, account.id, Some(user.token_id)).await?;
    transaction.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
