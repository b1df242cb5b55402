//! Media: uploading images, attaching them to posts, deleting them with their post or
//! account, and the clean-up of uploads never attached.

use std::time::Duration;

use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{
    POSTS, TestApp, assert_problem, error_fields, eventually, file_part, media_id, post_path,
};
use crate::images::{jpeg_with_gps, noisy_png, png, png_claiming};

const HOUR: Duration = Duration::from_secs(60 * 60);

/// `POST /api/v1/media` with `form`.
async fn upload_form(app: &TestApp, token: Option<&str>, form: Form) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/media", token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// `POST /api/v1/media` with just a `file`.
async fn upload_file(app: &TestApp, token: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = Form::new().part("file", file_part(bytes, "photo.png", "image/png"));
    upload_form(app, Some(token), form).await
}

/// An absolute URL from a Media object's `field`.
fn url<'a>(media: &'a Value, field: &str) -> &'a str {
    media[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} of {media}"))
}

async fn uploading_stores_a_full_image_and_a_preview(app: TestApp) {
    let token = app.user("alice").await;
    let response = upload_file(&app, &token, png(1000, 500)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let media: Value = response.json().await.unwrap();

    assert_eq!(media["type"], "image");
    assert_eq!(media["width"], 1000);
    assert_eq!(media["height"], 500);
    assert_eq!(media["description"], "");
    assert!(uuid::Uuid::parse_str(media_id(&media)).is_ok(), "{media}");
    assert_eq!(media["url"], location.as_str());
    assert_ne!(media["url"], media["preview_url"]);

    for (field, size) in [("url", (1000, 500)), ("preview_url", (400, 200))] {
        let file = app.fetch(url(&media, field)).await;
        assert_eq!(file.status(), StatusCode::OK, "{field}");
        let content_type = file.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            ["image/jpeg", "image/png"].contains(&content_type.as_str()),
            "{field}: {content_type}"
        );
        assert_eq!(
            file.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let bytes = file.bytes().await.unwrap();
        let format = image::guess_format(&bytes).unwrap();
        assert_eq!(format.to_mime_type(), content_type, "{field}");
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), size, "{field}");
    }

    // Tall images are scaled by their height; small ones are never enlarged.
    let tall: Value = upload_file(&app, &token, png(300, 1200))
        .await
        .json()
        .await
        .unwrap();
    let preview = app
        .fetch(url(&tall, "preview_url"))
        .await
        .bytes()
        .await
        .unwrap();
    let preview = image::load_from_memory(&preview).unwrap();
    assert_eq!((preview.width(), preview.height()), (100, 400));
    let small: Value = upload_file(&app, &token, png(40, 30))
        .await
        .json()
        .await
        .unwrap();
    let preview = app
        .fetch(url(&small, "preview_url"))
        .await
        .bytes()
        .await
        .unwrap();
    let preview = image::load_from_memory(&preview).unwrap();
    assert_eq!((preview.width(), preview.height()), (40, 30));
}

