//! OAuth scopes, and the callers of the Mastodon-compatible API with the scopes their
//! token carries.
//!
//! A token of Roost's own API carries no scope list and may do everything; a token issued
//! through OAuth may do what its scopes grant. `read` grants every `read:…`, `write` every
//! `write:…`, and the legacy `follow` the follow, block and mute scopes, as in Mastodon.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::extract::TokenScopes;
use crate::auth::{AuthUser, MaybeAuthUser, Viewer};
use crate::error::AppError;
use crate::state::AppState;

/// Every scope a client may ask for.
pub const KNOWN: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];

/// What the legacy `follow` scope grants.
const FOLLOW: &[&str] = &[
    "read:blocks",
    "read:follows",
    "read:mutes",
    "write:blocks",
    "write:follows",
    "write:mutes",
];

/// Parses a space- (or `+`-) separated scope list, refusing unknown scopes; an empty list
/// is `default`.
pub fn parse(text: &str, default: &str) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in text
        .split([' ', '+', ','])
        .filter(|scope| !scope.is_empty())
    {
        if !KNOWN.contains(&scope) {
            return Err(format!("unknown scope {scope:?}"));
        }
        if !scopes.iter().any(|known| known == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        scopes.push(default.to_owned());
    }
    Ok(scopes)
}

/// Whether the granted list (space-separated) allows `required`, e.g. `read:statuses`.
pub fn allows(granted: &str, required: &str) -> bool {
    let family = required.split(':').next().unwrap_or(required);
    granted.split(' ').any(|scope| {
        scope == required
            || scope == family
            || (scope == "follow" && FOLLOW.contains(&required))
            || (required == "profile" && (scope == "read" || scope == "read:accounts"))
    })
}

/// Whether every scope of `wanted` is granted by `granted`.
pub fn all_allowed(granted: &str, wanted: &[String]) -> bool {
    wanted.iter().all(|scope| allows(granted, scope))
}

/// An authenticated caller of the Mastodon-compatible API: the account and what its token
/// may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: AuthUser,
    scopes: Option<Arc<str>>,
}

impl Caller {
    /// Refuses (403) unless the token grants `scope`.
    pub fn require(&self, scope: &str) -> Result<AuthUser, AppError> {
        match &self.scopes {
            Some(granted) if !allows(granted, scope) => Err(outside_scopes()),
            _ => Ok(self.user),
        }
    }
}

pub fn outside_scopes() -> AppError {
    AppError::forbidden(
        "outside_scopes",
        "This action is outside the authorized scopes",
    )
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let scopes = parts
            .extensions
            .get::<TokenScopes>()
            .and_then(|scopes| scopes.0.clone());
        Ok(Self { user, scopes })
    }
}

/// A caller who may be anonymous.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Caller>);

impl MaybeCaller {
    /// The account to see as, if any; a token that does not grant `scope` is refused (403),
    /// as Mastodon refuses a token without the scope even where no token is needed.
    pub fn viewer_with(&self, scope: &str) -> Result<Option<AuthUser>, AppError> {
        self.0
            .as_ref()
            .map(|caller| caller.require(scope))
            .transpose()
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MaybeAuthUser(user) = MaybeAuthUser::from_request_parts(parts, state).await?;
        let scopes = parts
            .extensions
            .get::<TokenScopes>()
            .and_then(|scopes| scopes.0.clone());
        Ok(Self(user.map(|user| Caller { user, scopes })))
    }
}

/// Most tokens whose scopes are kept in a [`ScopeCache`]; a full cache is emptied.
const MAX_CACHED_TOKENS: usize = 65_536;

/// The scopes of account tokens, by digest, for the read paths that check the token inside
/// their own query ([`ScopedViewer`]). A token's scopes never change once it is issued, so
/// an entry is never stale; whether the token is still valid (not revoked, not expired) is
/// checked by every request's own query, as for any [`Viewer`].
#[derive(Debug, Default)]
pub struct ScopeCache {
    entries: Mutex<HashMap<String, Option<Arc<str>>>>,
}

impl ScopeCache {
    /// The scopes of the account token with this digest (`Some(None)`: a token of Roost's
    /// own API), or `None` when no account token has it.
    async fn scopes(
        &self,
        state: &AppState,
        digest: &str,
    ) -> Result<Option<Option<Arc<str>>>, AppError> {
        if let Some(found) = self.lock().get(digest) {
            return Ok(Some(found.clone()));
        }
        let Some(row) = crate::auth::store::find_token(&state.db, digest).await? else {
            return Ok(None);
        };
        let scopes: Option<Arc<str>> = row.scopes.map(Arc::from);
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_TOKENS {
            entries.clear();
        }
        entries.insert(digest.to_owned(), scopes.clone());
        Ok(Some(scopes))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Arc<str>>>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A caller on the busiest read paths (the home timeline, a status, `verify_credentials`):
/// a [`Viewer`], whose token the service's own query checks, with the token's scopes
/// from the [`ScopeCache`]; the request costs the statements Roost's own API spends.
#[derive(Debug, Clone)]
pub struct ScopedViewer {
    viewer: Viewer,
    scopes: Option<Arc<str>>,
}

impl ScopedViewer {
    /// The viewer, anonymous or not, unless its token does not grant `scope` (403).
    pub fn require(self, scope: &str) -> Result<Viewer, AppError> {
        match &self.scopes {
            Some(granted) if !allows(granted, scope) => Err(outside_scopes()),
            _ => Ok(self.viewer),
        }
    }

    /// As [`ScopedViewer::require`], for what only an account may read (401 without one).
    pub fn require_signed_in(self, scope: &str) -> Result<Viewer, AppError> {
        if self.viewer.is_anonymous() {
            return Err(crate::auth::extract::MISSING);
        }
        self.require(scope)
    }
}

impl FromRequestParts<AppState> for ScopedViewer {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let scopes = match &viewer {
            Viewer::Anonymous => None,
            Viewer::Presented { digest, .. } => {
                state.token_scopes.scopes(state, digest).await?.flatten()
            }
            Viewer::Verified(_) => parts
                .extensions
                .get::<TokenScopes>()
                .and_then(|scopes| scopes.0.clone()),
        };
        Ok(Self { viewer, scopes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_follow_grant_their_members() {
        assert!(allows("read", "read:statuses"));
        assert!(allows("read:statuses write", "write:media"));
        assert!(!allows("read:statuses", "read:notifications"));
        assert!(!allows("read", "write:statuses"));
        assert!(allows("follow", "write:follows"));
        assert!(!allows("follow", "write:statuses"));
        assert!(allows("read", "profile"));
        assert!(allows("profile", "profile"));
    }

    #[test]
    fn scope_lists_parse_and_default() {
        assert_eq!(parse("", "read").unwrap(), ["read"]);
        assert_eq!(
            parse("read write+follow read", "read").unwrap(),
            ["read", "write", "follow"]
        );
        assert!(parse("read admin:everything", "read").is_err());
    }
}
