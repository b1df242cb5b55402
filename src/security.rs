//! What responses tell browsers: CORS (closed unless `ROOST_CORS_ORIGINS` opens it) and
//! the security headers every response carries.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::docs::DOCS_PATH;

/// Headers a browser script may read from our responses beyond the CORS-safelisted ones.
const EXPOSED_HEADERS: [&str; 10] = [
    "location",
    "link",
    "retry-after",
    "x-request-id",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

/// The CORS policy for `origins` (see `Config::cors_origins`), or `None` when no origin
/// is allowed: then no CORS headers are sent and browsers keep other sites out.
/// Credentials (cookies) are never allowed: the API authenticates with bearer tokens.
pub fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("idempotency-key"),
                // Sent by `EventSource` when it reconnects to the stream.
                HeaderName::from_static("last-event-id"),
            ])
            .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Middleware: adds the security headers to every response.
///
/// - `X-Content-Type-Options: nosniff`: a browser must not guess a type other than the
///   one we send (an uploaded file is only ever an image we re-encoded).
/// - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` (except on the
///   docs page, which runs its own scripts): an API response rendered by a browser can
///   load nothing and run nothing.
/// - `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.
/// - `Cache-Control: no-store` on answers to authenticated requests, unless the handler
///   chose a policy: shared caches must not keep one user's view for another.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let docs_page = request.uri().path().starts_with(DOCS_PATH);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // A page of its own (the docs, the OAuth sign-in page) sets its own policy.
    if !docs_page && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if authenticated && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
