//! Image uploads and their storage: reading multipart uploads, the decode/check/re-encode
//! pipeline (metadata stripped, avatars and previews), and the key-addressed media store.

pub mod cleanup;
pub mod entity;
pub mod pipeline;
pub mod routes;
pub mod service;
pub mod storage;
pub mod store;
pub mod upload;
pub mod upload_routes;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;

use crate::error::AppError;
use crate::state::AppState;
use pipeline::{ImageError, ImageLimits, ProcessedImage};

/// Slack above the image limit for the multipart framing and the other fields.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Opens a `multipart/form-data` body for streaming, capped at the image limit plus framing.
/// Any other content type is a 415.
pub async fn multipart(request: Request, state: &AppState) -> Result<Multipart, AppError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !is_multipart {
        return Err(AppError::UnsupportedMediaType {
            detail: "Expected a `multipart/form-data` body with a `file` field.".into(),
        });
    }
    let limit = state.config.max_image_bytes + MULTIPART_OVERHEAD;
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    Multipart::from_request(request, &()).await.map_err(|_| {
        AppError::bad_request(
            "malformed_multipart",
            "The multipart body has no valid boundary.",
        )
    })
}

/// The limits uploads are checked against.
pub fn limits(state: &AppState) -> ImageLimits {
    ImageLimits {
        max_bytes: state.config.max_image_bytes,
        ..ImageLimits::default()
    }
}

/// Runs a pipeline step on the blocking pool, at most one per core at a time.
pub async fn process<T: Send + 'static>(
    state: &AppState,
    bytes: Vec<u8>,
    step: fn(&[u8], &ImageLimits) -> Result<T, ImageError>,
) -> Result<T, AppError> {
    let limits = limits(state);
    let _permit = state
        .image_permits
        .acquire()
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    let result = tokio::task::spawn_blocking(move || step(&bytes, &limits))
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    Ok(result?)
}

/// Stores a processed image and returns its key. A store that fails (a bucket that does
/// not answer) is a 503: nothing was recorded, and the client may try again.
pub async fn store(state: &AppState, image: ProcessedImage) -> Result<String, AppError> {
    state
        .media
        .put(image.bytes, image.format)
        .await
        .map_err(|error| {
            tracing::error!(error = %format!("{error:#}"), "could not store an image");
            storage_unavailable()
        })
}

/// The 503 of a media store that does not answer.
pub fn storage_unavailable() -> AppError {
    AppError::ServiceUnavailable {
        code: "service_unavailable",
        detail: "Images cannot be stored or read right now; try again shortly.".into(),
    }
}

/// Deletes a stored file whose database row is already gone or changed. A failure only
/// leaves an orphaned file, so it is logged, not reported.
pub async fn remove_file(state: &AppState, key: &str) {
    if let Err(error) = state.media.delete(key).await {
        tracing::warn!(key, error = %error, "could not remove a media file");
    }
}

/// An uploaded image, as it appears in posts and in `POST /media` responses.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!(crate::docs::examples::media()))]
pub struct Media {
    pub id: String,
    /// Always `image`.
    #[serde(rename = "type")]
    #[schema(example = "image")]
    pub type_: String,
    /// Absolute URL of the full image (re-encoded, without metadata).
    pub url: String,
    /// Absolute URL of a copy at most 400 px on its longest side.
    pub preview_url: String,
    /// Width of the full image, in pixels.
    pub width: i32,
    /// Height of the full image, in pixels.
    pub height: i32,
    /// Alt text (≤ 1500 characters); empty when none was given.
    pub description: String,
}

impl Media {
    pub fn from_model(model: &entity::Model, state: &AppState) -> Self {
        Self {
            id: model.id.to_string(),
            type_: "image".to_owned(),
            url: file_url(state, &model.file_key),
            preview_url: file_url(state, &model.preview_key),
            width: model.width,
            height: model.height,
            description: model.description.clone(),
        }
    }
}

/// Most images one post (or scheduled post) may carry.
pub const MAX_MEDIA_PER_POST: usize = 4;

/// Parses a request's `media_ids`: at most four distinct ids. Broken rules are added to
/// `errors` (field `media_ids`); the ids that parsed are returned in order.
pub fn parse_media_ids(
    raw: &[String],
    errors: &mut Vec<crate::error::FieldError>,
) -> Vec<uuid::Uuid> {
    use crate::error::FieldError;
    let mut ids = Vec::with_capacity(raw.len());
    if raw.len() > MAX_MEDIA_PER_POST {
        errors.push(FieldError::new("media_ids", "must list at most 4 media"));
    }
    for item in raw {
        match uuid::Uuid::parse_str(item) {
            Ok(id) if ids.contains(&id) => {
                errors.push(FieldError::new("media_ids", format!("lists {id} twice")))
            }
            Ok(id) => ids.push(id),
            Err(_) => errors.push(FieldError::new(
                "media_ids",
                format!("{item:?} is not a media id"),
            )),
        }
    }
    ids
}

/// The 422 for a media id that cannot be attached: unknown, someone else's, or attached
/// (or reserved) already.
pub fn unavailable(id: uuid::Uuid) -> AppError {
    AppError::validation(
        "media_ids",
        &format!("{id} is not an unattached upload of yours"),
    )
}

/// Absolute URL of a stored file: under `ROOST_MEDIA_PUBLIC_URL` when a CDN or the bucket
/// serves files, at Roost's own `/media/{key}` otherwise.
pub fn file_url(state: &AppState, key: &str) -> String {
    match &state.config.media_public_url {
        Some(base) => format!("{base}/{key}"),
        None => format!("{}/media/{key}", state.config.public_url),
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A `media_ids` item: a real id, a repeat of one, or arbitrary text.
    fn item(ids: Vec<uuid::Uuid>) -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(ids).prop_map(|id| id.to_string()),
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn media_ids_parse_to_at_most_four_distinct_ids_or_errors(
            raw in prop::collection::vec(any::<[u8; 16]>(), 1..4).prop_flat_map(|seeds| {
                let ids: Vec<uuid::Uuid> = seeds.into_iter().map(uuid::Uuid::from_bytes).collect();
                prop::collection::vec(item(ids), 0..7)
            }),
        ) {
            let mut errors = Vec::new();
            let ids = parse_media_ids(&raw, &mut errors);
            prop_assert!(errors.iter().all(|error| error.field == "media_ids"));
            // Every id that parsed is kept, once, in the order given.
            let mut expected: Vec<uuid::Uuid> = Vec::new();
            for item in &raw {
                if let Ok(id) = uuid::Uuid::parse_str(item)
                    && !expected.contains(&id)
                {
                    expected.push(id);
                }
            }
            prop_assert_eq!(&ids, &expected);
            // The list is clean exactly when it has at most four items, all distinct ids.
            let clean = raw.len() <= MAX_MEDIA_PER_POST && ids.len() == raw.len();
            prop_assert_eq!(errors.is_empty(), clean, "{:?} gave {:?}", raw, errors);
        }
    }
}
