//! Media attachments: Roost's uploads (`POST /api/v2/media` and `/api/v1/media`, processed
//! at once, so the answer is always 200 with its URL), and the caller's own uploads by id.

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::entities::MediaAttachment;
use super::lookup;
use super::params::Params;
use super::scopes::Caller;
use crate::error::AppError;
use crate::media::{self, service, upload};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    // As on Roost's own upload route, the image limit applies to the streamed body
    // (`media::multipart`) instead of the JSON body limit.
    let uploads = Router::new()
        .route("/api/v1/media", post(upload_media))
        .route("/api/v2/media", post(upload_media))
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/api/v1/media/{id}", get(get_media).put(update_media))
        .merge(uploads)
}

async fn upload_media(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<MediaAttachment>, AppError> {
    let user = caller.require("write:media")?;
    let mut multipart = media::multipart(request, &state).await?;
    let upload = upload::read_upload(&mut multipart, state.config.max_image_bytes, true).await?;
    let media = service::upload(&state, user, upload).await?;
    Ok(Json(MediaAttachment::from_media(&media)))
}

async fn get_media(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MediaAttachment>, AppError> {
    let user = caller.require("write:media")?;
    let id = lookup::find(&state, "media", &id).await?;
    let media = service::own(&state, user, id).await?;
    Ok(Json(MediaAttachment::from_media(&media)))
}

#[derive(Debug, Deserialize)]
struct UpdateMediaRequest {
    #[serde(default)]
    description: Option<String>,
}

/// Changes an upload's alt text (`focus` and `thumbnail` are not kept).
async fn update_media(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(request): Params<UpdateMediaRequest>,
) -> Result<Json<MediaAttachment>, AppError> {
    let user = caller.require("write:media")?;
    let id = lookup::find(&state, "media", &id).await?;
    let media = match request.description {
        Some(description) => service::describe(&state, user, id, &description).await?,
        None => service::own(&state, user, id).await?,
    };
    Ok(Json(MediaAttachment::from_media(&media)))
}
