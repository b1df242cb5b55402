//! Serving stored images at `/media/{key}` (outside `/api/v1`: these are the `url`,
//! `preview_url` and `avatar_url` links).

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_media_file))
}

/// An image file
///
/// Serves a stored image: an avatar, an uploaded image or its preview. Files never change
/// once written (a new upload gets a new key), so they may be cached for a year. Public.
#[utoipa::path(
    get,
    path = "/media/{key}",
    tag = "Media",
    operation_id = "get_media_file",
    security(()),
    params(("key" = String, Path, description = "The file's key, as found at the end of a media URL.",
        example = "5f0c2a7e9b1d4c3a8e6f7a2b1c0d9e8f.jpg")),
    responses(
        (status = 200, description = "The image bytes: `image/png` for images with transparency, `image/jpeg` otherwise (the key's extension says which).",
            content(
                (Vec<u8> = "image/jpeg", example = json!("<binary JPEG data>")),
                (Vec<u8> = "image/png", example = json!("<binary PNG data>")),
            ),
            headers(
                ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"),
                ("X-Content-Type-Options" = String, description = "`nosniff`"),
            )),
        (status = 404, description = "No file has this key.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::media_not_found())),
    )
)]
pub async fn get_media_file(
    State(state): State<AppState>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    // A key that does not even decode (invalid UTF-8) names no file either.
    let Ok(Path(key)) = key else {
        return Err(media_not_found());
    };
    let file = super::service::file(&state, &key).await?;
    let mut response = Body::from_stream(file.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    if let Some(length) = file.length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(super::storage::CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

fn media_not_found() -> AppError {
    super::service::file_not_found()
}
