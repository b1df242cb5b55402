//! Notifications, scheduled statuses, media, search and the harmless empties through the
//! Mastodon-compatible API.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{TestApp, assert_masto_error, json_ok};
use crate::images::png;
use roost::clock::Clock;

fn types(notifications: &Value) -> Vec<String> {
    notifications
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn notifications_use_mastodons_types(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let post = app
        .masto_post_form("/api/v1/statuses", &[("status", "hello")], Some(&alice))
        .await;
    let post_id = post["id"].as_str().unwrap();
    app.follow(&bob, "alice").await;
    app.masto_post_form(
        &format!("/api/v1/statuses/{post_id}/favourite"),
        &[],
        Some(&bob),
    )
    .await;
    app.masto_post_form(
        "/api/v1/statuses",
        &[("status", "nice"), ("in_reply_to_id", post_id)],
        Some(&bob),
    )
    .await;
    app.masto_post_form("/api/v1/statuses", &[("status", "hey @alice")], Some(&bob))
        .await;

    let all = app.masto_get("/api/v1/notifications", Some(&alice)).await;
    assert_eq!(types(&all), ["mention", "mention", "favourite", "follow"]);
    assert_eq!(all[3]["account"]["username"], "bob");
    assert!(all[3].get("status").is_none());
    assert_eq!(all[2]["status"]["id"], post["id"]);
    // The comment shows as the reply it is.
    assert_eq!(all[1]["status"]["in_reply_to_id"], post["id"]);

    let only = app
        .masto_get(
            "/api/v1/notifications?types[]=favourite&types[]=follow",
            Some(&alice),
        )
        .await;
    assert_eq!(types(&only), ["favourite", "follow"]);
    let excluded = app
        .masto_get(
            "/api/v1/notifications?exclude_types[]=mention",
            Some(&alice),
        )
        .await;
    assert_eq!(types(&excluded), ["favourite", "follow"]);
    let count = app
        .masto_get("/api/v1/notifications/unread_count", Some(&alice))
        .await;
    assert_eq!(count["count"], 4);

    let one_id = all[2]["id"].as_str().unwrap();
    let one = app
        .masto_get(&format!("/api/v1/notifications/{one_id}"), Some(&alice))
        .await;
    assert_eq!(one["type"], "favourite");
    let response = app
        .masto(
            Method::GET,
            &format!("/api/v1/notifications/{one_id}"),
            Some(&bob),
        )
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 404, "someone else's notification").await;

    app.masto_post_form(
        &format!("/api/v1/notifications/{one_id}/dismiss"),
        &[],
        Some(&alice),
    )
    .await;
    let left = app.masto_get("/api/v1/notifications", Some(&alice)).await;
    assert_eq!(types(&left), ["mention", "mention", "follow"]);
    app.masto_post_form("/api/v1/notifications/clear", &[], Some(&alice))
        .await;
    let left = app.masto_get("/api/v1/notifications", Some(&alice)).await;
    assert_eq!(left, json!([]));
}

async fn notifications_page_by_id(app: TestApp) {
    let alice = app.user("alice").await;
    for name in ["bob", "carol", "dave"] {
        let token = app.user(name).await;
        app.follow(&token, "alice").await;
    }
    let first = app
        .masto_get("/api/v1/notifications?limit=2", Some(&alice))
        .await;
    assert_eq!(first.as_array().unwrap().len(), 2);
    let last = first[1]["id"].as_str().unwrap();
    let rest = app
        .masto_get(
            &format!("/api/v1/notifications?max_id={last}"),
            Some(&alice),
        )
        .await;
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_eq!(rest[0]["account"]["username"], "bob");
    let newer = app
        .masto_get(
            &format!(
                "/api/v1/notifications?min_id={}",
                rest[0]["id"].as_str().unwrap()
            ),
            Some(&alice),
        )
        .await;
    assert_eq!(newer.as_array().unwrap().len(), 2);
}

