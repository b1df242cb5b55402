//! OAuth scopes, and the callers of the Mastodon-compatible API with the scopes their
//! token carries.
//!
//! A token of Roost's own API carries no scope list and may do everything; a token issued
//! through OAuth may do what its scopes grant. `read` grants every `read:…`, `write` every
//! `write:…`, and the legacy `follow` the follow, block and mute scopes, as in Mastodon.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::extract::TokenScopes;
use crate::auth::{AuthUser, MaybeAuthUser};
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
    /// The account to see as when the token grants `scope`; anonymous otherwise (a token
    /// without the scope reads what anyone may read).
    pub fn viewer_with(&self, scope: &str) -> Option<AuthUser> {
        self.0
            .as_ref()
            .and_then(|caller| caller.require(scope).ok())
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
