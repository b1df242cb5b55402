//! `AuthUser` and `MaybeAuthUser`: the extractors that make each handler's permission
//! visible in its signature.
//!
//! A token is accepted from `Authorization: Bearer <token>` or `Authorization: Token <token>`
//! and nowhere else (never from the query string). A token that is presented but unknown,
//! expired or revoked is a 401 even on public endpoints, and before any other error of the
//! request ([`refuse_dead_tokens_first`]). A token an OAuth app holds for itself (client
//! credentials) is valid but acts for no account: an anonymous caller.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::{store, token};
use crate::error::AppError;
use crate::state::AppState;

/// An authenticated caller. Rejects with 401 when no valid token was presented.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: Uuid,
    /// The token this request used (logout revokes it; password change keeps it).
    pub token_id: Uuid,
}

/// A caller who may be anonymous. Still rejects with 401 when a token is presented but
/// is not valid, so a client never silently reads as anonymous with a dead token.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

pub(crate) const MISSING: AppError = AppError::Unauthorized {
    code: "unauthorized",
    detail: "This endpoint needs an `Authorization: Bearer <token>` header.",
};
pub(crate) const INVALID: AppError = AppError::Unauthorized {
    code: "invalid_token",
    detail: "The token is malformed, expired or revoked.",
};

/// Raised once the request's token has been found valid, by whichever of the extractors or
/// of the services' queries checked it (see [`refuse_dead_tokens_first`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenChecked(pub(crate) Arc<AtomicBool>);

/// Middleware: a request that presents a token which is unknown, expired or revoked gets
/// the 401 for it, whatever else is wrong with the request.
///
/// Handlers' extractors and services refuse a request for many reasons (a malformed query
/// or cursor, a body of the wrong type, an unknown id) and may do so before anything has
/// looked at the token. Rather than every one of them checking the token first, this layer
/// looks at the answer: when it is a client error other than a 401 and the token was not
/// found valid while the request was served, the token is checked now, and a dead one
/// replaces the answer with its 401. Successful requests pay nothing for this.
pub async fn refuse_dead_tokens_first(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(presented) = request.headers().get(header::AUTHORIZATION).cloned() else {
        return next.run(request).await;
    };
    let checked = TokenChecked::default();
    request.extensions_mut().insert(checked.clone());
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error()
        || status == StatusCode::UNAUTHORIZED
        || checked.0.load(Ordering::Relaxed)
    {
        return response;
    }
    match check_presented(&state, &presented).await {
        Ok(_) => response,
        Err(error) => error.into_response(),
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await?.ok_or(MISSING)
    }
}

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(MaybeAuthUser)
    }
}

/// Resolves the request's credentials once; later extractors reuse the result.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Option<AuthUser>, AppError> {
    if let Some(resolved) = parts.extensions.get::<Option<AuthUser>>() {
        return Ok(*resolved);
    }
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        parts.extensions.insert(None::<AuthUser>);
        return Ok(None);
    };
    let found = check_presented_scoped(state, value).await?;
    if let Some(checked) = parts.extensions.get::<TokenChecked>() {
        checked.0.store(true, Ordering::Relaxed);
    }
    // An app's own token is valid but acts for no account: the caller is anonymous.
    let user = found.map(|(user, scopes)| {
        parts.extensions.insert(TokenScopes(scopes));
        user
    });
    parts.extensions.insert(user);
    Ok(user)
}

/// The user whose token the `Authorization` value carries (`None` for an OAuth app's own
/// token), or the 401 for it.
async fn check_presented(
    state: &AppState,
    value: &HeaderValue,
) -> Result<Option<AuthUser>, AppError> {
    check_presented_scoped(state, value)
        .await
        .map(|found| found.map(|(user, _)| user))
}

/// Marks the request's `Authorization` header as dealt with, for an endpoint where it
/// carries other credentials than a bearer token (OAuth's client authentication, HTTP
/// Basic): [`refuse_dead_tokens_first`] then leaves its answers alone.
pub fn authorization_handled(extensions: &axum::http::Extensions) {
    if let Some(checked) = extensions.get::<TokenChecked>() {
        checked.0.store(true, Ordering::Relaxed);
    }
}

/// The OAuth app the request's token was issued to: `Some` for a token issued through OAuth
/// (to an account, or an app's own), `None` for a valid token of Roost's own API, and the
/// 401 when no valid token was presented.
pub async fn presented_app(state: &AppState, parts: &Parts) -> Result<Option<Uuid>, AppError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or(MISSING)?;
    let presented = value.to_str().ok().and_then(bearer_token).ok_or(INVALID)?;
    let digest = token::digest(presented);
    if let Some(row) = store::find_token(&state.db, &digest).await? {
        if row.expires_at <= state.clock.now() {
            return Err(INVALID);
        }
        authorization_handled(&parts.extensions);
        return Ok(row.app_id);
    }
    let row = store::find_app_token(&state.db, &digest)
        .await?
        .filter(|row| {
            row.expires_at
                .is_none_or(|expires_at| expires_at > state.clock.now())
        })
        .ok_or(INVALID)?;
    authorization_handled(&parts.extensions);
    Ok(Some(row.app_id))
}

/// Whether `digest` is a live token an OAuth app holds for itself (client credentials):
/// valid, but acting for no account. Consulted only once no account's token matched.
pub(crate) async fn is_app_token(state: &AppState, digest: &str) -> Result<bool, AppError> {
    let row = store::find_app_token(&state.db, digest).await?;
    Ok(row.is_some_and(|row| {
        row.expires_at
            .is_none_or(|expires_at| expires_at > state.clock.now())
    }))
}

/// The scopes of the token a request was authenticated with, set by the extractors:
/// `None` for a token of Roost's own API, which may do everything.
#[derive(Debug, Clone, Default)]
pub struct TokenScopes(pub Option<Arc<str>>);

/// The account and scopes of the presented token, `None` for an app's own token.
async fn check_presented_scoped(
    state: &AppState,
    value: &HeaderValue,
) -> Result<Option<(AuthUser, Option<Arc<str>>)>, AppError> {
    let presented = value.to_str().ok().and_then(bearer_token).ok_or(INVALID)?;
    let digest = token::digest(presented);
    let Some(row) = store::find_token(&state.db, &digest).await? else {
        return if is_app_token(state, &digest).await? {
            Ok(None)
        } else {
            Err(INVALID)
        };
    };
    if row.expires_at <= state.clock.now() {
        return Err(INVALID);
    }
    Ok(Some((
        AuthUser {
            user_id: row.user_id,
            token_id: row.id,
        },
        row.scopes.map(Arc::from),
    )))
}

/// The token in an `Authorization` value, if the scheme is `Bearer` or `Token`
/// (case-insensitive) and the token has the shape of one we issue.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let scheme_ok = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    let token = token.trim();
    (scheme_ok && token::looks_like_token(token)).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";

    #[test]
    fn both_schemes_are_accepted_case_insensitively() {
        assert_eq!(bearer_token(&format!("Bearer {TOKEN}")), Some(TOKEN));
        assert_eq!(bearer_token(&format!("bearer {TOKEN}")), Some(TOKEN));
        assert_eq!(bearer_token(&format!("Token {TOKEN}")), Some(TOKEN));
    }

    #[test]
    fn other_schemes_and_shapes_are_refused() {
        assert_eq!(bearer_token(&format!("Basic {TOKEN}")), None);
        assert_eq!(bearer_token(TOKEN), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer not-a-token"), None);
    }
}
