//! Scheduled statuses: Roost's scheduled posts.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::entities::ScheduledStatus;
use super::lookup;
use super::paging::Paging;
use super::params::Params;
use super::scopes::Caller;
use crate::error::AppError;
use crate::pagination::{MAX_LIMIT, PageRequest, Window};
use crate::scheduler::service::{self as scheduler, ScheduleChanges};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/scheduled_statuses", get(list_scheduled))
        .route(
            "/api/v1/scheduled_statuses/{id}",
            get(get_scheduled).put(reschedule).delete(cancel_scheduled),
        )
}

/// Every schedule of the caller (at most 100, soonest first) on the first page; a page
/// below or above an id is empty, so that a client paging on reaches the end at once.
async fn list_scheduled(
    State(state): State<AppState>,
    caller: Caller,
    paging: Paging,
) -> Result<Response, AppError> {
    let user = caller.require("read:statuses")?;
    if paging.window() != Window::default() {
        return Ok(paging.respond(Vec::<ScheduledStatus>::new(), &[]));
    }
    let page = PageRequest::below(MAX_LIMIT, None);
    let schedules = scheduler::list(&state, user, &page).await?.page.items;
    let keys: Vec<Uuid> = schedules
        .iter()
        .filter_map(|schedule| Uuid::parse_str(&schedule.id).ok())
        .collect();
    let items: Vec<ScheduledStatus> = schedules
        .iter()
        .map(ScheduledStatus::from_scheduled)
        .collect();
    Ok(paging.respond(items, &keys))
}

async fn get_scheduled(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ScheduledStatus>, AppError> {
    let user = caller.require("read:statuses")?;
    let id = lookup::find(&state, "scheduled_posts", &id).await?;
    let schedule = scheduler::get(&state, user, &id.to_string()).await?;
    Ok(Json(ScheduledStatus::from_scheduled(&schedule)))
}

#[derive(Debug, Deserialize)]
struct RescheduleRequest {
    #[serde(default)]
    scheduled_at: Option<String>,
}

async fn reschedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(request): Params<RescheduleRequest>,
) -> Result<Json<ScheduledStatus>, AppError> {
    let user = caller.require("write:statuses")?;
    let id = lookup::find(&state, "scheduled_posts", &id).await?;
    let changes = ScheduleChanges {
        publish_at: request.scheduled_at,
        ..ScheduleChanges::default()
    };
    let schedule = scheduler::update(&state, user, &id.to_string(), changes)
        .await
        .map_err(|error| match error {
            AppError::Validation(errors) => AppError::Validation(
                errors
                    .into_iter()
                    .map(|mut error| {
                        if error.field == "publish_at" {
                            error.field = "scheduled_at".into();
                        }
                        error
                    })
                    .collect(),
            ),
            other => other,
        })?;
    Ok(Json(ScheduledStatus::from_scheduled(&schedule)))
}

async fn cancel_scheduled(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let user = caller.require("write:statuses")?;
    let id = lookup::find(&state, "scheduled_posts", &id).await?;
    scheduler::delete(&state, user, &id.to_string()).await?;
    Ok(Json(json!({})))
}
