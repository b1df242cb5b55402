//! The Mastodon-compatible client API, so that existing apps and libraries (Elk, Phanpy,
//! Tusky, Ivory, toot, Mastodon.py, masto.js …) work against Roost unchanged.
//!
//! It is served on a listener of its own (`ROOST_MASTODON_BIND`), since its paths collide
//! with Roost's `/api/v1`, in the same process and over the same database, under the same
//! budgets, overload protection, timeouts and body limits.
//!
//! Every handler is a thin adapter over the domain core's services: who may see what,
//! blocks and mutes, idempotency, media limits, scheduling, notifications and the stream
//! come from the code `/api/v1` calls. What is Mastodon's own is written once here:
//!
//! - [`params`]: parameters as JSON, form-urlencoded or multipart bodies and query strings;
//! - [`paging`]: `max_id` / `since_id` / `min_id` and the `Link` header;
//! - [`scopes`]: OAuth scopes and the [`scopes::Caller`] extractor;
//! - [`errors`]: `{"error": …}` for every error answer;
//! - [`entities`]: each Mastodon entity, converted from Roost's objects in one place;
//! - ids: the 64-bit numbers of Roost's UUIDv7 ids ([`crate::db::ids`]).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::state::AppState;
use crate::{auth, error, overload, ratelimit, security, stream, telemetry};

pub mod entities;
pub mod errors;
pub mod paging;
pub mod params;
pub mod scopes;

mod accounts;
mod empties;
mod images;
mod instance;
mod lookup;
mod media;
mod notifications;
mod oauth;
mod scheduled;
mod search;
mod statuses;
mod streaming;
mod timelines;

/// The Mastodon-compatible API, with its middleware: the same budgets, overload
/// protection and limits as Roost's own API, errors as `{"error": …}`, trailing slashes
/// tolerated, and CORS open to every origin (its tokens are bearer tokens, never cookies,
/// and browser apps such as Elk and Phanpy run on origins of their own).
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.json_body_limit;
    let api = Router::new()
        .merge(oauth::router())
        .merge(instance::router())
        .merge(accounts::router())
        .merge(statuses::router())
        .merge(timelines::router())
        .merge(notifications::router())
        .merge(media::router())
        .merge(search::router())
        .merge(scheduled::router())
        .merge(streaming::router())
        .merge(empties::router())
        .merge(images::router())
        .route_layer(from_fn_with_state(
            state.clone(),
            auth::refuse_dead_tokens_first,
        ))
        .route_layer(from_fn_with_state(state.clone(), stream::publish_signals));
    let app = api
        .fallback(error::route_not_found)
        .layer(from_fn_with_state(state.clone(), overload::admit))
        .layer(from_fn_with_state(
            state.clone(),
            ratelimit::enforce_mastodon_budgets,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::new())
        .layer(cors())
        .layer(from_fn(security::security_headers))
        .layer(telemetry::trace_layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(map_response(error::problem_json_fallback))
        .layer(map_response(errors::mastodon_errors))
        .with_state(state);
    // Before routing: `/api/v1/instance/` is `/api/v1/instance`.
    let normalized = NormalizePathLayer::trim_trailing_slash().layer(app);
    Router::new().fallback_service(normalized)
}

fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::LINK,
            header::HeaderName::from_static("x-ratelimit-limit"),
            header::HeaderName::from_static("x-ratelimit-remaining"),
            header::HeaderName::from_static("x-ratelimit-reset"),
        ])
}
