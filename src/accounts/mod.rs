//! Accounts and sessions: registration, login, logout, logout everywhere and password
//! change (the `/auth` routes). Built on [`crate::auth`] (tokens, passwords, the failed-login
//! rule) and [`crate::users`] (the account's profile), which depend on neither this module
//! nor each other's routes.

pub mod routes;
pub mod service;