async fn statuses_are_scheduled_listed_moved_and_cancelled(app: TestApp) {
    let alice = app.user("alice").await;
    let at = (app.clock.now() + chrono::Duration::hours(2)).to_rfc3339();
    let scheduled = app
        .masto_post_form(
            "/api/v1/statuses",
            &[
                ("status", "later"),
                ("scheduled_at", &at),
                ("visibility", "private"),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(scheduled["params"]["text"], "later");
    assert_eq!(scheduled["params"]["visibility"], "private");
    let id = scheduled["id"].as_str().unwrap();
    let listed = app
        .masto_get("/api/v1/scheduled_statuses", Some(&alice))
        .await;
    assert_eq!(listed[0]["id"], scheduled["id"]);
    let later = (app.clock.now() + chrono::Duration::hours(3)).to_rfc3339();
    let response = app
        .masto(
            Method::PUT,
            &format!("/api/v1/scheduled_statuses/{id}"),
            Some(&alice),
        )
        .form(&[("scheduled_at", later.as_str())])
        .send()
        .await
        .unwrap();
    let moved = json_ok(response, "reschedule").await;
    assert_ne!(moved["scheduled_at"], scheduled["scheduled_at"]);
    let response = app
        .masto(
            Method::DELETE,
            &format!("/api/v1/scheduled_statuses/{id}"),
            Some(&alice),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json_ok(response, "cancel").await, json!({}));
    let listed = app
        .masto_get("/api/v1/scheduled_statuses", Some(&alice))
        .await;
    assert_eq!(listed, json!([]));
    // Mastodon's rule: at least five minutes ahead.
    let soon = (app.clock.now() + chrono::Duration::minutes(1)).to_rfc3339();
    let response = app
        .masto(Method::POST, "/api/v1/statuses", Some(&alice))
        .form(&[("status", "too soon"), ("scheduled_at", soon.as_str())])
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 422, "too soon").await;
}

async fn media_is_uploaded_described_and_attached(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let upload = |path: &'static str| {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(png(64, 32))
                    .file_name("a.png")
                    .mime_str("image/png")
                    .unwrap(),
            )
            .text("description", "a wide box");
        app.masto(Method::POST, path, Some(&alice))
            .multipart(form)
            .send()
    };
    let media = json_ok(upload("/api/v2/media").await.unwrap(), "v2 upload").await;
    assert_eq!(media["type"], "image");
    assert_eq!(media["description"], "a wide box");
    assert_eq!(media["meta"]["original"]["width"], 64);
    let v1 = json_ok(upload("/api/v1/media").await.unwrap(), "v1 upload").await;
    let id = media["id"].as_str().unwrap();
    let response = app
        .masto(Method::PUT, &format!("/api/v1/media/{id}"), Some(&alice))
        .json(&json!({"description": "a box"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_ok(response, "describe").await["description"], "a box");
    let response = app
        .masto(Method::GET, &format!("/api/v1/media/{id}"), Some(&bob))
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 404, "someone else's upload").await;
    let status = app
        .masto_post_form(
            "/api/v1/statuses",
            &[
                ("status", ""),
                ("media_ids[]", id),
                ("media_ids[]", v1["id"].as_str().unwrap()),
            ],
            Some(&alice),
        )
        .await;
    assert_eq!(status["media_attachments"][0]["id"], media["id"]);
    assert_eq!(status["media_attachments"][0]["description"], "a box");
    assert_eq!(status["media_attachments"][1]["id"], v1["id"]);
    let image = app
        .client
        .get(status["media_attachments"][0]["url"].as_str().unwrap());
    assert_eq!(image.send().await.unwrap().status(), 200);
}

async fn search_finds_accounts_statuses_and_hashtags(app: TestApp) {
    let alice = app.user("alice").await;
    app.user("alfred").await;
    app.masto_post_form(
        "/api/v1/statuses",
        &[("status", "The heron waits #birds")],
        Some(&alice),
    )
    .await;
    let found = app.masto_get("/api/v2/search?q=heron", Some(&alice)).await;
    assert_eq!(found["statuses"].as_array().unwrap().len(), 1);
    let found = app
        .masto_get("/api/v2/search?q=al&type=accounts", Some(&alice))
        .await;
    let names: Vec<&str> = found["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"alfred"),
        "{names:?}"
    );
    assert_eq!(found["statuses"], json!([]));
    let found = app.masto_get("/api/v2/search?q=%23birds", None).await;
    assert_eq!(found["hashtags"][0]["name"], "birds");
}

async fn what_roost_lacks_answers_empty(app: TestApp) {
    let alice = app.user("alice").await;
    for path in [
        "/api/v1/filters",
        "/api/v2/filters",
        "/api/v1/lists",
        "/api/v1/bookmarks",
        "/api/v1/conversations",
        "/api/v1/followed_tags",
        "/api/v1/suggestions",
        "/api/v2/suggestions",
        "/api/v1/custom_emojis",
        "/api/v1/announcements",
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends/links",
    ] {
        assert_eq!(app.masto_get(path, Some(&alice)).await, json!([]), "{path}");
    }
    assert_eq!(
        app.masto_get("/api/v1/markers", Some(&alice)).await,
        json!({})
    );
    let preferences = app.masto_get("/api/v1/preferences", Some(&alice)).await;
    assert_eq!(preferences["posting:default:visibility"], "public");
}

both_databases!(
    notifications_use_mastodons_types,
    notifications_page_by_id,
    statuses_are_scheduled_listed_moved_and_cancelled,
    media_is_uploaded_described_and_attached,
    search_finds_accounts_statuses_and_hashtags,
    what_roost_lacks_answers_empty,
);
