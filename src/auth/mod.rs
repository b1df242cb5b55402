//! Who is asking: password hashing, bearer tokens, the failed-login rule, the `AuthUser` /
//! `MaybeAuthUser` extractors and the `Viewer` that services take. Depends on no feature;
//! the `/auth` routes are [`crate::accounts`].

pub mod domain;
pub mod entity;
pub mod extract;
pub mod password;
pub mod store;
pub mod throttle;
pub mod token;
pub mod viewer;

pub use extract::{AuthUser, MaybeAuthUser, refuse_dead_tokens_first};
pub use viewer::{SignedInViewer, Viewer, ViewerColumns};

use uuid::Uuid;

use crate::error::AppError;

/// The 401 for a token that is malformed, unknown, expired or revoked (or whose account is
/// gone).
pub fn invalid_token() -> AppError {
    extract::INVALID
}

/// The one ownership check: only the owner of a resource may change or delete it.
pub fn ensure_owner(owner_id: Uuid, user: AuthUser, what: &str) -> Result<(), AppError> {
    if owner_id == user.user_id {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "not_owner",
            format!("Only the author of this {what} may change or delete it."),
        ))
    }
}
