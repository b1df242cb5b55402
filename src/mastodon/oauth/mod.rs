//! OAuth 2 as Mastodon clients use it: apps register themselves (`POST /api/v1/apps`), a
//! person signs in and consents on a server-rendered page (`/oauth/authorize`), and the
//! app exchanges the code for a token (`/oauth/token`), which it may revoke
//! (`/oauth/revoke`). The server describes all this at
//! `/.well-known/oauth-authorization-server`.
//!
//! - A token issued to an account is an ordinary Roost token (a row of `auth_tokens`) with
//!   the app and the scopes granted: it works on both APIs (Roost's own API ignores
//!   scopes), and logging out of either revokes it. It lasts until revoked unless
//!   `ROOST_OAUTH_TOKEN_TTL_SECS` is set, since these apps cannot refresh one.
//! - An app's own token (the client-credentials grant) acts for no account: public
//!   endpoints read it as anonymous, and `GET /api/v1/apps/verify_credentials` names the
//!   app.
//! - Client secrets, codes and tokens are stored only as SHA-256 digests.
//! - Signing in on the page or with the password grant is Roost's login: the same
//!   failed-login rule, and the same answer for an unknown address and a wrong password.

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};

use crate::state::AppState;

mod apps;
mod authorize;
mod csrf;
pub mod entity;
mod page;
mod store;
mod token;

/// The redirect URI that asks for the code to be shown on the page instead.
pub const OUT_OF_BAND: &str = "urn:ietf:wg:oauth:2.0:oob";

/// How long an authorization code may be exchanged.
const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/apps", post(apps::create_app))
        .route(
            "/api/v1/apps/verify_credentials",
            get(apps::verify_app_credentials),
        )
        .route(
            "/oauth/authorize",
            get(authorize::show_authorize_page).post(authorize::submit_authorize_form),
        )
        .route("/oauth/token", post(token::issue_token))
        .route("/oauth/revoke", post(token::revoke_token))
        .route(
            "/.well-known/oauth-authorization-server",
            get(token::server_metadata),
        )
}

/// When a token issued now stops working: after `ROOST_OAUTH_TOKEN_TTL_SECS`, or never
/// (the last second of year 9999, which both databases store and compare as any other
/// time).
fn token_expiry(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    match state.config.oauth_token_ttl {
        Some(ttl) => now + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX),
        None => never(),
    }
}

fn never() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether `secret` is the client secret of `app` (compared by digest, in constant time).
fn secret_matches(app: &entity::app::Model, secret: &str) -> bool {
    let presented = crate::auth::token::digest(secret);
    constant_time_eq(presented.as_bytes(), app.client_secret_hash.as_bytes())
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_is_the_end_of_year_9999() {
        assert_eq!(never().to_rfc3339(), "9999-12-31T23:59:59+00:00");
    }

    #[test]
    fn equal_bytes_compare_equal() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
