//! The rules of uploads, for every API: an image is decoded, re-encoded without metadata,
//! stored as a full-size copy and a preview, and recorded as its uploader's unattached
//! media; a failure at any step leaves neither a file nor a row behind.

use super::pipeline::{self, ProcessedImage};
use super::storage::StoredFile;
use super::upload::Upload;
use super::{Media, entity, store};
use crate::auth::AuthUser;
use crate::db::new_id;
use crate::error::{AppError, is_foreign_key_violation};
use crate::state::AppState;

pub fn file_not_found() -> AppError {
    AppError::not_found("There is no media file with this key.")
}

/// A stored file (full image, preview or avatar), opened for streaming, by key.
pub async fn file(state: &AppState, key: &str) -> Result<StoredFile, AppError> {
    match state.media.open(key).await {
        Ok(found) => found.ok_or_else(file_not_found),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "could not read an image");
            Err(super::storage_unavailable())
        }
    }
}

fn media_not_found() -> AppError {
    AppError::not_found("No such upload of yours.")
}

/// `user`'s upload `id`, attached or not; anyone else's is a 404.
pub async fn own(state: &AppState, user: AuthUser, id: uuid::Uuid) -> Result<Media, AppError> {
    let model = store::find_owned(&state.db, id, user.user_id)
        .await?
        .ok_or_else(media_not_found)?;
    Ok(Media::from_model(&model, state))
}

/// Replaces the alt text of `user`'s upload `id` (the rules of an upload's `description`).
pub async fn describe(
    state: &AppState,
    user: AuthUser,
    id: uuid::Uuid,
    description: &str,
) -> Result<Media, AppError> {
    let description = super::upload::parse_description(description)?.unwrap_or_default();
    if !store::set_description(&state.db, id, user.user_id, description).await? {
        return Err(media_not_found());
    }
    own(state, user, id).await
}

/// Stores `upload` (its bytes unchecked until now) as `user`'s new unattached media.
pub async fn upload(state: &AppState, user: AuthUser, upload: Upload) -> Result<Media, AppError> {
    let (full, preview) = super::process(state, upload.bytes, pipeline::process_media).await?;
    let (width, height) = (dimension(full.width)?, dimension(full.height)?);
    let (file_key, preview_key) = store_both(state, full, preview).await?;
    let model = entity::Model {
        id: new_id(),
        owner_id: user.user_id,
        post_id: None,
        position: None,
        file_key,
        preview_key,
        width,
        height,
        description: upload.description.unwrap_or_default(),
        created_at: state.clock.now(),
        scheduled_post_id: None,
    };
    if let Err(error) = store::insert(&state.db, model.clone()).await {
        super::remove_file(state, &model.file_key).await;
        super::remove_file(state, &model.preview_key).await;
        // The account was deleted while its upload was being processed.
        return Err(if is_foreign_key_violation(&error) {
            crate::auth::invalid_token()
        } else {
            error.into()
        });
    }
    Ok(Media::from_model(&model, state))
}

/// Stores the full image and its preview, and returns their keys; on failure neither is
/// left behind.
async fn store_both(
    state: &AppState,
    full: ProcessedImage,
    preview: ProcessedImage,
) -> Result<(String, String), AppError> {
    let file_key = super::store(state, full).await?;
    match super::store(state, preview).await {
        Ok(preview_key) => Ok((file_key, preview_key)),
        Err(error) => {
            super::remove_file(state, &file_key).await;
            Err(error)
        }
    }
}

/// A pixel dimension as stored. The pixel limit keeps every accepted side far below
/// `i32::MAX`, so a failure here is a bug, not a client error.
fn dimension(pixels: u32) -> Result<i32, AppError> {
    i32::try_from(pixels).map_err(|error| AppError::Internal(error.into()))
}
