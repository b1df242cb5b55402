//! Avatars: `PUT /me/avatar` (upload, square-crop to 400×400, re-encode without metadata)
//! and `DELETE /me/avatar`. Replacing or deleting an avatar removes the old file.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Me, service};
use crate::auth::AuthUser;
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::AppJson;
use crate::media::{self, upload};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    // The JSON body limit must not cut uploads short: `media::multipart` applies the
    // image limit to the streamed body instead.
    OpenApiRouter::new()
        .routes(routes!(put_avatar, delete_avatar))
        .layer(DefaultBodyLimit::disable())
}

/// Body of `PUT /me/avatar`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct AvatarUpload {
    /// A JPEG, PNG, WebP or GIF image of at most 10 MiB and 40 megapixels, recognised from
    /// its bytes (the file name and declared type are ignored).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Set your avatar
///
/// Uploads an image as `multipart/form-data` field `file`. The image is decoded, turned
/// upright by its EXIF orientation, centre-cropped to a square, resized to 400×400 and
/// re-encoded (JPEG, or PNG when it has transparency) so that no metadata — EXIF, GPS,
/// XMP, comments — survives. Replaces (and deletes) any previous avatar.
#[utoipa::path(
    put,
    path = "/me/avatar",
    tag = "Profile",
    operation_id = "put_avatar",
    security(("bearer" = [])),
    request_body(content = AvatarUpload, content_type = "multipart/form-data",
        example = json!({"file": "<binary image data>"})),
    responses(
        (status = 200, description = "Your account with its new `avatar_url`.", body = Me,
            example = json!(examples::me_with_avatar())),
        (status = 400, description = "The multipart body is malformed.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::malformed_multipart())),
        (status = 413, description = "The file is over the size limit (10 MiB by default).", body = Problem,
            content_type = "application/problem+json", example = json!(examples::image_too_large())),
        (status = 415, description = "The body is not multipart, or the file is not a JPEG, PNG, WebP or GIF.",
            body = Problem, content_type = "application/problem+json", example = json!(examples::unsupported_image())),
        (status = 422, description = "No `file` field, or an image that cannot be decoded or is over 40 megapixels.",
            body = Problem, content_type = "application/problem+json",
            example = json!(examples::validation(&[("file", "is not a decodable image")]))),
    )
)]
pub async fn put_avatar(
    State(state): State<AppState>,
    user: AuthUser,
    request: Request,
) -> Result<AppJson<Me>, AppError> {
    let mut multipart = media::multipart(request, &state).await?;
    let upload = upload::read_upload(&mut multipart, state.config.max_image_bytes, false).await?;
    service::set_avatar(&state, user, upload.bytes)
        .await
        .map(AppJson)
}

/// Remove your avatar
///
/// Deletes the avatar image; `avatar_url` becomes `null`. A second call answers 404, as
/// there is no avatar left to delete.
#[utoipa::path(
    delete,
    path = "/me/avatar",
    tag = "Profile",
    operation_id = "delete_avatar",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The avatar is gone."),
        (status = 404, description = "You have no avatar.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::no_avatar())),
    )
)]
pub async fn delete_avatar(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, AppError> {
    service::delete_avatar(&state, user).await?;
    Ok(StatusCode::NO_CONTENT)
}
