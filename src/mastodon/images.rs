//! The default avatar and header images, which Mastodon clients expect every account to
//! have: one plain PNG each, made once at first use.

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::entities::{MISSING_AVATAR_PATH, MISSING_HEADER_PATH};
use crate::state::AppState;

/// The colour of an empty profile picture (a light blue-grey, as apps draw placeholders).
const FILL: [u8; 3] = [0xd9, 0xe1, 0xe8];

fn plain_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb(FILL));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("encoding a plain PNG in memory cannot fail");
    bytes.into_inner()
}

static AVATAR: LazyLock<Vec<u8>> = LazyLock::new(|| plain_png(400, 400));
static HEADER: LazyLock<Vec<u8>> = LazyLock::new(|| plain_png(1500, 500));

fn png(bytes: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(MISSING_AVATAR_PATH, get(|| async { png(&AVATAR) }))
        .route(MISSING_HEADER_PATH, get(|| async { png(&HEADER) }))
}
