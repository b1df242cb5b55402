//! Avatars: upload, replacement, deletion and the image rules on hostile uploads.

use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::both_databases;
use crate::helpers::{TestApp, assert_problem, file_part};
use crate::images::{image_bytes, jpeg_with_gps, noisy_png, png_claiming};

async fn put_avatar(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    file_name: &str,
    mime: &str,
) -> reqwest::Response {
    app.request(Method::PUT, "/api/v1/me/avatar", Some(token))
        .multipart(Form::new().part("file", file_part(bytes, file_name, mime)))
        .send()
        .await
        .unwrap()
}

async fn uploading_an_avatar_stores_a_400_square_without_metadata(app: TestApp) {
    let token = app.user("alice").await;
    let response = put_avatar(&app, &token, jpeg_with_gps(64, 48), "me.jpg", "image/jpeg").await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    let url = me["avatar_url"].as_str().expect("avatar_url").to_owned();

    let file = app.fetch(&url).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    assert_eq!(
        file.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    let bytes = file.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (400, 400));
    for marker in [&b"Exif"[..], b"GPS", b"SecretCamera"] {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "metadata survived"
        );
    }

    let public: Value = app
        .get("/api/v1/users/alice", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["avatar_url"], url.as_str());
}

async fn the_format_comes_from_the_bytes_not_the_name(app: TestApp) {
    let token = app.user("alice").await;
    // A PNG sent as "photo.jpg" with a JPEG type is accepted as what it is.
    let png = image_bytes(30, 20, image::ImageFormat::Png);
    let response = put_avatar(&app, &token, png, "photo.jpg", "image/jpeg").await;
    assert_eq!(response.status(), StatusCode::OK);
    // Text named .png is refused.
    let response = put_avatar(
        &app,
        &token,
        b"hello, I am text".to_vec(),
        "evil.png",
        "image/png",
    )
    .await;
    assert_problem(response, 415, "unsupported_media_type").await;
}

async fn replacing_an_avatar_removes_the_old_file(app: TestApp) {
    let token = app.user("alice").await;
    let first: Value = put_avatar(
        &app,
        &token,
        image_bytes(50, 50, image::ImageFormat::Png),
        "a.png",
        "image/png",
    )
    .await
    .json()
    .await
    .unwrap();
    let second: Value = put_avatar(
        &app,
        &token,
        image_bytes(60, 40, image::ImageFormat::Jpeg),
        "b.jpg",
        "image/jpeg",
    )
    .await
    .json()
    .await
    .unwrap();
    let (old, new) = (
        first["avatar_url"].as_str().unwrap(),
        second["avatar_url"].as_str().unwrap(),
    );
    assert_ne!(old, new);
    assert_eq!(app.fetch(old).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.fetch(new).await.status(), StatusCode::OK);
}

async fn deleting_an_avatar_removes_it_and_a_second_delete_is_404(app: TestApp) {
    let token = app.user("alice").await;
    let me: Value = put_avatar(
        &app,
        &token,
        image_bytes(50, 50, image::ImageFormat::Png),
        "a.png",
        "image/png",
    )
    .await
    .json()
    .await
    .unwrap();
    let url = me["avatar_url"].as_str().unwrap().to_owned();
    let response = app
        .request(Method::DELETE, "/api/v1/me/avatar", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.fetch(&url).await.status(), StatusCode::NOT_FOUND);
    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert!(me["avatar_url"].is_null());
    let response = app
        .request(Method::DELETE, "/api/v1/me/avatar", Some(&token))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not_found").await;
}

async fn hostile_uploads_are_refused_and_change_nothing(app: TestApp) {
    let token = app.user("alice").await;
    let mut truncated = image_bytes(200, 200, image::ImageFormat::Png);
    truncated.truncate(truncated.len() / 2);
    let response = put_avatar(&app, &token, truncated, "cut.png", "image/png").await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "file");

    let response = put_avatar(
        &app,
        &token,
        png_claiming(100_000, 100_000),
        "bomb.png",
        "image/png",
    )
    .await;
    assert_problem(response, 422, "validation_failed").await;

    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert!(me["avatar_url"].is_null());
}

async fn avatar_uploads_need_multipart_a_file_and_a_token(app: TestApp) {
    let token = app.user("alice").await;
    let response = app
        .request(Method::PUT, "/api/v1/me/avatar", Some(&token))
        .json(&serde_json::json!({"file": "aGVsbG8="}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;

    let response = app
        .request(Method::PUT, "/api/v1/me/avatar", Some(&token))
        .multipart(Form::new().text("other", "value"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "file");

    let response = put_avatar(
        &app,
        "",
        image_bytes(10, 10, image::ImageFormat::Png),
        "a.png",
        "image/png",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .request(Method::DELETE, "/api/v1/me/avatar", None)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "unauthorized").await;
}

async fn avatars_over_the_json_body_limit_are_accepted(app: TestApp) {
    let token = app.user("alice").await;
    let bytes = noisy_png(800);
    assert!(
        bytes.len() > 1024 * 1024,
        "the upload is over the 1 MiB JSON limit"
    );
    let response = put_avatar(&app, &token, bytes, "big.png", "image/png").await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn media_keys_cannot_reach_other_files(app: TestApp) {
    for key in [
        "..%2F..%2FCargo.toml",
        "roost.db",
        "0123456789abcdef0123456789abcdef.txt",
        "x",
    ] {
        assert_problem(
            app.get(&format!("/media/{key}"), None).await,
            404,
            "not_found",
        )
        .await;
    }
}

both_databases!(
    uploading_an_avatar_stores_a_400_square_without_metadata,
    the_format_comes_from_the_bytes_not_the_name,
    replacing_an_avatar_removes_the_old_file,
    deleting_an_avatar_removes_it_and_a_second_delete_is_404,
    hostile_uploads_are_refused_and_change_nothing,
    avatar_uploads_need_multipart_a_file_and_a_token,
    media_keys_cannot_reach_other_files,
    avatars_over_the_json_body_limit_are_accepted,
);

async fn oversized_uploads_are_413(app: TestApp) {
    let token = app.user("alice").await;
    // Noise does not compress: over the 64 KiB limit configured below, but not by so much
    // that the client is still sending when the server answers and closes (which can reset
    // the connection before the answer is read).
    let bytes = noisy_png(160);
    assert!(bytes.len() > 64 * 1024, "{} bytes", bytes.len());
    let response = put_avatar(&app, &token, bytes, "big.png", "image/png").await;
    assert_problem(response, 413, "payload_too_large").await;
}

const SMALL_IMAGES: &[(&str, &str)] = &[("ROOST_MAX_IMAGE_BYTES", "65536")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_uploads_are_413_on_sqlite() {
    oversized_uploads_are_413(TestApp::sqlite_with(SMALL_IMAGES).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_uploads_are_413_on_postgres() {
    if let Some(app) = TestApp::postgres_with(SMALL_IMAGES).await {
        oversized_uploads_are_413(app).await;
    }
}
