//! Posts: create (with its content, media-id and body rules), read, edit, delete, the
//! author's `posts_count`, the post lists (`/posts` with `author` and `q`,
//! `/users/{username}/posts`, `/me/posts`), their pagination, and `Idempotency-Key`.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use roost::clock::Clock as _;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::both_databases;
use crate::helpers::{
    PASSWORD, POSTS, TestApp, UNKNOWN_TOKEN, assert_problem, assert_refused_field, contents,
    error_fields, id_of, json_created, json_ok, newest_first_pages, post_path, strings, timestamp,
    with_param,
};

const MY_POSTS: &str = "/api/v1/me/posts";

// ---------------------------------------------------------------------------------------
// Small helpers for this file
// ---------------------------------------------------------------------------------------

/// `POST /posts` with an `Idempotency-Key`.
async fn send_keyed(app: &TestApp, token: &str, key: &str, body: &Value) -> Response {
    app.request(Method::POST, POSTS, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn patch_post(app: &TestApp, token: Option<&str>, id: &str, body: &Value) -> Response {
    app.request(Method::PATCH, &post_path(id), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn send_delete(app: &TestApp, token: Option<&str>, id: &str) -> Response {
    app.request(Method::DELETE, &post_path(id), token)
        .send()
        .await
        .unwrap()
}

/// A post must be gone: `GET /posts/{id}` is a 404.
async fn assert_gone(app: &TestApp, id: &str) {
    assert_problem(app.get(&post_path(id), None).await, 404, "not_found").await;
}

/// The account made no post: empty lists and `posts_count` 0.
async fn assert_no_posts(app: &TestApp, token: &str, username: &str) {
    assert!(app.list_contents(MY_POSTS, Some(token)).await.is_empty());
    assert!(app.list_contents(POSTS, None).await.is_empty());
    assert!(
        app.list_contents(&format!("/api/v1/users/{username}/posts"), None)
            .await
            .is_empty()
    );
    assert_eq!(app.posts_count(username).await, 0);
}

// ---------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------

async fn creating_a_post_answers_201_with_its_location_and_the_post(app: TestApp) {
    let token = app.user("alice").await;
    let me = json_ok(
        app.request(Method::PATCH, "/api/v1/me", Some(&token))
            .json(&json!({"display_name": "Alice Liddell"}))
            .send()
            .await
            .unwrap(),
        "PATCH /me",
    )
    .await;
    let response = app
        .send_post(
            Some(&token),
            &json!({"content": "  First light on the #River \n\t"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let post: Value = response.json().await.unwrap();

    let mut fields: Vec<&str> = post
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "author",
            "comment_count",
            "content",
            "created_at",
            "edited_at",
            "id",
            "like_count",
            "liked",
            "media",
            "mentions",
            "tags",
            "visibility",
        ]
    );
    let id = id_of(&post);
    assert!(!id.is_empty());
    assert_eq!(
        post["author"],
        json!({
            "id": me["id"],
            "username": "alice",
            "display_name": "Alice Liddell",
            "avatar_url": null,
        })
    );
    assert!(post["author"]["id"].is_string());
    assert_eq!(post["content"], "First light on the #River");
    assert_eq!(post["tags"], json!(["river"]));
    assert_eq!(post["media"], json!([]));
    assert_eq!(post["like_count"], 0);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["liked"], false, "the author has not liked it");
    assert_eq!(post["edited_at"], Value::Null);
    let created_at = timestamp(&post["created_at"]);
    let skew = (app.clock.now() - created_at).num_seconds().abs();
    assert!(skew <= 1, "created_at is the server's now: {created_at}");

    assert_eq!(location, app.url(&post_path(&id)), "Location is absolute");
    let fetched = json_ok(
        app.client
            .get(&location)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        &location,
    )
    .await;
    assert_eq!(fetched, post, "the Location serves the same post");
}

async fn creating_a_post_needs_a_token(app: TestApp) {
    let token = app.user("alice").await;
    let body = json!({"content": "hello"});
    let response = app.send_post(None, &body).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    let response = app.send_post(Some(UNKNOWN_TOKEN), &body).await;
    assert_problem(response, 401, "invalid_token").await;
    assert_no_posts(&app, &token, "alice").await;
}

async fn content_must_not_be_empty_after_trimming(app: TestApp) {
    let token = app.user("alice").await;
    for content in ["", " ", "   \n\t  ", "\u{3000}\u{a0}"] {
        let response = app
            .send_post(Some(&token), &json!({"content": content}))
            .await;
        assert_refused_field(response, "content", &format!("{content:?}")).await;
    }
    assert_no_posts(&app, &token, "alice").await;
}

async fn content_allows_500_characters_not_501(app: TestApp) {
    let token = app.user("alice").await;
    let five_hundred = "é".repeat(500);
    let post = app.create_post(&token, &five_hundred).await;
    assert_eq!(
        post["content"], five_hundred,
        "500 × é is 1000 bytes but 500 characters"
    );
    let padded = format!(" \n {} \t ", "a".repeat(500));
    let post = app.create_post(&token, &padded).await;
    assert_eq!(
        post["content"],
        "a".repeat(500),
        "white space is trimmed before counting"
    );
    for too_long in [
        "é".repeat(501),
        "a".repeat(501),
        format!("  {}x  ", "a".repeat(500)),
    ] {
        let response = app
            .send_post(Some(&token), &json!({"content": too_long}))
            .await;
        assert_refused_field(
            response,
            "content",
            &format!("{} characters", too_long.chars().count()),
        )
        .await;
    }
    assert_eq!(app.list_contents(MY_POSTS, Some(&token)).await.len(), 2);
    assert_eq!(app.posts_count("alice").await, 2);
}

async fn content_keeps_inner_white_space_and_refuses_nul(app: TestApp) {
    let token = app.user("alice").await;
    let post = app
        .create_post(&token, "\n line one\n\n  line two \n")
        .await;
    assert_eq!(post["content"], "line one\n\n  line two");
    let response = app
        .send_post(Some(&token), &json!({"content": "a\u{0}b"}))
        .await;
    assert_refused_field(response, "content", "a NUL").await;
    assert_eq!(app.posts_count("alice").await, 1);
}

async fn a_post_body_with_missing_fields_or_wrong_types_is_422(app: TestApp) {
    let token = app.user("alice").await;
    for body in [
        json!({}),
        json!({"media_ids": []}),
        json!({"content": null}),
        json!({"content": 42}),
        json!({"content": ["hello"]}),
        json!({"content": {"text": "hello"}}),
        json!({"content": true}),
    ] {
        let response = app.send_post(Some(&token), &body).await;
        assert_refused_field(response, "content", &body.to_string()).await;
    }
    for body in [
        json!({"content": "hello", "media_ids": "abc"}),
        json!({"content": "hello", "media_ids": 3}),
        json!({"content": "hello", "media_ids": [1]}),
    ] {
        let response = app.send_post(Some(&token), &body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        let fields = error_fields(&problem);
        assert!(
            fields.len() == 1 && fields[0].starts_with("media_ids"),
            "{body}: {problem}"
        );
    }
    for body in [json!([]), json!("hello"), json!(null), json!(1)] {
        let response = app.send_post(Some(&token), &body).await;
        assert_problem(response, 422, "validation_failed").await;
    }
    assert_no_posts(&app, &token, "alice").await;
}

async fn a_malformed_or_non_json_post_body_is_refused(app: TestApp) {
    let token = app.user("alice").await;
    for raw in [
        "{\"content\": \"hello\"",
        "{content: hello}",
        "",
        "{\"content\": \"a\"}x",
    ] {
        let response = app
            .request(Method::POST, POSTS, Some(&token))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "malformed_json").await;
    }
    for (content_type, raw) in [
        ("application/x-www-form-urlencoded", "content=hello"),
        ("text/plain", "{\"content\": \"hello\"}"),
    ] {
        let response = app
            .request(Method::POST, POSTS, Some(&token))
            .header("content-type", content_type)
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_problem(response, 415, "unsupported_media_type").await;
    }
    let response = app
        .request(Method::POST, POSTS, Some(&token))
        .body("{\"content\": \"hello\"}")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;
    assert_no_posts(&app, &token, "alice").await;
}

async fn media_ids_are_checked_and_a_refused_post_creates_nothing(app: TestApp) {
    let token = app.user("alice").await;
    let unknown = || uuid::Uuid::now_v7().to_string();
    let five: Vec<String> = (0..5).map(|_| unknown()).collect();
    for (content, media_ids) in [
        ("five media #refused", json!(five)),
        ("malformed id #refused", json!(["not-a-media-id"])),
        ("malformed id #refused", json!([""])),
        ("unknown id #refused", json!([unknown()])),
        ("", json!([unknown()])),
        (
            "one known-shape, one unknown #refused",
            json!([unknown(), unknown()]),
        ),
    ] {
        let body = json!({"content": content, "media_ids": media_ids});
        let response = app.send_post(Some(&token), &body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        let fields = error_fields(&problem);
        assert!(
            !fields.is_empty() && fields.iter().all(|field| field == "media_ids"),
            "{body}: {problem}"
        );
    }
    assert_no_posts(&app, &token, "alice").await;
    let tag = app.get_ok("/api/v1/tags/refused", None).await;
    assert_eq!(tag["post_count"], 0, "no tag of a refused post survives");

    // An empty list is no media: the content rules apply as without it.
    let post = json_created(
        app.send_post(Some(&token), &json!({"content": "fine", "media_ids": []}))
            .await,
        "empty media_ids",
    )
    .await;
    assert_eq!(post["media"], json!([]));
    let response = app
        .send_post(Some(&token), &json!({"content": " ", "media_ids": []}))
        .await;
    assert_refused_field(response, "content", "blank with empty media_ids").await;
    let post = json_created(
        app.send_post(
            Some(&token),
            &json!({"content": "null media", "media_ids": null}),
        )
        .await,
        "null media_ids",
    )
    .await;
    assert_eq!(post["media"], json!([]));
    assert_eq!(app.posts_count("alice").await, 2);
}

both_databases!(
    creating_a_post_answers_201_with_its_location_and_the_post,
    creating_a_post_needs_a_token,
    content_must_not_be_empty_after_trimming,
    content_allows_500_characters_not_501,
    content_keeps_inner_white_space_and_refuses_nul,
    a_post_body_with_missing_fields_or_wrong_types_is_422,
    a_malformed_or_non_json_post_body_is_refused,
    media_ids_are_checked_and_a_refused_post_creates_nothing,
);

// ---------------------------------------------------------------------------------------
// Read
// ---------------------------------------------------------------------------------------

async fn a_post_is_public_and_liked_depends_on_the_viewer(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let created = app.create_post(&alice, "Public words #open").await;
    let path = post_path(&id_of(&created));

    let anonymous = app.get_ok(&path, None).await;
    assert_eq!(
        anonymous["liked"],
        Value::Null,
        "null for anonymous viewers"
    );
    let mut expected = created.clone();
    expected["liked"] = Value::Null;
    assert_eq!(anonymous, expected);

    let seen_by_bob = app.get_ok(&path, Some(&bob)).await;
    assert_eq!(seen_by_bob["liked"], false);
    assert_eq!(seen_by_bob, created);
    assert_eq!(app.get_ok(&path, Some(&alice)).await, created);

    // The Django REST Framework spelling of the header works too.
    let response = app
        .client
        .get(app.url(&path))
        .header("authorization", format!("Token {bob}"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_ok(response, "Token scheme").await["liked"], false);
}

async fn malformed_and_unknown_post_ids_are_404(app: TestApp) {
    let alice = app.user("alice").await;
    let post = app.create_post(&alice, "exists").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let paths = [
        format!("{POSTS}/{unknown}"),
        format!("{POSTS}/not-an-id"),
        format!("{POSTS}/12345"),
        format!("{POSTS}/{}x", id_of(&post)),
        format!("{POSTS}/%00"),
    ];
    for path in &paths {
        assert_problem(app.get(path, None).await, 404, "not_found").await;
        assert_problem(app.get(path, Some(&alice)).await, 404, "not_found").await;
        let response = app
            .request(Method::PATCH, path, Some(&alice))
            .json(&json!({"content": "edited"}))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "not_found").await;
        let response = app
            .request(Method::DELETE, path, Some(&alice))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, "not_found").await;
    }
    assert_eq!(app.posts_count("alice").await, 1);
}

async fn an_invalid_token_is_401_even_on_public_post_reads(app: TestApp) {
    let alice = app.user("alice").await;
    let post = app.create_post(&alice, "public #words").await;
    let revoked = app.token("alice@example.com", PASSWORD).await;
    app.logout(&revoked).await;
    let paths = [
        post_path(&id_of(&post)),
        POSTS.to_owned(),
        format!("{POSTS}?q=public"),
        "/api/v1/users/alice/posts".to_owned(),
        "/api/v1/tags/words".to_owned(),
        "/api/v1/tags/words/posts".to_owned(),
    ];
    for path in &paths {
        for token in [UNKNOWN_TOKEN, revoked.as_str()] {
            let response = app.get(path, Some(token)).await;
            assert_problem(response, 401, "invalid_token").await;
        }
        app.get_ok(path, None).await;
    }
}

both_databases!(
    a_post_is_public_and_liked_depends_on_the_viewer,
    malformed_and_unknown_post_ids_are_404,
    an_invalid_token_is_401_even_on_public_post_reads,
);

// ---------------------------------------------------------------------------------------
// Edit
// ---------------------------------------------------------------------------------------

async fn the_author_can_edit_a_post(app: TestApp) {
    let alice = app.user("alice").await;
    let created = app.create_post(&alice, "first version #draft").await;
    let id = id_of(&created);
    app.advance(Duration::from_secs(90));
    let response = patch_post(
        &app,
        Some(&alice),
        &id,
        &json!({"content": "  second version #Final #draft2 \n"}),
    )
    .await;
    let edited = json_ok(response, "PATCH").await;
    assert_eq!(edited["id"], created["id"]);
    assert_eq!(edited["content"], "second version #Final #draft2");
    assert_eq!(edited["tags"], json!(["final", "draft2"]));
    assert_eq!(edited["author"], created["author"]);
    assert_eq!(
        edited["created_at"], created["created_at"],
        "created_at stays"
    );
    assert_eq!(edited["liked"], false);
    assert_eq!(edited["like_count"], 0);
    assert_eq!(edited["comment_count"], 0);
    assert_eq!(edited["media"], json!([]));
    let created_at = timestamp(&created["created_at"]);
    let edited_at = timestamp(&edited["edited_at"]);
    assert!(
        edited_at >= created_at + chrono::TimeDelta::seconds(89),
        "edited_at ({edited_at}) is the time of the edit, after created_at ({created_at})"
    );
    assert_eq!(app.get_ok(&post_path(&id), Some(&alice)).await, edited);
    assert_eq!(
        app.list_contents(POSTS, None).await,
        ["second version #Final #draft2"]
    );

    // A second edit moves edited_at again.
    app.advance(Duration::from_secs(60));
    let again = json_ok(
        patch_post(&app, Some(&alice), &id, &json!({"content": "third"})).await,
        "second PATCH",
    )
    .await;
    assert_eq!(again["tags"], json!([]));
    assert!(timestamp(&again["edited_at"]) > edited_at);
    assert_eq!(
        app.posts_count("alice").await,
        1,
        "an edit is not a new post"
    );
}

async fn only_the_author_may_edit_a_post(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let created = app.create_post(&alice, "mine #own").await;
    let id = id_of(&created);
    let body = json!({"content": "hijacked #stolen"});
    let response = patch_post(&app, Some(&bob), &id, &body).await;
    assert_problem(response, 403, "not_owner").await;
    let response = patch_post(&app, None, &id, &body).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    let response = patch_post(&app, Some(UNKNOWN_TOKEN), &id, &body).await;
    assert_problem(response, 401, "invalid_token").await;
    let post = app.get_ok(&post_path(&id), Some(&alice)).await;
    assert_eq!(post, created, "unchanged");
    let tag = app.get_ok("/api/v1/tags/stolen", None).await;
    assert_eq!(tag["post_count"], 0);
}

async fn an_edit_must_follow_the_content_rules(app: TestApp) {
    let alice = app.user("alice").await;
    let created = app.create_post(&alice, "original").await;
    let id = id_of(&created);
    for content in [
        String::new(),
        "   \n ".to_owned(),
        "b".repeat(501),
        "é".repeat(501),
    ] {
        let response = patch_post(&app, Some(&alice), &id, &json!({"content": content})).await;
        assert_refused_field(response, "content", &format!("edit to {content:?}")).await;
    }
    for body in [json!({}), json!({"content": null}), json!({"content": 7})] {
        let response = patch_post(&app, Some(&alice), &id, &body).await;
        assert_refused_field(response, "content", &format!("edit with {body}")).await;
    }
    let response = app
        .request(Method::PATCH, &post_path(&id), Some(&alice))
        .header("content-type", "application/json")
        .body("{\"content\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "malformed_json").await;
    let response = app
        .request(Method::PATCH, &post_path(&id), Some(&alice))
        .header("content-type", "text/plain")
        .body("{\"content\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;
    assert_eq!(
        app.get_ok(&post_path(&id), Some(&alice)).await,
        created,
        "a refused edit changes nothing, edited_at included"
    );
    // 500 characters are fine.
    let edited = json_ok(
        patch_post(
            &app,
            Some(&alice),
            &id,
            &json!({"content": "é".repeat(500)}),
        )
        .await,
        "500 characters",
    )
    .await;
    assert_eq!(edited["content"], "é".repeat(500));
}

both_databases!(
    the_author_can_edit_a_post,
    only_the_author_may_edit_a_post,
    an_edit_must_follow_the_content_rules,
);

// ---------------------------------------------------------------------------------------
// Delete and posts_count
// ---------------------------------------------------------------------------------------

async fn the_author_can_delete_a_post_once(app: TestApp) {
    let alice = app.user("alice").await;
    let kept = app.create_post(&alice, "kept #stays").await;
    let doomed = app.create_post(&alice, "doomed #goes").await;
    assert_eq!(app.posts_count("alice").await, 2);
    let response = send_delete(&app, Some(&alice), &id_of(&doomed)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());
    assert_gone(&app, &id_of(&doomed)).await;
    let response = send_delete(&app, Some(&alice), &id_of(&doomed)).await;
    assert_problem(response, 404, "not_found").await;
    let response = patch_post(
        &app,
        Some(&alice),
        &id_of(&doomed),
        &json!({"content": "x"}),
    )
    .await;
    assert_problem(response, 404, "not_found").await;

    assert_eq!(app.posts_count("alice").await, 1);
    assert_eq!(app.list_contents(POSTS, None).await, ["kept #stays"]);
    assert_eq!(
        app.list_contents(MY_POSTS, Some(&alice)).await,
        ["kept #stays"]
    );
    assert_eq!(
        app.list_contents("/api/v1/users/alice/posts", None).await,
        ["kept #stays"]
    );
    assert_eq!(app.get_ok("/api/v1/tags/goes", None).await["post_count"], 0);
    assert!(app.search_contents(&[("q", "doomed")]).await.is_empty());
    app.get_ok(&post_path(&id_of(&kept)), None).await;

    let response = send_delete(&app, Some(&alice), &id_of(&kept)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.posts_count("alice").await, 0);
    let me = app.get_ok("/api/v1/me", Some(&alice)).await;
    assert_eq!(me["posts_count"], 0);
}

async fn only_the_author_may_delete_a_post(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let post = app.create_post(&alice, "mine").await;
    let id = id_of(&post);
    let response = send_delete(&app, Some(&bob), &id).await;
    assert_problem(response, 403, "not_owner").await;
    let response = send_delete(&app, None, &id).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    let response = send_delete(&app, Some(UNKNOWN_TOKEN), &id).await;
    assert_problem(response, 401, "invalid_token").await;
    assert_eq!(app.get_ok(&post_path(&id), Some(&alice)).await, post);
    assert_eq!(app.posts_count("alice").await, 1);
    assert_eq!(app.posts_count("bob").await, 0);
}

async fn posts_count_rises_with_each_post(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    assert_eq!(app.posts_count("alice").await, 0);
    for n in 1..=3 {
        app.create_post(&alice, &format!("post {n}")).await;
        assert_eq!(app.posts_count("alice").await, n);
        let me = app.get_ok("/api/v1/me", Some(&alice)).await;
        assert_eq!(me["posts_count"], n);
    }
    app.create_post(&bob, "bob's").await;
    assert_eq!(app.posts_count("bob").await, 1);
    assert_eq!(app.posts_count("alice").await, 3);
}

/// Sends `count` copies of a request built by `build` at once; returns their statuses.
async fn in_parallel(
    count: usize,
    build: impl Fn(usize) -> reqwest::RequestBuilder,
) -> Vec<StatusCode> {
    let mut set = JoinSet::new();
    for n in 0..count {
        let request = build(n);
        set.spawn(async move { request.send().await.unwrap().status() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = set.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses.sort();
    statuses
}

async fn parallel_creates_and_deletes_keep_posts_count_exact(app: TestApp) {
    let alice = app.user("alice").await;
    let statuses = in_parallel(20, |n| {
        app.client
            .post(app.url(POSTS))
            .bearer_auth(&alice)
            .json(&json!({"content": format!("parallel {n} #burst")}))
    })
    .await;
    assert!(
        statuses.iter().all(|status| *status == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(app.posts_count("alice").await, 20);
    assert_eq!(app.list_contents(MY_POSTS, Some(&alice)).await.len(), 20);
    assert_eq!(
        app.get_ok("/api/v1/tags/burst", None).await["post_count"],
        20
    );

    // Ten deletions of one post at once: one succeeds, the rest find it gone.
    let victim = id_of(&app.get_ok(MY_POSTS, Some(&alice)).await["items"][0]);
    let statuses = in_parallel(10, |_| {
        app.client
            .delete(app.url(&post_path(&victim)))
            .bearer_auth(&alice)
    })
    .await;
    assert_eq!(statuses[0], StatusCode::NO_CONTENT, "{statuses:?}");
    assert!(
        statuses[1..]
            .iter()
            .all(|status| *status == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert_eq!(app.posts_count("alice").await, 19);
    assert_eq!(app.list_contents(MY_POSTS, Some(&alice)).await.len(), 19);
}

both_databases!(
    the_author_can_delete_a_post_once,
    only_the_author_may_delete_a_post,
    posts_count_rises_with_each_post,
    parallel_creates_and_deletes_keep_posts_count_exact,
);

// ---------------------------------------------------------------------------------------
// Lists: /posts, ?author=, /users/{username}/posts, /me/posts
// ---------------------------------------------------------------------------------------

async fn posts_are_listed_newest_first(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.create_post(&alice, "a1").await;
    app.create_post(&bob, "b1").await;
    app.create_post(&alice, "a2").await;
    app.create_post(&bob, "b2").await;
    let page = app.get_ok(POSTS, None).await;
    assert_eq!(contents(&page), ["b2", "a2", "b1", "a1"]);
    assert_eq!(page["next_cursor"], Value::Null);
    for post in page["items"].as_array().unwrap() {
        assert_eq!(post["liked"], Value::Null, "{post}");
        assert!(post["author"]["username"].is_string(), "{post}");
    }
    let page = app.get_ok(POSTS, Some(&alice)).await;
    for post in page["items"].as_array().unwrap() {
        assert_eq!(post["liked"], false, "{post}");
    }
    // Each item is the post as GET /posts/{id} shows it.
    for post in page["items"].as_array().unwrap() {
        let one = app.get_ok(&post_path(&id_of(post)), Some(&alice)).await;
        assert_eq!(&one, post);
    }
}

async fn posts_can_be_filtered_by_author(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("carol").await;
    app.create_post(&alice, "a1").await;
    app.create_post(&bob, "b1").await;
    app.create_post(&alice, "a2").await;
    for author in ["alice", "ALICE", "Alice"] {
        assert_eq!(
            app.search_contents(&[("author", author)]).await,
            ["a2", "a1"],
            "{author}"
        );
    }
    assert_eq!(app.search_contents(&[("author", "bob")]).await, ["b1"]);
    assert!(app.search_contents(&[("author", "carol")]).await.is_empty());
    for unknown in ["nobody", "ali", "not a username!"] {
        let page = json_ok(
            app.search_posts(&[("author", unknown)], None).await,
            unknown,
        )
        .await;
        assert_eq!(page, json!({"items": [], "next_cursor": null}), "{unknown}");
    }
}

async fn a_users_posts_are_public_and_newest_first(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.create_post(&alice, "a1").await;
    app.create_post(&bob, "b1").await;
    app.create_post(&alice, "a2").await;
    let page = app.get_ok("/api/v1/users/alice/posts", None).await;
    assert_eq!(contents(&page), ["a2", "a1"]);
    for post in page["items"].as_array().unwrap() {
        assert_eq!(post["liked"], Value::Null);
        assert_eq!(post["author"]["username"], "alice");
    }
    let page = app.get_ok("/api/v1/users/ALICE/posts", Some(&bob)).await;
    assert_eq!(contents(&page), ["a2", "a1"]);
    assert_eq!(page["items"][0]["liked"], false);
    assert_eq!(
        app.list_contents("/api/v1/users/bob/posts", None).await,
        ["b1"]
    );
    app.user("carol").await;
    let page = app.get_ok("/api/v1/users/carol/posts", None).await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
    let response = app.get("/api/v1/users/nobody/posts", None).await;
    assert_problem(response, 404, "not_found").await;
}

async fn my_posts_are_mine_newest_first_and_need_a_token(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.create_post(&alice, "a1").await;
    app.create_post(&bob, "b1").await;
    app.create_post(&alice, "a2").await;
    let page = app.get_ok(MY_POSTS, Some(&alice)).await;
    assert_eq!(contents(&page), ["a2", "a1"]);
    assert_eq!(page["items"][0]["liked"], false);
    assert_eq!(app.list_contents(MY_POSTS, Some(&bob)).await, ["b1"]);
    let response = app.get(MY_POSTS, None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    assert_problem(
        app.get(MY_POSTS, Some(UNKNOWN_TOKEN)).await,
        401,
        "invalid_token",
    )
    .await;
}

both_databases!(
    posts_are_listed_newest_first,
    posts_can_be_filtered_by_author,
    a_users_posts_are_public_and_newest_first,
    my_posts_are_mine_newest_first_and_need_a_token,
);

// ---------------------------------------------------------------------------------------
// Full-text search (?q=) and combined filters
// ---------------------------------------------------------------------------------------

async fn search_needs_every_word_as_a_whole_word_in_any_case(app: TestApp) {
    let alice = app.user("alice").await;
    for content in [
        "Light on the RIVER",
        "rivers of lightning",
        "The river is dark",
        "riverlight at dawn",
        "light, river; and sky!",
        "#river #light",
        "Delight by the riverside",
    ] {
        app.create_post(&alice, content).await;
    }
    let matching = [
        "#river #light",
        "light, river; and sky!",
        "Light on the RIVER",
    ];
    for q in [
        "river light",
        "light river",
        "RIVER Light",
        "  river   light ",
        "river, light!",
    ] {
        assert_eq!(app.search_contents(&[("q", q)]).await, matching, "{q}");
    }
    assert_eq!(
        app.search_contents(&[("q", "river")]).await,
        [
            "#river #light",
            "light, river; and sky!",
            "The river is dark",
            "Light on the RIVER"
        ]
    );
    assert_eq!(
        app.search_contents(&[("q", "lightning")]).await,
        ["rivers of lightning"]
    );
    assert_eq!(
        app.search_contents(&[("q", "riverlight")]).await,
        ["riverlight at dawn"]
    );
    assert!(
        app.search_contents(&[("q", "river light dark")])
            .await
            .is_empty()
    );
    assert!(app.search_contents(&[("q", "rive")]).await.is_empty());
    assert!(app.search_contents(&[("q", "nothing")]).await.is_empty());
}

async fn search_is_case_insensitive_beyond_ascii(app: TestApp) {
    let alice = app.user("alice").await;
    app.create_post(&alice, "Un CAFÉ noir à Paris").await;
    app.create_post(&alice, "Ein Straßencafé in Köln").await;
    app.create_post(&alice, "ΣΊΣΥΦΟΣ ΚΑΙ Ο ΒΡΑΧΟΣ").await;
    for q in ["café paris", "CAFÉ", "Café PARIS"] {
        assert_eq!(
            app.search_contents(&[("q", q)]).await,
            ["Un CAFÉ noir à Paris"],
            "q={q}"
        );
    }
    assert_eq!(
        app.search_contents(&[("q", "KÖLN straßencafé")]).await,
        ["Ein Straßencafé in Köln"]
    );
    // The post's own words, in capitals or lower case (with its final ς), find it.
    for q in ["ΣΊΣΥΦΟΣ", "σίσυφος", "βραχος σίσυφος", "ΒΡΑΧΟΣ"] {
        assert_eq!(
            app.search_contents(&[("q", q)]).await,
            ["ΣΊΣΥΦΟΣ ΚΑΙ Ο ΒΡΑΧΟΣ"],
            "q={q}"
        );
    }
}

async fn search_finds_words_that_punctuation_joins(app: TestApp) {
    let alice = app.user("alice").await;
    app.create_post(&alice, "Docs moved to example.com today")
        .await;
    app.create_post(&alice, "Pi is roughly 3.14 they say").await;
    app.create_post(&alice, "A state-of-the-art river").await;
    // Each post literally contains the query: every word of it occurs in the content.
    for (q, expected) in [
        ("example.com", "Docs moved to example.com today"),
        ("example", "Docs moved to example.com today"),
        ("com today", "Docs moved to example.com today"),
        ("3.14", "Pi is roughly 3.14 they say"),
        ("14", "Pi is roughly 3.14 they say"),
        ("state-of-the-art", "A state-of-the-art river"),
        ("art river", "A state-of-the-art river"),
    ] {
        assert_eq!(app.search_contents(&[("q", q)]).await, [expected], "q={q}");
    }
}

async fn a_query_without_words_is_empty_and_an_overlong_one_is_400(app: TestApp) {
    let alice = app.user("alice").await;
    app.create_post(&alice, "something ... !!! here").await;
    app.create_post(&alice, "heretics everywhere").await;
    for q in ["!!!", "...", " - ", "#", "\"", "*", "()", "¿?"] {
        let response = app.search_posts(&[("q", q)], None).await;
        let page = json_ok(response, q).await;
        assert_eq!(page, json!({"items": [], "next_cursor": null}), "q={q}");
    }
    // Search operators in a query are words (or nothing), never syntax.
    assert_eq!(
        app.search_contents(&[("q", "here*")]).await,
        ["something ... !!! here"]
    );
    for q in [
        "here OR missing",
        "here AND",
        "NEAR(here)",
        "-missing here",
        "here NOT x",
    ] {
        assert!(app.search_contents(&[("q", q)]).await.is_empty(), "q={q}");
    }
    let two_hundred = "a".repeat(200);
    let page = json_ok(app.search_posts(&[("q", &two_hundred)], None).await, "200").await;
    assert!(contents(&page).is_empty());
    let two_hundred_wide = "é".repeat(200);
    json_ok(
        app.search_posts(&[("q", &two_hundred_wide)], None).await,
        "200 × é",
    )
    .await;
    for q in [
        "a".repeat(201),
        "é".repeat(201),
        format!("{} b", "a".repeat(199)),
    ] {
        let response = app.search_posts(&[("q", &q)], None).await;
        assert_problem(response, 400, "invalid_query").await;
    }
}

async fn list_filters_combine(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.create_post(&alice, "river walk #birds").await;
    app.create_post(&bob, "river song #birds").await;
    app.create_post(&alice, "mountain walk #birds").await;
    app.create_post(&alice, "river walk #fish").await;
    app.create_post(&bob, "river walk #fish").await;
    assert_eq!(
        app.search_contents(&[("tag", "birds"), ("author", "alice")])
            .await,
        ["mountain walk #birds", "river walk #birds"]
    );
    assert_eq!(
        app.search_contents(&[("tag", "birds"), ("q", "river")])
            .await,
        ["river song #birds", "river walk #birds"]
    );
    assert_eq!(
        app.search_contents(&[("author", "bob"), ("q", "walk")])
            .await,
        ["river walk #fish"]
    );
    assert_eq!(
        app.search_contents(&[("tag", "fish"), ("author", "alice"), ("q", "river walk")])
            .await,
        ["river walk #fish"]
    );
    assert!(
        app.search_contents(&[("tag", "birds"), ("author", "bob"), ("q", "walk")])
            .await
            .is_empty()
    );
    assert!(
        app.search_contents(&[("tag", "birds"), ("author", "nobody")])
            .await
            .is_empty()
    );
    // Unknown parameters are ignored.
    assert_eq!(
        app.search_contents(&[("tag", "fish"), ("sort", "oldest"), ("x", "")])
            .await,
        ["river walk #fish", "river walk #fish"]
    );
}

both_databases!(
    search_needs_every_word_as_a_whole_word_in_any_case,
    search_is_case_insensitive_beyond_ascii,
    search_finds_words_that_punctuation_joins,
    a_query_without_words_is_empty_and_an_overlong_one_is_400,
    list_filters_combine,
);

// ---------------------------------------------------------------------------------------
// Pagination of post lists
// ---------------------------------------------------------------------------------------

/// Every post list, as a path with no query string or with one (`?…`).
fn post_list_paths() -> Vec<String> {
    vec![
        POSTS.to_owned(),
        format!("{POSTS}?tag=walk"),
        format!("{POSTS}?author=alice"),
        format!("{POSTS}?q=walk"),
        "/api/v1/users/alice/posts".to_owned(),
        MY_POSTS.to_owned(),
        "/api/v1/tags/walk/posts".to_owned(),
        "/api/v1/feed".to_owned(),
    ]
}

async fn post_lists_refuse_bad_limits_and_cursors(app: TestApp) {
    let alice = app.user("alice").await;
    app.create_post(&alice, "a walk #walk").await;
    app.create_post(&alice, "another walk #walk").await;
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let id = uuid::Uuid::now_v7().to_string();
    for path in post_list_paths() {
        for limit in ["0", "101", "-1", "abc", "1.5", ""] {
            let response = app
                .get(&with_param(&path, &format!("limit={limit}")), Some(&alice))
                .await;
            assert_problem(response, 400, "invalid_limit").await;
        }
        for cursor in [
            "garbage".to_owned(),
            "%20".to_owned(),
            b64("garbage"),
            b64("1|not-a-uuid"),
            b64(&format!("1|{id}|x")),
            b64(&format!("2|{id}")),
            b64("1|"),
            "A".repeat(600),
        ] {
            let response = app
                .get(
                    &with_param(&path, &format!("cursor={cursor}")),
                    Some(&alice),
                )
                .await;
            assert_problem(response, 400, "invalid_cursor").await;
        }
        for limit in ["1", "100"] {
            app.get_ok(&with_param(&path, &format!("limit={limit}")), Some(&alice))
                .await;
        }
    }
}

async fn a_bad_cursor_is_400_even_on_a_list_known_to_be_empty(app: TestApp) {
    app.user("alice").await;
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let id = uuid::Uuid::now_v7().to_string();
    // An unknown author or a query without words make the list empty, but the cursor is
    // still checked: these cursors decode, yet hold no post id.
    for path in [format!("{POSTS}?author=nobody"), format!("{POSTS}?q=!!!")] {
        for cursor in [b64("1|not-a-uuid"), b64(&format!("1|{id}|x")), b64("1|")] {
            let response = app
                .get(&with_param(&path, &format!("cursor={cursor}")), None)
                .await;
            assert_problem(response, 400, "invalid_cursor").await;
        }
        for cursor in ["garbage".to_owned(), b64(&format!("2|{id}"))] {
            let response = app
                .get(&with_param(&path, &format!("cursor={cursor}")), None)
                .await;
            assert_problem(response, 400, "invalid_cursor").await;
        }
    }
}

async fn walking_a_post_list_returns_each_post_once(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut written = Vec::new();
    for n in 1..=7 {
        let content = format!("walk number {n} #Walk");
        app.create_post(&alice, &content).await;
        app.create_post(&bob, &format!("other {n}")).await;
        written.push(content);
    }
    let expected = newest_first_pages(&written, 2);
    assert_eq!(expected.len(), 4);
    let walks: [(String, Option<&str>); 7] = [
        (format!("{POSTS}?author=alice&limit=2"), None),
        (format!("{POSTS}?tag=%23walk&limit=2"), None),
        (format!("{POSTS}?limit=2&q=walk+number"), None),
        (
            format!("{POSTS}?limit=2&author=ALICE&tag=WALK&q=walk"),
            None,
        ),
        ("/api/v1/users/alice/posts?limit=2".to_owned(), None),
        (format!("{MY_POSTS}?limit=2"), Some(alice.as_str())),
        (
            "/api/v1/tags/walk/posts?limit=2".to_owned(),
            Some(bob.as_str()),
        ),
    ];
    for (path, token) in walks {
        let pages = app.walk(&path, token, 2, contents).await;
        assert_eq!(pages, expected, "{path}");
    }
    // All 14 posts, 5 to a page: the last page is not full.
    let pages = app
        .walk(&format!("{POSTS}?limit=5"), None, 5, contents)
        .await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [5, 5, 4],
        "{pages:?}"
    );
    let mut seen: Vec<String> = pages.concat();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 14, "each post once");
    // A list that fits one page exactly has no next page.
    let pages = app
        .walk(&format!("{POSTS}?author=alice&limit=7"), None, 7, contents)
        .await;
    assert_eq!(pages.len(), 1);
    // The cursor works when passed by hand.
    let first = app
        .get_ok(&format!("{POSTS}?author=alice&limit=3"), None)
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("{POSTS}?author=alice&limit=3&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        contents(&second),
        strings(&[
            "walk number 4 #Walk",
            "walk number 3 #Walk",
            "walk number 2 #Walk"
        ])
    );
    // Without `limit`, all 14 fit on the default page.
    let page = app.get_ok(POSTS, None).await;
    assert_eq!(contents(&page).len(), 14);
    assert_eq!(page["next_cursor"], Value::Null);
}

async fn the_default_page_is_20_posts(app: TestApp) {
    let alice = app.user("alice").await;
    for n in 0..21 {
        app.create_post(&alice, &format!("p{n}")).await;
    }
    let first = app.fetch_page(&app.url(POSTS), None).await;
    assert_eq!(first.contents().len(), 20);
    assert_eq!(first.contents()[0], "p20");
    let next = first.next.expect("a second page");
    let second = app.fetch_page(&next, None).await;
    assert_eq!(second.contents(), ["p0"]);
    assert!(second.next.is_none());
}

async fn a_post_walk_stays_correct_while_posts_come_and_go(app: TestApp) {
    let alice = app.user("alice").await;
    let mut posts = Vec::new();
    for n in 1..=7 {
        posts.push(app.create_post(&alice, &format!("p{n}")).await);
    }
    // Three of alice's lists walked side by side while she keeps posting.
    let paths = [
        format!("{POSTS}?limit=2"),
        format!("{MY_POSTS}?limit=2"),
        "/api/v1/users/alice/posts?limit=2".to_owned(),
    ];
    let mut nexts = Vec::new();
    for path in &paths {
        let first = app.fetch_page(&app.url(path), Some(&alice)).await;
        assert_eq!(first.contents(), ["p7", "p6"], "{path}");
        nexts.push(first.next.expect("a next page"));
    }
    for (round, expected) in [["p5", "p4"], ["p3", "p2"]].iter().enumerate() {
        // New posts appear at the head only, never in later pages.
        app.create_post(&alice, &format!("new {round}")).await;
        for (path, next) in paths.iter().zip(nexts.iter_mut()) {
            let page = app.fetch_page(next, Some(&alice)).await;
            assert_eq!(page.contents(), expected, "{path}");
            *next = page.next.expect("a next page");
        }
    }
    app.create_post(&alice, "new 2").await;
    for (path, next) in paths.iter().zip(&nexts) {
        let last = app.fetch_page(next, Some(&alice)).await;
        assert_eq!(last.contents(), ["p1"], "{path}");
        assert!(last.next.is_none(), "{path}");
    }
    assert_eq!(
        app.list_contents(POSTS, None).await,
        [
            "new 2", "new 1", "new 0", "p7", "p6", "p5", "p4", "p3", "p2", "p1"
        ]
    );

    // Deleting the post a cursor points at, or a post further on, does not lose the place.
    let first = app
        .fetch_page(&app.url(&format!("{POSTS}?limit=5")), None)
        .await;
    assert_eq!(first.contents(), ["new 2", "new 1", "new 0", "p7", "p6"]);
    for doomed in [&posts[5], &posts[1]] {
        let response = send_delete(&app, Some(&alice), &id_of(doomed)).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let second = app.fetch_page(&first.next.unwrap(), None).await;
    assert_eq!(
        second.contents(),
        ["p5", "p4", "p3", "p1"],
        "p6 was the cursor, p2 is gone"
    );
    assert!(second.next.is_none());
}

both_databases!(
    post_lists_refuse_bad_limits_and_cursors,
    a_bad_cursor_is_400_even_on_a_list_known_to_be_empty,
    walking_a_post_list_returns_each_post_once,
    the_default_page_is_20_posts,
    a_post_walk_stays_correct_while_posts_come_and_go,
);

// ---------------------------------------------------------------------------------------
// Idempotency-Key
// ---------------------------------------------------------------------------------------

/// A keyed create answering 201: `(Location, post)`.
async fn keyed_created(app: &TestApp, token: &str, key: &str, body: &Value) -> (String, Value) {
    let response = send_keyed(app, token, key, body).await;
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let post = json_created(response, &format!("key {key}: {body}")).await;
    assert_eq!(location, app.url(&post_path(&id_of(&post))), "Location");
    (location, post)
}

async fn a_retry_with_the_same_key_replays_the_first_post(app: TestApp) {
    let alice = app.user("alice").await;
    let body = json!({"content": "only once #retry"});
    let (location, first) = keyed_created(&app, &alice, "create-1", &body).await;
    for _ in 0..3 {
        let (again_location, again) = keyed_created(&app, &alice, "create-1", &body).await;
        assert_eq!(again, first, "same post, same body");
        assert_eq!(again_location, location);
    }
    assert_eq!(
        app.list_contents(MY_POSTS, Some(&alice)).await,
        ["only once #retry"]
    );
    assert_eq!(app.posts_count("alice").await, 1);
    assert_eq!(
        app.get_ok("/api/v1/tags/retry", None).await["post_count"],
        1
    );

    // Without a key, or with another one, the same body is a new post.
    let plain = app.create_post(&alice, "only once #retry").await;
    let (_, other) = keyed_created(&app, &alice, "create-2", &body).await;
    assert_ne!(plain["id"], first["id"]);
    assert_ne!(other["id"], first["id"]);
    assert_ne!(other["id"], plain["id"]);
    assert_eq!(app.posts_count("alice").await, 3);
}

async fn the_same_key_with_another_body_is_422(app: TestApp) {
    let alice = app.user("alice").await;
    let (_, first) = keyed_created(&app, &alice, "k", &json!({"content": "first"})).await;
    for body in [json!({"content": "second"}), json!({"content": "first!"})] {
        let response = send_keyed(&app, &alice, "k", &body).await;
        assert_problem(response, 422, "idempotency_key_reused").await;
    }
    // With media ids it is another body too (whatever else is wrong with it).
    let with_media = json!({"content": "first", "media_ids": [uuid::Uuid::now_v7().to_string()]});
    let response = send_keyed(&app, &alice, "k", &with_media).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.list_contents(MY_POSTS, Some(&alice)).await, ["first"]);
    let (_, again) = keyed_created(&app, &alice, "k", &json!({"content": "first"})).await;
    assert_eq!(again, first, "the key still replays its post");
    // Surrounding white space is not part of the content: the same body.
    let (_, padded) = keyed_created(&app, &alice, "k", &json!({"content": "  first \n"})).await;
    assert_eq!(padded["id"], first["id"]);
    assert_eq!(app.posts_count("alice").await, 1);
}

async fn idempotency_keys_belong_to_one_user(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let body = json!({"content": "same words"});
    let (_, alices) = keyed_created(&app, &alice, "shared-key", &body).await;
    let (_, bobs) = keyed_created(&app, &bob, "shared-key", &body).await;
    assert_ne!(bobs["id"], alices["id"]);
    assert_eq!(bobs["author"]["username"], "bob");
    let (_, bobs_other) =
        keyed_created(&app, &bob, "shared-key", &json!({"content": "same words"})).await;
    assert_eq!(bobs_other["id"], bobs["id"]);
    let (_, alices_again) = keyed_created(&app, &alice, "shared-key", &body).await;
    assert_eq!(alices_again["id"], alices["id"]);
    assert_eq!(app.posts_count("alice").await, 1);
    assert_eq!(app.posts_count("bob").await, 1);
    // A key is not case-folded: another spelling is another key.
    let (_, upper) = keyed_created(&app, &alice, "SHARED-KEY", &body).await;
    assert_ne!(upper["id"], alices["id"]);
}

async fn an_idempotency_key_must_be_1_to_255_characters(app: TestApp) {
    let alice = app.user("alice").await;
    let body = json!({"content": "keyed"});
    for key in ["k".repeat(256), String::new(), "k".repeat(1000)] {
        let response = send_keyed(&app, &alice, &key, &body).await;
        assert_problem(response, 400, "invalid_idempotency_key").await;
    }
    assert_no_posts(&app, &alice, "alice").await;
    let (_, long) = keyed_created(&app, &alice, &"k".repeat(255), &body).await;
    let (_, again) = keyed_created(&app, &alice, &"k".repeat(255), &body).await;
    assert_eq!(long["id"], again["id"]);
    let (_, short) = keyed_created(&app, &alice, "k", &body).await;
    assert_ne!(short["id"], long["id"]);
    assert_eq!(app.posts_count("alice").await, 2);
}

async fn a_refused_request_does_not_use_up_its_key(app: TestApp) {
    let alice = app.user("alice").await;
    let response = send_keyed(&app, &alice, "try", &json!({"content": "  "})).await;
    assert_refused_field(response, "content", "blank, keyed").await;
    let unknown_media = json!({"content": "x", "media_ids": [uuid::Uuid::now_v7().to_string()]});
    let response = send_keyed(&app, &alice, "try", &unknown_media).await;
    assert_problem(response, 422, "validation_failed").await;
    let (_, post) = keyed_created(&app, &alice, "try", &json!({"content": "now right"})).await;
    assert_eq!(post["content"], "now right");
    assert_eq!(app.posts_count("alice").await, 1);
}

async fn ten_parallel_requests_with_one_key_create_one_post(app: TestApp) {
    let alice = app.user("alice").await;
    let body = json!({"content": "raced #once"});
    let mut set = JoinSet::new();
    for _ in 0..10 {
        let client = app.client.clone();
        let url = app.url(POSTS);
        let token = alice.clone();
        let body = body.clone();
        set.spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "parallel-key")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.text().await.unwrap())
        });
    }
    let mut ids = Vec::new();
    while let Some(result) = set.join_next().await {
        let (status, text) = result.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let post: Value = serde_json::from_str(&text).unwrap();
        ids.push(id_of(&post));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one and the same post: {ids:?}");
    assert_eq!(
        app.list_contents(MY_POSTS, Some(&alice)).await,
        ["raced #once"]
    );
    assert_eq!(app.posts_count("alice").await, 1);
    assert_eq!(app.get_ok("/api/v1/tags/once", None).await["post_count"], 1);
}

async fn an_idempotency_key_expires_after_24_hours(app: TestApp) {
    let alice = app.user("alice").await;
    let body = json!({"content": "daily"});
    let (_, first) = keyed_created(&app, &alice, "daily-key", &body).await;
    app.advance(Duration::from_secs(23 * 3600));
    let (_, replayed) = keyed_created(&app, &alice, "daily-key", &body).await;
    assert_eq!(replayed["id"], first["id"], "still remembered after 23 h");
    app.advance(Duration::from_secs(2 * 3600));
    let (_, fresh) = keyed_created(&app, &alice, "daily-key", &body).await;
    assert_ne!(fresh["id"], first["id"], "forgotten after 25 h");
    assert!(timestamp(&fresh["created_at"]) > timestamp(&first["created_at"]));
    let (_, replayed) = keyed_created(&app, &alice, "daily-key", &body).await;
    assert_eq!(
        replayed["id"], fresh["id"],
        "the key now replays the new post"
    );
    assert_eq!(
        app.list_contents(MY_POSTS, Some(&alice)).await,
        ["daily", "daily"]
    );
    assert_eq!(app.posts_count("alice").await, 2);
    // An expired key may also come with a different body.
    app.advance(Duration::from_secs(25 * 3600));
    let (_, other) = keyed_created(&app, &alice, "daily-key", &json!({"content": "weekly"})).await;
    assert_eq!(other["content"], "weekly");
    assert_eq!(app.posts_count("alice").await, 3);
}

both_databases!(
    a_retry_with_the_same_key_replays_the_first_post,
    the_same_key_with_another_body_is_422,
    idempotency_keys_belong_to_one_user,
    an_idempotency_key_must_be_1_to_255_characters,
    a_refused_request_does_not_use_up_its_key,
    ten_parallel_requests_with_one_key_create_one_post,
    an_idempotency_key_expires_after_24_hours,
);
