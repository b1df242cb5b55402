//! Avatars: `PUT /me/avatar` (upload, square-crop to 400×400, re-encode without metadata)
//! and `DELETE /me/avatar`. Replacing or deleting an avatar removes the old file.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use sea_orm::{EntityTrait, QuerySelect};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::entity::user;
use super::{Me, store};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::db;
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::AppJson;
use crate::media::{self, pipeline, upload};

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
    let image = media::process(&state, upload.bytes, pipeline::process_avatar).await?;
    let key = media::store(&state, image).await?;
    let previous = match replace_avatar_key(&state, user.user_id, Some(key.clone())).await {
        Ok(previous) => previous,
        Err(error) => {
            media::remove_file(&state, &key).await;
            return Err(error);
        }
    };
    if let Some(previous) = previous {
        media::remove_file(&state, &previous).await;
    }
    let account = store::find_by_id(&state.db, user.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("The account no longer exists."))?;
    Ok(AppJson(Me::from_model(account, &state)))
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
    match replace_avatar_key(&state, user.user_id, None).await? {
        Some(previous) => {
            media::remove_file(&state, &previous).await;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(AppError::not_found("You have no avatar.")),
    }
}

/// Sets the account's avatar key and returns the one it replaced. The row is locked for
/// the swap, so two concurrent uploads cannot both think they replaced the same file.
async fn replace_avatar_key(
    state: &AppState,
    id: Uuid,
    key: Option<String>,
) -> Result<Option<String>, AppError> {
    let transaction = db::begin_write(&state.db).await?;
    let account = user::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&transaction)
        .await?
        .ok_or(AppError::Unauthorized {
            code: "invalid_token",
            detail: "The token is malformed, expired or revoked.",
        })?;
    store::set_avatar(&transaction, id, key).await?;
    transaction.commit().await?;
    Ok(account.avatar_key)
}
