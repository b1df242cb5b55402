//! Accounts and sessions: registration, login, logout, password change; password hashing,
//! bearer tokens, the failed-login rule, and the `AuthUser` / `MaybeAuthUser` extractors.

pub mod domain;
pub mod entity;
pub mod extract;
pub mod password;
pub mod routes;
pub mod store;
pub mod throttle;
pub mod token;

pub use extract::{AuthUser, MaybeAuthUser};
