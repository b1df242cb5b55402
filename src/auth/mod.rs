//! Accounts and sessions: registration, login, logout, password change; password hashing,
//! bearer tokens, the failed-login rule, and the `AuthUser` / `MaybeAuthUser` extractors.

pub mod caller;
pub mod domain;
pub mod entity;
pub mod extract;
pub mod password;
pub mod routes;
pub mod store;
pub mod throttle;
pub mod token;

pub use caller::{Caller, ViewerColumns};
pub use extract::{AuthUser, MaybeAuthUser};

use uuid::Uuid;

use crate::error::AppError;

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
