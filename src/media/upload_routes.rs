//! `POST /media`: uploading an image to attach to a post later. The upload is decoded,
//! re-encoded without metadata, stored as a full-size copy and a preview, and recorded as
//! unattached; `media::cleanup` removes it if no post claims it within a day.

use axum::extract::{DefaultBodyLimit, Request, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Media, service, upload};
use crate::auth::AuthUser;
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::Created;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    // The JSON body limit must not cut uploads short: `media::multipart` applies the image
    // limit (plus framing) to the streamed body instead.
    OpenApiRouter::new()
        .routes(routes!(upload_media))
        .layer(DefaultBodyLimit::disable())
}

/// Body of `POST /media`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct MediaUpload {
    /// A JPEG, PNG, WebP or GIF image of at most 10 MiB and 40 megapixels, recognised from
    /// its bytes (the file name and declared type are ignored).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Alt text describing the image for people who cannot see it; trimmed, at most 1500
    /// characters.
    #[schema(
        max_length = 1500,
        nullable = false,
        example = "A heron on the river bank at dawn."
    )]
    description: Option<String>,
}

/// Upload an image
///
/// Uploads an image as `multipart/form-data` field `file`, with optional alt text in
/// `description`. The image is decoded, turned upright by its EXIF orientation and
/// re-encoded (JPEG, or PNG when it has transparency) so that no metadata — EXIF, GPS,
/// XMP, comments — survives; a preview at most 400 px on its longest side is made too.
///
/// The upload belongs to you and is not visible anywhere until you attach it to a post
/// with `media_ids` (`POST /posts`). Uploads not attached within 24 hours are deleted.
#[utoipa::path(
    post,
    path = "/media",
    tag = "Media",
    operation_id = "upload_media",
    security(("bearer" = [])),
    request_body(content = MediaUpload, content_type = "multipart/form-data",
        example = json!({"file": "<binary image data>", "description": "A heron on the river bank at dawn."})),
    responses(
        (status = 201, description = "The stored image, ready to attach to a post.", body = Media,
            headers(("Location" = String, description = "The image's `url`.")),
            example = json!(examples::media())),
        (status = 400, description = "The multipart body is malformed.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::malformed_multipart())),
        (status = 413, description = "The file is over the size limit (10 MiB by default).", body = Problem,
            content_type = "application/problem+json", example = json!(examples::image_too_large())),
        (status = 415, description = "The body is not multipart, or the file is not a JPEG, PNG, WebP or GIF.",
            body = Problem, content_type = "application/problem+json", example = json!(examples::unsupported_image())),
        (status = 422, description = "No `file` field, an image that cannot be decoded or is over 40 megapixels, \
or a `description` over 1500 characters.",
            body = Problem, content_type = "application/problem+json", examples(
                ("undecodable" = (value = json!(examples::validation(&[("file", "is not a decodable image")])))),
                ("too many pixels" = (value = json!(examples::validation(&[("file", "is 100000×100000 pixels; images may have at most 40 megapixels")])))),
                ("description too long" = (value = json!(examples::validation(&[("description", "must be at most 1500 characters")])))),
            )),
    )
)]
pub async fn upload_media(
    State(state): State<AppState>,
    user: AuthUser,
    request: Request,
) -> Result<Created<Media>, AppError> {
    let mut multipart = super::multipart(request, &state).await?;
    let upload = upload::read_upload(&mut multipart, state.config.max_image_bytes, true).await?;
    let media = service::upload(&state, user, upload).await?;
    Ok(Created::new(media.url.clone(), media))
}