async fn no_metadata_survives_in_either_copy(app: TestApp) {
    let token = app.user("alice").await;
    let upload = jpeg_with_gps(900, 600);
    assert!(upload.windows(4).any(|window| window == b"Exif"));
    let form = Form::new().part("file", file_part(upload, "holiday.jpg", "image/jpeg"));
    let response = upload_form(&app, Some(&token), form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    for field in ["url", "preview_url"] {
        let file = app.fetch(url(&media, field)).await;
        assert_eq!(file.headers()["content-type"], "image/jpeg", "{field}");
        let bytes = file.bytes().await.unwrap();
        for marker in [&b"Exif"[..], b"GPS", b"SecretCamera"] {
            assert!(
                !bytes.windows(marker.len()).any(|window| window == marker),
                "{field}: metadata survived"
            );
        }
    }
}

async fn the_description_is_stored_and_limited(app: TestApp) {
    let token = app.user("alice").await;
    let form = Form::new()
        .text("description", "  A heron on the river bank at dawn. 🐦 ")
        .part("file", file_part(png(20, 20), "heron.png", "image/png"));
    let response = upload_form(&app, Some(&token), form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(
        media["description"],
        "A heron on the river bank at dawn. 🐦"
    );

    // The limit counts characters, not bytes.
    let longest = "é".repeat(1500);
    let form = Form::new()
        .part("file", file_part(png(20, 20), "a.png", "image/png"))
        .text("description", longest.clone());
    let response = upload_form(&app, Some(&token), form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(media["description"], longest.as_str());

    let form = Form::new()
        .part("file", file_part(png(20, 20), "a.png", "image/png"))
        .text("description", "é".repeat(1501));
    let response = upload_form(&app, Some(&token), form).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), vec!["description"]);

    // The description comes back with the post it is attached to.
    let post = app
        .create_post_with_media(&token, &[media_id(&media)])
        .await;
    assert_eq!(post["media"][0]["description"], longest.as_str());
}

async fn bad_uploads_are_refused(app: TestApp) {
    let token = app.user("alice").await;

    // The format comes from the bytes, never the name or declared type.
    let form = Form::new().part(
        "file",
        file_part(b"hello, I am text".to_vec(), "evil.png", "image/png"),
    );
    assert_problem(
        upload_form(&app, Some(&token), form).await,
        415,
        "unsupported_media_type",
    )
    .await;
    let form = Form::new().part("file", file_part(png(30, 20), "photo.jpg", "image/jpeg"));
    assert_eq!(
        upload_form(&app, Some(&token), form).await.status(),
        StatusCode::CREATED
    );

    // Not multipart at all.
    let response = app
        .request(Method::POST, "/api/v1/media", Some(&token))
        .json(&json!({"file": "aGVsbG8="}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;

    // Multipart, but malformed.
    for content_type in ["multipart/form-data; boundary=roost", "multipart/form-data"] {
        let response = app
            .request(Method::POST, "/api/v1/media", Some(&token))
            .header("content-type", content_type)
            .body("garbage")
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "malformed_multipart").await;
    }

    // No file.
    let response = upload_form(&app, Some(&token), Form::new().text("description", "alt")).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), vec!["file"]);

    // Undecodable, and over the pixel limit.
    let mut truncated = png(200, 200);
    truncated.truncate(truncated.len() / 2);
    for bytes in [
        truncated,
        png_claiming(100_000, 100_000),
        png_claiming(8000, 5001),
    ] {
        let problem = assert_problem(
            upload_file(&app, &token, bytes).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), vec!["file"]);
    }

    // No token, or a bad one.
    let form = Form::new().part("file", file_part(png(10, 10), "a.png", "image/png"));
    assert_problem(upload_form(&app, None, form).await, 401, "unauthorized").await;
    let form = Form::new().part("file", file_part(png(10, 10), "a.png", "image/png"));
    let response = upload_form(&app, Some("not-a-token"), form).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn uploads_over_the_json_body_limit_are_accepted(app: TestApp) {
    let token = app.user("alice").await;
    // Larger than the 1 MiB JSON body limit, well under the 10 MiB image limit.
    let bytes = noisy_png(800);
    assert!(bytes.len() > 1536 * 1024, "{} bytes", bytes.len());
    let response = upload_file(&app, &token, bytes).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(800), Some(800))
    );
}

