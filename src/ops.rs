//! Operational endpoints outside `/api/v1`: liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db;
use crate::extract::AppJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Health of the process or of its database.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// `ok`, or `unavailable` when the database does not answer.
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness
///
/// Answers 200 whenever the process is up and serving HTTP. Does not touch the database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Operations",
    operation_id = "healthz",
    security(()),
    responses((status = 200, description = "The process is up.", body = Status, example = json!({"status": "ok"})))
)]
pub async fn healthz() -> AppJson<Status> {
    AppJson(Status {
        status: "ok".into(),
    })
}

/// Readiness
///
/// Answers 200 when the database responds to a query, 503 otherwise; load balancers should
/// stop routing to an instance while it answers 503.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Operations",
    operation_id = "readyz",
    security(()),
    responses(
        (status = 200, description = "The database answers.", body = Status, example = json!({"status": "ok"})),
        (status = 503, description = "The database does not answer.", body = Status, example = json!({"status": "unavailable"})),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, AppJson<Status>) {
    let ready = tokio::time::timeout(std::time::Duration::from_secs(2), db::ping(&state.db))
        .await
        .unwrap_or(false);
    if ready {
        (
            StatusCode::OK,
            AppJson(Status {
                status: "ok".into(),
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            AppJson(Status {
                status: "unavailable".into(),
            }),
        )
    }
}
