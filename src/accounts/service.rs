//! The rules of accounts and sessions, for every API: registering (unique email and
//! username), logging in (the failed-login rule, the same answer for an unknown email and a
//! wrong password), logging out, and changing a password.

use chrono::{DateTime, TimeDelta, Utc};

use crate::auth::domain::{Email, Password};
use crate::auth::{AuthUser, store, throttle, token};
use crate::db;
use crate::error::{AppError, FieldError, is_unique_violation};
use crate::state::AppState;
use crate::users::domain::Username;
use crate::users::{self, Me};

/// A registration, as sent.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub username: String,
}

/// Creates an account, listing every broken rule at once. No token is issued.
pub async fn register(state: &AppState, registration: Registration) -> Result<Me, AppError> {
    let mut errors = Vec::new();
    let email =
        Email::parse(&registration.email).map_err(|m| errors.push(FieldError::new("email", m)));
    let password = Password::parse(registration.password)
        .map_err(|m| errors.push(FieldError::new("password", m)));
    let username = Username::parse(&registration.username)
        .map_err(|m| errors.push(FieldError::new("username", m)));
    let (Ok(email), Ok(password), Ok(username)) = (email, password, username) else {
        return Err(AppError::Validation(errors));
    };

    // Checked before hashing so a clash costs no Argon2 work; the unique indexes still
    // decide races between two registrations.
    if users::store::email_exists(&state.db, email.as_str()).await? {
        return Err(email_taken());
    }
    if users::store::username_exists(&state.db, username.as_str()).await? {
        return Err(users::service::username_taken());
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
                users::service::username_taken()
            }
        } else {
            error.into()
        }
    })?;
    Ok(Me::from_model(created, state))
}

fn email_taken() -> AppError {
    AppError::Conflict {
        code: "email_taken",
        detail: "An account with this email address already exists.".into(),
        field: "email",
    }
}

fn invalid_credentials() -> AppError {
    AppError::Unauthorized {
        code: "invalid_credentials",
        detail: "The email address or the password is wrong.",
    }
}

/// A new session: the token (shown once) and its account.
#[derive(Debug)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub account: Me,
}

/// Exchanges an email address and a password for a new token.
pub async fn login(state: &AppState, email: &str, password: String) -> Result<Session, AppError> {
    let account = check_credentials(state, email, password).await?;
    let now = state.clock.now();
    let expires_at = now + TimeDelta::from_std(state.config.token_ttl).unwrap_or(TimeDelta::MAX);
    let minted = token::generate()?;
    store::insert_token(&state.db, account.id, minted.digest, now, expires_at).await?;
    Ok(Session {
        token: minted.token,
        expires_at,
        account: Me::from_model(account, state),
    })
}

/// The account an email address and a password sign in to, under the failed-login rule
/// (429 while the address is locked out), with the same 401 for an unknown address and a
/// wrong password. Every sign-in (this API's login, OAuth's forms and grants) goes
/// through it.
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<users::entity::user::Model, AppError> {
    let account = match Email::parse(email) {
        Ok(email) => users::store::find_by_email(&state.db, email.as_str()).await?,
        Err(_) => None,
    };
    let stored_hash = account
        .as_ref()
        .map(|account| account.password_hash.clone());
    // Always one Argon2 verification, against a dummy hash when there is no account, so
    // an unknown address costs the same time as a wrong password.
    let throttle_key = Email::throttle_key(email);
    let verified = throttle::verify_password(state, &throttle_key, password, stored_hash).await?;
    account.filter(|_| verified).ok_or_else(invalid_credentials)
}

/// Revokes the token `user` used.
pub async fn logout(state: &AppState, user: AuthUser) -> Result<(), AppError> {
    store::delete_token(&state.db, user.token_id).await?;
    Ok(())
}

/// Revokes every token of `user`'s account.
pub async fn logout_everywhere(state: &AppState, user: AuthUser) -> Result<(), AppError> {
    store::delete_user_tokens(&state.db, user.user_id, None).await?;
    Ok(())
}

/// Replaces `user`'s password after checking the current one (a wrong one counts as a
/// failed login), and revokes every other token of the account.
pub async fn change_password(
    state: &AppState,
    user: AuthUser,
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    let new_password = Password::parse(new_password)
        .map_err(|message| AppError::validation("new_password", message))?;
    let account = users::store::find_by_id(&state.db, user.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("The account no longer exists."))?;

    let verified = throttle::verify_password(
        state,
        &account.email,
        current_password,
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
    Ok(())
}
