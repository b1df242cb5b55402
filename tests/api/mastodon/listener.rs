//! The listener itself: its own address, Mastodon's error shape, trailing slashes, and
//! `off`.

use reqwest::Method;

use crate::both_databases;
use crate::helpers::{TestApp, assert_masto_error};

async fn unknown_paths_answer_in_mastodons_error_shape(app: TestApp) {
    for path in ["/api/v1/no-such-thing", "/api/v1/no-such-thing/"] {
        let response = app.masto(Method::GET, path, None).send().await.unwrap();
        let message = assert_masto_error(response, 404, path).await;
        assert_eq!(message, "Record not found");
    }
    // Roost's own API is not served here, nor this API on Roost's listener.
    let response = app
        .masto(Method::GET, "/api/v1/me", None)
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 404, "Roost's /me on the Mastodon listener").await;
    let response = app.get("/api/v1/timelines/home", None).await;
    assert_eq!(response.status(), 404);
}

async fn accounts_have_default_images(app: TestApp) {
    for path in [
        "/avatars/original/missing.png",
        "/headers/original/missing.png",
    ] {
        let response = app.masto(Method::GET, path, None).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "image/png");
        let bytes = response.bytes().await.unwrap();
        assert!(image::load_from_memory(&bytes).is_ok(), "{path} is a PNG");
    }
}

both_databases!(
    unknown_paths_answer_in_mastodons_error_shape,
    accounts_have_default_images,
);

#[tokio::test]
async fn the_listener_can_be_turned_off() {
    let app = TestApp::sqlite_with(&[("ROOST_MASTODON_BIND", "off")]).await;
    assert!(app.mastodon_address.is_empty());
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}
