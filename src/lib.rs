//! Roost: a social media API server over HTTP/JSON, on SQLite or PostgreSQL.
//!
//! The binary (`src/main.rs`) only parses the command line; everything else lives here so
//! that the tests drive exactly the Router the binary serves.
//!
//! # Layout
//!
//! - [`config`]: typed configuration from the environment, defaults in one place.
//! - [`state`]: `AppState`, what every handler and service can reach; below every feature.
//! - [`app`]: the Router, the listener and graceful shutdown.
//! - [`error`]: the one error type and its problem+json rendering.
//! - [`extract`]: JSON body and query extractors that reject in that format.
//! - [`db`]: connecting to either backend, migrations, ids, transactions.
//! - [`auth`]: passwords, tokens, the failed-login rule, the auth extractors and `Viewer`.
//! - [`accounts`]: registration, login, logout and password change (`/auth`).
//! - [`idempotency`]: `Idempotency-Key` and the one write path of what it protects.
//! - [`pagination`]: keyset cursors, the list envelope and `Link` headers, for every list.
//! - [`privacy`]: who may see what: the one visibility rule, and who may follow or read whom.
//! - [`users`]: profiles, user search, the follow graph, follow requests, blocks and mutes;
//!   `/me` and `/users`.
//! - [`mastodon`]: the Mastodon-compatible client API, on a listener of its own.
//! - [`media`]: the image pipeline, upload reading, media storage and serving.
//! - [`posts`]: posts, hashtags, the one post-listing query, likes, comments.
//! - [`notifications`]: notifications, written with the actions they tell of.
//! - [`stream`]: the real-time stream (Server-Sent Events), across server processes.
//! - [`scheduler`]: scheduled posts and the in-process publisher (durable, exactly once).
//! - [`server`]: the HTTP listener: header deadlines, connection cap, graceful drain.
//! - [`ratelimit`]: per-client request budgets and the client address behind proxies.
//! - [`overload`]: the bound on requests in progress (503 beyond it) and their deadline.
//! - [`security`]: CORS and the security headers of every response.
//! - [`ops`]: `/healthz` and `/readyz`.
//! - [`seed`]: `roost seed`, a large deterministic synthetic dataset for benchmarks.
//! - [`docs`]: the OpenAPI document and the interactive docs page.
//! - [`telemetry`]: logging and per-request spans.
//! - [`clock`]: the injectable source of "now".

pub mod accounts;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod docs;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod mastodon;
pub mod media;
pub mod notifications;
pub mod ops;
pub mod overload;
pub mod pagination;
pub mod posts;
pub mod privacy;
pub mod ratelimit;
pub mod scheduler;
pub mod security;
pub mod seed;
pub mod server;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod users;

pub use app::{AppState, Application};

/// Entry points for the fuzz targets in `fuzz/`: the parsers that see untrusted input and are
/// not otherwise public. Not part of the supported API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes a `?cursor=` value into its sort-key parts, or `None` where the server
    /// answers 400.
    pub fn decode_cursor(cursor: &str) -> Option<Vec<String>> {
        crate::pagination::decode_cursor(cursor).ok()
    }
}
pub use config::Config;
