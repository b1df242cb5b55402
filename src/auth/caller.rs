//! `Caller`: a request's credentials, checked by the query the handler runs anyway.
//!
//! [`AuthUser`] and [`MaybeAuthUser`](super::MaybeAuthUser) check a token with a statement of
//! their own before the handler starts. On the busiest read paths (a post, a page of posts,
//! `/me`, user search) that statement was a third to a half of the request's cost, so those
//! handlers take a `Caller` instead. Its [`viewer_cte`](Caller::viewer_cte) puts the token
//! lookup into the handler's query as a `viewer` table, every row reports what the lookup
//! found ([`ViewerColumns`]), and [`settle`](Caller::settle) turns that into the answer the
//! extractors would have given, by the same rules: a token that is presented but unknown,
//! expired or revoked is a 401, even on a public endpoint, and is reported before any other
//! error of the request ([`first`](Caller::first)).

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use chrono::{DateTime, Utc};
use sea_orm::{FromQueryResult, Value};
use uuid::Uuid;

use super::extract::{INVALID, MISSING, bearer_token};
use super::{AuthUser, store, token};
use crate::app::AppState;
use crate::error::AppError;

/// Who a request says it is, not yet checked.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// A well-formed bearer token, by its digest.
    Presented { digest: String },
    /// Already checked (by an extractor, or by the handler earlier in the request).
    Verified(AuthUser),
}

/// The common table expression `viewer` looked up by token digest.
const VIEWER_BY_DIGEST: &str = "WITH viewer AS (SELECT t.user_id, t.id AS token_id, \
     t.expires_at FROM auth_tokens t WHERE t.token_hash = ?) ";
/// The same, looked up by token id for a caller already verified.
const VIEWER_BY_TOKEN_ID: &str = "WITH viewer AS (SELECT t.user_id, t.id AS token_id, \
     t.expires_at FROM auth_tokens t WHERE t.id = ?) ";

/// The columns by which a row reports the `viewer` lookup, for a query that joins it as `v`
/// (`LEFT JOIN viewer v ON TRUE`, so an anonymous caller still gets rows).
pub const VIEWER_COLUMNS: &str =
    "v.user_id AS viewer_id, v.token_id AS viewer_token_id, v.expires_at AS viewer_expires_at";

/// What one row of a query reports about the caller's token: all `None` when no token row
/// matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromQueryResult)]
pub struct ViewerColumns {
    pub viewer_id: Option<Uuid>,
    pub viewer_token_id: Option<Uuid>,
    pub viewer_expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    /// The `WITH viewer AS (…)` prefix for the caller's query, and the value to bind first.
    /// `viewer` has one row (`user_id`, `token_id`, `expires_at`) when the token exists, none
    /// otherwise; it does not judge expiry, [`settle`](Self::settle) does.
    pub fn viewer_cte(&self) -> (&'static str, Value) {
        match self {
            Caller::Anonymous => (VIEWER_BY_DIGEST, Value::String(None)),
            Caller::Presented { digest } => (VIEWER_BY_DIGEST, digest.clone().into()),
            Caller::Verified(user) => (VIEWER_BY_TOKEN_ID, user.token_id.into()),
        }
    }

    /// Refuses an anonymous caller (for endpoints that need a token) before any query.
    pub fn required(self) -> Result<Self, AppError> {
        match self {
            Caller::Anonymous => Err(MISSING),
            caller => Ok(caller),
        }
    }

    /// The caller, given what the query's rows reported (`reported` is the first row's
    /// columns, `None` when the query returned no row, in which case the token is looked up
    /// on its own).
    pub async fn settle(
        &self,
        state: &AppState,
        reported: Option<ViewerColumns>,
    ) -> Result<Option<AuthUser>, AppError> {
        let digest = match self {
            Caller::Anonymous => return Ok(None),
            Caller::Verified(user) => return Ok(Some(*user)),
            Caller::Presented { digest } => digest,
        };
        let (user_id, token_id, expires_at) = match reported {
            Some(ViewerColumns {
                viewer_id: Some(user_id),
                viewer_token_id: Some(token_id),
                viewer_expires_at: Some(expires_at),
            }) => (user_id, token_id, expires_at),
            Some(_) => return Err(INVALID),
            None => {
                let row = store::find_token(&state.db, digest).await?.ok_or(INVALID)?;
                (row.user_id, row.id, row.expires_at)
            }
        };
        if expires_at <= state.clock.now() {
            return Err(INVALID);
        }
        Ok(Some(AuthUser { user_id, token_id }))
    }

    /// [`settle`](Self::settle) for a caller that must be authenticated.
    pub async fn settle_required(
        &self,
        state: &AppState,
        reported: Option<ViewerColumns>,
    ) -> Result<AuthUser, AppError> {
        self.settle(state, reported).await?.ok_or(MISSING)
    }

    /// `result`, except that a bad token is reported before its error, as it is on the
    /// endpoints whose extractors check the token first.
    pub async fn first<T>(
        &self,
        state: &AppState,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        if result.is_err() {
            self.settle(state, None).await?;
        }
        result
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(resolved) = parts.extensions.get::<Option<AuthUser>>() {
            return Ok(resolved.map_or(Caller::Anonymous, Caller::Verified));
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::Anonymous);
        };
        let presented = value.to_str().ok().and_then(bearer_token).ok_or(INVALID)?;
        Ok(Caller::Presented {
            digest: token::digest(presented),
        })
    }
}