async fn posts_carry_their_media_in_order(app: TestApp) {
    let alice = app.user("alice").await;
    let mut uploads = Vec::new();
    for _ in 0..4 {
        uploads.push(app.upload_image(&alice).await);
    }
    let ids: Vec<&str> = uploads.iter().map(media_id).collect();
    let order = [ids[2], ids[0], ids[3], ids[1]];
    let post = app.create_post_with_media(&alice, &order).await;
    let attached: Vec<&str> = post["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(media_id)
        .collect();
    assert_eq!(attached, order);
    assert_eq!(post["media"][0], uploads[2]);

    // The same when read back, publicly.
    let read: Value = app
        .get(&post_path(media_id(&post)), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["media"], post["media"]);

    // One upload on its own.
    let single = app.upload_image(&alice).await;
    let post = app
        .create_post_with_media(&alice, &[media_id(&single)])
        .await;
    assert_eq!(post["media"], json!([single]));

    // Without media_ids, a post has no media.
    let response = app
        .post_json(POSTS, &json!({"content": "words only"}), Some(&alice))
        .await;
    let post: Value = response.json().await.unwrap();
    assert_eq!(post["media"], json!([]));
}

async fn media_must_be_your_own_unattached_uploads(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    let mut five = Vec::new();
    for _ in 0..5 {
        five.push(app.upload_image(&alice).await);
    }
    let ids: Vec<&str> = five.iter().map(media_id).collect();
    app.assert_not_attachable(&alice, &ids, "five media").await;

    let bobs = app.upload_image(&bob).await;
    app.assert_not_attachable(&alice, &[ids[0], media_id(&bobs)], "bob's upload")
        .await;

    app.assert_not_attachable(
        &alice,
        &["019acc01-5b7e-7d2a-8f3c-2e6a1b9d4c70"],
        "an unknown id",
    )
    .await;
    app.assert_not_attachable(&alice, &["not-an-id"], "not an id")
        .await;
    app.assert_not_attachable(&alice, &[ids[0], ids[0]], "the same upload twice")
        .await;

    // None of the refusals attached anything: all five are still free.
    app.create_post_with_media(&alice, &ids[..4]).await;
    // Now those four belong to a post and cannot be attached again, even with a free one.
    app.assert_not_attachable(&alice, &[ids[4], ids[1]], "one already on a post")
        .await;
    let post = app.create_post_with_media(&alice, &[ids[4]]).await;
    assert_eq!(post["media"][0]["id"], ids[4]);

    // Bob's upload is still his to use.
    app.create_post_with_media(&bob, &[media_id(&bobs)]).await;
}

async fn content_may_be_empty_only_with_media(app: TestApp) {
    let alice = app.user("alice").await;
    let media = app.upload_image(&alice).await;

    for media_ids in [json!(null), json!([])] {
        let response = app
            .post_json(
                POSTS,
                &json!({"content": "   ", "media_ids": media_ids}),
                Some(&alice),
            )
            .await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), vec!["content"]);
    }

    let response = app
        .send_post(
            Some(&alice),
            &json!({"content": "  ", "media_ids": [media_id(&media)]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let post: Value = response.json().await.unwrap();
    assert_eq!(post["content"], "");
    assert_eq!(post["media"][0]["id"], media["id"]);
}

async fn deleting_a_post_deletes_its_media(app: TestApp) {
    let alice = app.user("alice").await;
    let first = app.upload_image(&alice).await;
    let second = app.upload_image(&alice).await;
    let unattached = app.upload_image(&alice).await;
    let post = app
        .create_post_with_media(&alice, &[media_id(&first), media_id(&second)])
        .await;
    app.assert_files(&first, true).await;

    app.delete_post(&alice, media_id(&post)).await;
    app.assert_files(&first, false).await;
    app.assert_files(&second, false).await;
    // The rows went with the post: the ids name nothing any more.
    app.assert_not_attachable(&alice, &[media_id(&first)], "deleted with its post")
        .await;
    // Uploads not attached to that post are untouched.
    app.assert_files(&unattached, true).await;
    app.create_post_with_media(&alice, &[media_id(&unattached)])
        .await;
}

async fn deleting_an_account_deletes_its_media_files(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let attached = app.upload_image(&alice).await;
    let unattached = app.upload_image(&alice).await;
    let bobs = app.upload_image(&bob).await;
    app.create_post_with_media(&alice, &[media_id(&attached)])
        .await;

    app.delete_account(&alice).await;
    app.assert_files(&attached, false).await;
    app.assert_files(&unattached, false).await;
    app.assert_files(&bobs, true).await;
}

async fn unattached_uploads_are_cleaned_up_after_a_day(app: TestApp) {
    let alice = app.user("alice").await;
    let attached = app.upload_image(&alice).await;
    let abandoned = app.upload_image(&alice).await;
    let claimed_late = app.upload_image(&alice).await;
    app.create_post_with_media(&alice, &[media_id(&attached)])
        .await;
    app.advance(2 * HOUR);
    let recent = app.upload_image(&alice).await;
    app.advance(23 * HOUR);
    let fresh = app.upload_image(&alice).await;
    // 25 hours old but attached just before the clean-up: it stays.
    app.create_post_with_media(&alice, &[media_id(&claimed_late)])
        .await;

    let removed = roost::media::cleanup::run_once(&app.state).await.unwrap();
    assert_eq!(removed, 1);
    app.assert_files(&abandoned, false).await;
    app.assert_not_attachable(&alice, &[media_id(&abandoned)], "cleaned up")
        .await;
    for kept in [&attached, &claimed_late, &recent, &fresh] {
        app.assert_files(kept, true).await;
    }

    // A second pass finds nothing new; once `recent` is a day old, it goes too.
    assert_eq!(
        roost::media::cleanup::run_once(&app.state).await.unwrap(),
        0
    );
    app.advance(2 * HOUR);
    assert_eq!(
        roost::media::cleanup::run_once(&app.state).await.unwrap(),
        1
    );
    app.assert_files(&recent, false).await;
    app.assert_files(&fresh, true).await;
    app.create_post_with_media(&alice, &[media_id(&fresh)])
        .await;
    app.assert_files(&attached, true).await;
}

async fn the_clean_up_handles_more_than_one_batch(app: TestApp) {
    let alice = app.user("alice").await;
    let mut uploads = Vec::new();
    for _ in 0..105 {
        uploads.push(app.upload_image(&alice).await);
    }
    app.advance(25 * HOUR);
    assert_eq!(
        roost::media::cleanup::run_once(&app.state).await.unwrap(),
        105
    );
    app.assert_files(&uploads[0], false).await;
    app.assert_files(&uploads[104], false).await;
}

both_databases!(
    uploading_stores_a_full_image_and_a_preview,
    no_metadata_survives_in_either_copy,
    the_description_is_stored_and_limited,
    bad_uploads_are_refused,
    uploads_over_the_json_body_limit_are_accepted,
    posts_carry_their_media_in_order,
    media_must_be_your_own_unattached_uploads,
    content_may_be_empty_only_with_media,
    deleting_a_post_deletes_its_media,
    deleting_an_account_deletes_its_media_files,
    unattached_uploads_are_cleaned_up_after_a_day,
    the_clean_up_handles_more_than_one_batch,
);

async fn the_server_runs_the_clean_up_by_itself(app: TestApp) {
    let alice = app.user("alice").await;
    let abandoned = app.upload_image(&alice).await;
    app.advance(25 * HOUR);
    // With a one-second interval, a pass is due within a second; allow for a slow machine.
    eventually(
        Duration::from_secs(20),
        "the clean-up task removes the abandoned upload",
        async || {
            let status = app.fetch(url(&abandoned, "url")).await.status();
            (status != StatusCode::OK).then_some(())
        },
    )
    .await;
    app.assert_files(&abandoned, false).await;
}

const EVERY_SECOND: &[(&str, &str)] = &[("ROOST_MEDIA_CLEANUP_INTERVAL_SECS", "1")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_the_clean_up_by_itself_on_sqlite() {
    the_server_runs_the_clean_up_by_itself(TestApp::sqlite_with(EVERY_SECOND).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_the_clean_up_by_itself_on_postgres() {
    if let Some(app) = TestApp::postgres_with(EVERY_SECOND).await {
        the_server_runs_the_clean_up_by_itself(app).await;
    }
}

async fn oversized_uploads_are_413(app: TestApp) {
    let token = app.user("alice").await;
    let bytes = noisy_png(200);
    assert!(bytes.len() > 64 * 1024);
    assert_problem(
        upload_file(&app, &token, bytes).await,
        413,
        "payload_too_large",
    )
    .await;
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
