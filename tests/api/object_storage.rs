//! Media in an S3-compatible bucket (`ROOST_MEDIA_STORE=s3://…`), against a real S3 server
//! process that each test starts: moto's server mode, named by `ROOST_TEST_MOTO_SERVER` (the
//! path of its `moto_server` program; `.ci/run` installs it from PyPI). When that is unset
//! these tests do nothing.
//!
//! The bucket is made publicly readable, as one behind a CDN would be, and read directly
//! (a plain GET of `/{bucket}/{prefix}/{key}`) to check what Roost stored and removed.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::helpers::{DatabaseKind, TestApp, assert_problem, eventually, file_part, media_id};
use crate::images::png;
use crate::on_both_databases;

const BUCKET: &str = "roost-media";
const PREFIX: &str = "site/images";

/// A running S3 server; killed when dropped.
struct S3Server {
    child: Child,
    /// `http://127.0.0.1:port`.
    endpoint: String,
    client: reqwest::Client,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts moto on a free port with one empty bucket, or `None` when no server program
    /// is configured.
    async fn start() -> Option<Self> {
        let program = std::env::var("ROOST_TEST_MOTO_SERVER").ok()?;
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
            probe.local_addr().unwrap().port()
        };
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("ROOST_TEST_MOTO_SERVER={program} starts: {error}"));
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        let bucket = format!("{}/{BUCKET}", server.endpoint);
        eventually(
            Duration::from_secs(30),
            "the S3 server answers",
            async || {
                let created = server.client.put(&bucket).send().await.ok()?;
                created.status().is_success().then_some(())
            },
        )
        .await;
        // Anyone may read objects, as from a bucket behind a CDN; only signed requests
        // (Roost's) may write them.
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{BUCKET}/*"),
            }],
        });
        let response = server
            .client
            .put(format!("{bucket}?policy"))
            .json(&policy)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "bucket policy: {response:?}"
        );
        Some(server)
    }

    /// The object of a media key, read straight from the bucket: its status and bytes.
    async fn object(&self, key: &str) -> (StatusCode, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}/{BUCKET}/{PREFIX}/{key}", self.endpoint))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.bytes().await.unwrap().to_vec())
    }

    async fn assert_stored(&self, key: &str, stored: bool) {
        let (status, _) = self.object(key).await;
        let expected = if stored {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(status, expected, "object {key} in the bucket");
    }

    fn vars(&self, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("ROOST_MEDIA_STORE", format!("s3://{BUCKET}/{PREFIX}")),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "roost-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "roost-test-secret".into()),
        ];
        vars.extend_from_slice(extra);
        vars
    }
}

/// The key at the end of a media URL.
fn key_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

/// The type a key's extension names (an opaque upload is re-encoded as JPEG).
fn content_type(key: &str) -> &'static str {
    if key.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

fn keys(media: &Value) -> [String; 2] {
    [
        key_of(media["url"].as_str().unwrap()).to_owned(),
        key_of(media["preview_url"].as_str().unwrap()).to_owned(),
    ]
}

async fn put_avatar(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(Method::PUT, "/api/v1/me/avatar", Some(token))
        .multipart(Form::new().part("file", file_part(png(64, 48), "me.png", "image/png")))
        .send()
        .await
        .unwrap()
}

/// Nothing is written to the media folder when a bucket is configured.
async fn assert_media_dir_empty(app: &TestApp) {
    let Ok(mut entries) = tokio::fs::read_dir(&app.media_dir).await else {
        return;
    };
    assert!(
        entries.next_entry().await.unwrap().is_none(),
        "the media folder stays empty"
    );
}

async fn uploads_avatars_and_deletions_live_in_the_bucket(database: DatabaseKind) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let Some(app) = TestApp::on(database, &s3.vars(&[])).await else {
        return;
    };
    let alice = app.user("alice").await;

    // An upload: both files in the bucket, served through Roost with the same headers.
    let media = app.upload_image(&alice).await;
    let [file, preview] = keys(&media);
    for key in [&file, &preview] {
        s3.assert_stored(key, true).await;
    }
    let served = app.fetch(media["url"].as_str().unwrap()).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], content_type(&file));
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let served = served.bytes().await.unwrap().to_vec();
    assert_eq!(
        served,
        s3.object(&file).await.1,
        "Roost serves the bucket's bytes"
    );
    app.assert_files(&media, true).await;

    // Deleting the post it was attached to deletes both objects.
    let post = app
        .create_post_with_media(&alice, &[media_id(&media)])
        .await;
    app.delete_post(&alice, post["id"].as_str().unwrap()).await;
    for key in [&file, &preview] {
        s3.assert_stored(key, false).await;
    }
    app.assert_files(&media, false).await;

    // An avatar, replaced, then deleted: each old object goes.
    let first: Value = put_avatar(&app, &alice).await.json().await.unwrap();
    let first_key = key_of(first["avatar_url"].as_str().unwrap()).to_owned();
    s3.assert_stored(&first_key, true).await;
    let second: Value = put_avatar(&app, &alice).await.json().await.unwrap();
    let second_key = key_of(second["avatar_url"].as_str().unwrap()).to_owned();
    s3.assert_stored(&first_key, false).await;
    s3.assert_stored(&second_key, true).await;
    let deleted = app
        .request(Method::DELETE, "/api/v1/me/avatar", Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    s3.assert_stored(&second_key, false).await;

    // Deleting an account deletes its avatar and its uploads.
    let bob = app.user("bob").await;
    let avatar: Value = put_avatar(&app, &bob).await.json().await.unwrap();
    let avatar_key = key_of(avatar["avatar_url"].as_str().unwrap()).to_owned();
    let attached = app.upload_image(&bob).await;
    app.create_post_with_media(&bob, &[media_id(&attached)])
        .await;
    let loose = app.upload_image(&bob).await;
    app.delete_account(&bob).await;
    s3.assert_stored(&avatar_key, false).await;
    for media in [&attached, &loose] {
        for key in keys(media) {
            s3.assert_stored(&key, false).await;
        }
    }
    assert_media_dir_empty(&app).await;
}

async fn the_clean_up_empties_the_bucket_of_abandoned_uploads(database: DatabaseKind) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let Some(app) = TestApp::on(database, &s3.vars(&[])).await else {
        return;
    };
    let alice = app.user("alice").await;
    let abandoned = app.upload_image(&alice).await;
    let attached = app.upload_image(&alice).await;
    app.create_post_with_media(&alice, &[media_id(&attached)])
        .await;
    app.advance(Duration::from_secs(25 * 60 * 60));
    let fresh = app.upload_image(&alice).await;

    let removed = roost::media::cleanup::run_once(&app.state).await.unwrap();
    assert_eq!(removed, 1);
    for key in keys(&abandoned) {
        s3.assert_stored(&key, false).await;
    }
    for media in [&attached, &fresh] {
        for key in keys(media) {
            s3.assert_stored(&key, true).await;
        }
    }
}

async fn a_bucket_that_does_not_answer_refuses_uploads_and_records_nothing(database: DatabaseKind) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    // The right server and credentials, a bucket that is not there: every write fails.
    let mut vars = s3.vars(&[]);
    vars[0].1 = format!("s3://missing-bucket/{PREFIX}");
    let Some(app) = TestApp::on(database, &vars).await else {
        return;
    };
    let alice = app.user("alice").await;
    let response = app
        .request(Method::POST, "/api/v1/media", Some(&alice))
        .multipart(Form::new().part("file", file_part(png(40, 30), "a.png", "image/png")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_problem(response, 503, "service_unavailable").await;
    let response = put_avatar(&app, &alice).await;
    assert_problem(response, 503, "service_unavailable").await;
    // No row points at a missing object: the account has no avatar, and nothing to attach.
    let me = app.get_ok("/api/v1/me", Some(&alice)).await;
    assert!(me["avatar_url"].is_null(), "{me}");
    let rows = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM media",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(rows, 0);
    // The rest of the API is served, and the server stays ready.
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    app.create_post(&alice, "words still work").await;
}

async fn a_public_base_url_sends_clients_to_the_bucket(database: DatabaseKind) {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let base = format!("{}/{BUCKET}/{PREFIX}", s3.endpoint);
    let vars = s3.vars(&[("ROOST_MEDIA_PUBLIC_URL", format!("{base}/"))]);
    let Some(app) = TestApp::on(database, &vars).await else {
        return;
    };
    let alice = app.user("alice").await;
    let media = app.upload_image(&alice).await;
    let url = media["url"].as_str().unwrap();
    assert_eq!(url, format!("{base}/{}", key_of(url)));
    // The bucket serves it as a CDN would, with its content type and cache lifetime.
    let served = s3.client.get(url).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], content_type(key_of(url)));
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let avatar: Value = put_avatar(&app, &alice).await.json().await.unwrap();
    assert!(
        avatar["avatar_url"].as_str().unwrap().starts_with(&base),
        "{avatar}"
    );
}

on_both_databases!(
    uploads_avatars_and_deletions_live_in_the_bucket,
    the_clean_up_empties_the_bucket_of_abandoned_uploads,
    a_bucket_that_does_not_answer_refuses_uploads_and_records_nothing,
    a_public_base_url_sends_clients_to_the_bucket,
);
