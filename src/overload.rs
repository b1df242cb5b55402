//! Overload protection: a bound on requests in progress, and a deadline for each.
//!
//! When `ROOST_MAX_CONCURRENT_REQUESTS` requests are already being served, a new one is
//! answered at once with `503 overloaded` and `Retry-After`, rather than queued behind
//! work the server cannot finish in time (queues hide overload until every request times
//! out). A request that runs longer than `ROOST_REQUEST_TIMEOUT_SECS` — reading its body
//! included, so a client trickling an upload cannot hold a slot — is answered
//! `503 timeout`; its handler is dropped, which rolls back its open transaction, so a
//! timed-out write changes nothing.
//!
//! The health probes are exempt from both: a load balancer must be able to tell a busy
//! instance from a dead one.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::AppError;
use crate::state::AppState;

/// The shared bound on requests in progress.
#[derive(Clone)]
pub struct Admission {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl Admission {
    pub fn new(max_concurrent_requests: usize, timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent_requests)),
            timeout,
        }
    }
}

/// Middleware: admits the request if there is room, and bounds its duration.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let admission = &state.admission;
    let Ok(_permit) = admission.permits.clone().try_acquire_owned() else {
        return AppError::ServiceUnavailable {
            code: "overloaded",
            detail: "The server is at capacity; retry shortly.".into(),
        }
        .into_response();
    };
    match tokio::time::timeout(admission.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_secs = admission.timeout.as_secs(),
                "request timed out"
            );
            AppError::ServiceUnavailable {
                code: "timeout",
                detail: format!(
                    "The request did not complete within {} s and was abandoned.",
                    admission.timeout.as_secs()
                ),
            }
            .into_response()
        }
    }
}
