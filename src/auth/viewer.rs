//! `Viewer`: who a request says it is, checked by the query the service runs anyway.
//!
//! [`AuthUser`] and [`MaybeAuthUser`](super::MaybeAuthUser) check a token with a statement of
//! their own before the handler starts. On the busiest read paths (a post, a page of posts,
//! `/me`, user search) that statement was a third to a half of the request's cost, so those
//! handlers take a `Viewer` (or a [`SignedInViewer`]) instead and hand it to a service. The
//! store puts the token lookup into the service's own query as a `viewer` table
//! ([`Viewer::with_clause`]), every row reports what the lookup found ([`ViewerColumns`]), and
//! [`Viewer::settle`] turns that into the answer the extractors would have given, by the
//! same rules: a token that is presented but unknown, expired or revoked is a 401, even on a
//! public endpoint. That a dead token is reported before any other error of the request is
//! not the handlers' concern either: see [`refuse_dead_tokens_first`](super::refuse_dead_tokens_first).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use chrono::{DateTime, Utc};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{
    CommonTableExpression, Expr, ExprTrait, JoinType, Query, SelectStatement, WithClause,
};
use uuid::Uuid;

use super::entity::token;
use super::extract::{INVALID, MISSING, TokenChecked, bearer_token, is_app_token};
use super::{AuthUser, store};
use crate::auth::token as tokens;
use crate::error::AppError;
use crate::state::AppState;

/// Who a request says it is, not yet checked: the actor every service takes.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// No `Authorization` header.
    Anonymous,
    /// A well-formed bearer token, by its digest. `checked` is raised once it is found
    /// valid, so that it is not looked up a second time.
    Presented {
        digest: String,
        checked: Arc<AtomicBool>,
    },
    /// Already checked (by an extractor, or earlier in the request).
    Verified(AuthUser),
}

/// A [`Viewer`] that must present a token: an anonymous request is refused with 401 before
/// the handler runs; a presented token is checked by the service's query.
#[derive(Debug, Clone)]
pub struct SignedInViewer(pub Viewer);

impl From<SignedInViewer> for Viewer {
    fn from(viewer: SignedInViewer) -> Self {
        viewer.0
    }
}

impl From<AuthUser> for Viewer {
    fn from(user: AuthUser) -> Self {
        Viewer::Verified(user)
    }
}

/// What one row of a query reports about the viewer's token: all `None` when no token row
/// matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromQueryResult)]
pub struct ViewerColumns {
    pub viewer_id: Option<Uuid>,
    pub viewer_token_id: Option<Uuid>,
    pub viewer_expires_at: Option<DateTime<Utc>>,
}

impl Viewer {
    /// Whether the request presented no token at all.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Viewer::Anonymous)
    }

    /// `WITH viewer AS (…)`, the token lookup for a query: `viewer` has one row
    /// (`user_id`, `token_id`, `expires_at`) when the token exists, none otherwise; it does
    /// not judge expiry, [`settle`](Self::settle) does. An anonymous viewer looks up a
    /// `NULL` digest, which matches nothing, so that its statement is the same as a
    /// presented token's (one prepared statement for both).
    pub fn with_clause(&self) -> WithClause {
        let mut tokens = Query::select();
        tokens
            .column(("t", token::Column::UserId))
            .expr_as(Expr::col(("t", token::Column::Id)), "token_id")
            .column(("t", token::Column::ExpiresAt))
            .from_as(token::Entity, "t");
        match self {
            Viewer::Anonymous => tokens
                .and_where(Expr::col(("t", token::Column::TokenHash)).eq(Option::<String>::None)),
            Viewer::Presented { digest, .. } => {
                tokens.and_where(Expr::col(("t", token::Column::TokenHash)).eq(digest.as_str()))
            }
            Viewer::Verified(user) => {
                tokens.and_where(Expr::col(("t", token::Column::Id)).eq(user.token_id))
            }
        };
        WithClause::new()
            .cte(
                CommonTableExpression::new()
                    .query(tokens)
                    .table_name("viewer")
                    .to_owned(),
            )
            .to_owned()
    }

    /// Joins `viewer` (from [`with_clause`](Self::with_clause)) to `select` as `v`, with
    /// `LEFT JOIN … ON TRUE` so that an anonymous viewer still gets rows, and selects the
    /// columns by which each row reports the lookup ([`ViewerColumns`]).
    pub fn join_columns(&self, select: &mut SelectStatement) {
        Self::columns(select);
        select.join_as(JoinType::LeftJoin, "viewer", "v", Expr::cust("TRUE"));
    }

    /// Selects the columns by which each row reports the lookup ([`ViewerColumns`]), for a
    /// query that reads `viewer` as `v`.
    pub fn columns(select: &mut SelectStatement) {
        select
            .expr_as(Expr::col(("v", "user_id")), "viewer_id")
            .expr_as(Expr::col(("v", "token_id")), "viewer_token_id")
            .expr_as(Expr::col(("v", "expires_at")), "viewer_expires_at");
    }

    /// The viewer, given what a query's rows reported (`reported` is the first row's
    /// columns, `None` when the query returned no row or none was run, in which case the
    /// token is looked up on its own).
    pub async fn settle(
        &self,
        state: &AppState,
        reported: Option<ViewerColumns>,
    ) -> Result<Option<AuthUser>, AppError> {
        let (digest, checked) = match self {
            Viewer::Anonymous => return Ok(None),
            Viewer::Verified(user) => return Ok(Some(*user)),
            Viewer::Presented { digest, checked } => (digest, checked),
        };
        let found = match reported {
            Some(ViewerColumns {
                viewer_id: Some(user_id),
                viewer_token_id: Some(token_id),
                viewer_expires_at: Some(expires_at),
            }) => Some((user_id, token_id, expires_at)),
            Some(_) => None,
            None => store::find_token(&state.db, digest)
                .await?
                .map(|row| (row.user_id, row.id, row.expires_at)),
        };
        let Some((user_id, token_id, expires_at)) = found else {
            // No account's token: an OAuth app's own token reads as anonymous (the query
            // ran with a viewer that matched nothing, as an anonymous one does).
            if is_app_token(state, digest).await? {
                checked.store(true, Ordering::Relaxed);
                return Ok(None);
            }
            return Err(INVALID);
        };
        if expires_at <= state.clock.now() {
            return Err(INVALID);
        }
        checked.store(true, Ordering::Relaxed);
        Ok(Some(AuthUser { user_id, token_id }))
    }

    /// [`settle`](Self::settle) for a viewer that must be authenticated.
    pub async fn settle_required(
        &self,
        state: &AppState,
        reported: Option<ViewerColumns>,
    ) -> Result<AuthUser, AppError> {
        self.settle(state, reported).await?.ok_or(MISSING)
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(resolved) = parts.extensions.get::<Option<AuthUser>>() {
            return Ok(resolved.map_or(Viewer::Anonymous, Viewer::Verified));
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Viewer::Anonymous);
        };
        let presented = value.to_str().ok().and_then(bearer_token).ok_or(INVALID)?;
        let checked = parts
            .extensions
            .get::<TokenChecked>()
            .map_or_else(Default::default, |checked| Arc::clone(&checked.0));
        Ok(Viewer::Presented {
            digest: tokens::digest(presented),
            checked,
        })
    }
}

impl FromRequestParts<AppState> for SignedInViewer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Viewer::from_request_parts(parts, state).await? {
            Viewer::Anonymous => Err(MISSING),
            viewer => Ok(SignedInViewer(viewer)),
        }
    }
}
