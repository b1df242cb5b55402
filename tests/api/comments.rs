//! Comments: create (201 + Location), read, edit and delete with their permissions,
//! `comment_count`, the oldest-first list and its pagination, content rules, and what
//! deleting a post or an account does to its comments.

use std::time::Duration;

use chrono::Utc;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::both_databases;
use crate::helpers::{
    TestApp, UNKNOWN_ID, UNKNOWN_TOKEN, assert_problem, contents, error_fields, id_of, json_ok,
    post_path, timestamp,
};

fn comments_path(post: &str) -> String {
    format!("{}/comments", post_path(post))
}

fn comment_path(comment: &str) -> String {
    format!("/api/v1/comments/{comment}")
}

async fn post_comment(app: &TestApp, token: Option<&str>, post: &str, body: &Value) -> Response {
    app.request(Method::POST, &comments_path(post), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn patch_comment(app: &TestApp, token: Option<&str>, id: &str, body: &Value) -> Response {
    app.request(Method::PATCH, &comment_path(id), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete_comment(app: &TestApp, token: Option<&str>, id: &str) -> Response {
    app.request(Method::DELETE, &comment_path(id), token)
        .send()
        .await
        .unwrap()
}

/// Contents of the first (up to 100) comments of `post`.
async fn comment_contents(app: &TestApp, post: &str) -> Vec<String> {
    app.list_contents(&comments_path(post), None).await
}

async fn comment_count(app: &TestApp, post: &str) -> i64 {
    app.get_ok(&post_path(post), None).await["comment_count"]
        .as_i64()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Create and read
// ---------------------------------------------------------------------------------------

async fn commenting_answers_201_with_the_comment_and_its_location(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let response = post_comment(
        &app,
        Some(&tokens[1]),
        &post,
        &json!({"content": "  Nice post!\n"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = id_of(&created);
    assert_eq!(location, format!("{}/api/v1/comments/{id}", app.address));

    let mut fields: Vec<&str> = created
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
            "content",
            "created_at",
            "edited_at",
            "id",
            "mentions",
            "post_id",
        ]
    );
    assert_eq!(created["post_id"], post.as_str());
    assert_eq!(created["content"], "Nice post!", "content is trimmed");
    assert_eq!(created["edited_at"], Value::Null);
    let author = &created["author"];
    assert_eq!(author["username"], "bob");
    assert_eq!(author["display_name"], "");
    assert_eq!(author["avatar_url"], Value::Null);
    let me = app.get_ok("/api/v1/me", Some(&tokens[1])).await;
    assert_eq!(author["id"], me["id"]);
    assert!(author.get("email").is_none());
    assert!(timestamp(&created["created_at"]) <= Utc::now() + chrono::Duration::seconds(5));

    // The Location answers the same comment, publicly.
    let fetched = json_ok(app.client.get(&location).send().await.unwrap(), &location).await;
    assert_eq!(fetched, created);
    let fetched = app.get_ok(&comment_path(&id), Some(&tokens[0])).await;
    assert_eq!(fetched, created);
    assert_eq!(comment_count(&app, &post).await, 1);
}

async fn comments_list_oldest_first_with_their_authors(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let other = id_of(&app.create_post(&tokens[0], "Other").await);
    app.comment(&tokens[1], &post, "first").await;
    app.comment(&tokens[2], &other, "elsewhere").await;
    app.comment(&tokens[0], &post, "second").await;
    app.comment(&tokens[2], &post, "third").await;

    let page = app.get_ok(&comments_path(&post), None).await;
    assert_eq!(contents(&page), ["first", "second", "third"]);
    assert_eq!(page["next_cursor"], Value::Null);
    let authors: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["author"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["bob", "alice", "carol"]);
    assert_eq!(comment_contents(&app, &other).await, ["elsewhere"]);
    assert_eq!(comment_count(&app, &post).await, 3);
    assert_eq!(comment_count(&app, &other).await, 1);

    // Authors are shown as they are now, not as they were when commenting.
    let response = app
        .request(Method::PATCH, "/api/v1/me", Some(&tokens[1]))
        .json(&json!({"display_name": "Bob Builder"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = app.get_ok(&comments_path(&post), Some(&tokens[2])).await;
    assert_eq!(page["items"][0]["author"]["display_name"], "Bob Builder");

    let empty = id_of(&app.create_post(&tokens[0], "No comments").await);
    let page = app.get_ok(&comments_path(&empty), None).await;
    assert_eq!(page, json!({"items": [], "next_cursor": null}));
}

async fn comment_count_is_exact_after_creates_and_deletes(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(id_of(
            &app.comment(&tokens[i % 2], &post, &format!("c{i}")).await,
        ));
    }
    assert_eq!(comment_count(&app, &post).await, 4);
    let response = delete_comment(&app, Some(&tokens[1]), &ids[1]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(comment_count(&app, &post).await, 3);
    // A refused delete changes nothing.
    let response = delete_comment(&app, Some(&tokens[0]), &ids[3]).await;
    assert_problem(response, 403, "not_owner").await;
    assert_eq!(comment_count(&app, &post).await, 3);
    let page = app.get_ok("/api/v1/posts", None).await;
    assert_eq!(page["items"][0]["comment_count"], 3);
    assert_eq!(comment_contents(&app, &post).await, ["c0", "c2", "c3"]);
}

async fn unknown_posts_and_comments_are_404(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let body = json!({"content": "hi"});
    for id in [
        UNKNOWN_ID,
        "nope",
        "12345",
        "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a5",
    ] {
        assert_problem(app.get(&comments_path(id), None).await, 404, "not_found").await;
        let response = post_comment(&app, Some(&tokens[0]), id, &body).await;
        assert_problem(response, 404, "not_found").await;
        assert_problem(app.get(&comment_path(id), None).await, 404, "not_found").await;
        let response = patch_comment(&app, Some(&tokens[0]), id, &body).await;
        assert_problem(response, 404, "not_found").await;
        let response = delete_comment(&app, Some(&tokens[0]), id).await;
        assert_problem(response, 404, "not_found").await;
    }
    // A post id is not a comment id.
    assert_problem(app.get(&comment_path(&post), None).await, 404, "not_found").await;
    assert_eq!(comment_count(&app, &post).await, 0);
}

both_databases!(
    commenting_answers_201_with_the_comment_and_its_location,
    comments_list_oldest_first_with_their_authors,
    comment_count_is_exact_after_creates_and_deletes,
    unknown_posts_and_comments_are_404,
);

// ---------------------------------------------------------------------------------------
// Edit and delete: only the comment's author
// ---------------------------------------------------------------------------------------

async fn the_author_edits_a_comment_and_it_is_marked_edited(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let created = app.comment(&tokens[1], &post, "Nice post").await;
    let id = id_of(&created);
    app.advance(Duration::from_secs(90));
    let response = patch_comment(
        &app,
        Some(&tokens[1]),
        &id,
        &json!({"content": " Nice post!! "}),
    )
    .await;
    let edited = json_ok(response, "edit").await;
    assert_eq!(edited["id"], id.as_str());
    assert_eq!(edited["content"], "Nice post!!");
    assert_eq!(edited["created_at"], created["created_at"]);
    assert_eq!(edited["author"], created["author"]);
    assert_eq!(edited["post_id"], created["post_id"]);
    let edited_at = timestamp(&edited["edited_at"]);
    assert_eq!(
        edited_at - timestamp(&created["created_at"]),
        chrono::Duration::seconds(90)
    );
    assert_eq!(app.get_ok(&comment_path(&id), None).await, edited);
    assert_eq!(comment_contents(&app, &post).await, ["Nice post!!"]);
    assert_eq!(comment_count(&app, &post).await, 1);
}

async fn only_the_comments_author_may_edit_or_delete_it(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(alice, "Hello").await);
    let created = app.comment(bob, &post, "bob's comment").await;
    let id = id_of(&created);
    let body = json!({"content": "hijacked"});

    // Neither the post's author nor anyone else, even with an invalid body.
    for token in [alice, carol] {
        let response = patch_comment(&app, Some(token), &id, &body).await;
        let problem = assert_problem(response, 403, "not_owner").await;
        assert_eq!(
            problem["detail"],
            "Only the author of this comment may change or delete it."
        );
        let response = patch_comment(&app, Some(token), &id, &json!({"content": ""})).await;
        assert_problem(response, 403, "not_owner").await;
        assert_problem(
            delete_comment(&app, Some(token), &id).await,
            403,
            "not_owner",
        )
        .await;
    }
    // Nor anonymously, nor with a dead token.
    let response = patch_comment(&app, None, &id, &body).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    assert_problem(delete_comment(&app, None, &id).await, 401, "unauthorized").await;
    let response = patch_comment(&app, Some(UNKNOWN_TOKEN), &id, &body).await;
    assert_problem(response, 401, "invalid_token").await;
    let response = delete_comment(&app, Some(UNKNOWN_TOKEN), &id).await;
    assert_problem(response, 401, "invalid_token").await;
    assert_eq!(app.get_ok(&comment_path(&id), None).await, created);

    // The author may.
    let response = patch_comment(&app, Some(bob), &id, &json!({"content": "edited"})).await;
    assert_eq!(json_ok(response, "edit").await["content"], "edited");
    let response = delete_comment(&app, Some(bob), &id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());
    assert_problem(app.get(&comment_path(&id), None).await, 404, "not_found").await;
    assert_eq!(comment_count(&app, &post).await, 0);
}

async fn deleting_a_comment_twice_is_404(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let id = id_of(&app.comment(&tokens[0], &post, "once").await);
    let response = delete_comment(&app, Some(&tokens[0]), &id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for _ in 0..2 {
        let response = delete_comment(&app, Some(&tokens[0]), &id).await;
        assert_problem(response, 404, "not_found").await;
    }
    let response = patch_comment(&app, Some(&tokens[0]), &id, &json!({"content": "x"})).await;
    assert_problem(response, 404, "not_found").await;
}

async fn commenting_needs_a_token_and_reading_does_not(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let id = id_of(&app.comment(&tokens[0], &post, "hi").await);
    let body = json!({"content": "anonymous"});
    let response = post_comment(&app, None, &post, &body).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    let response = post_comment(&app, Some(UNKNOWN_TOKEN), &post, &body).await;
    assert_problem(response, 401, "invalid_token").await;
    // Reads are public, but a dead token is refused there too.
    app.get_ok(&comments_path(&post), None).await;
    app.get_ok(&comment_path(&id), None).await;
    for path in [comments_path(&post), comment_path(&id)] {
        let response = app.get(&path, Some(UNKNOWN_TOKEN)).await;
        assert_problem(response, 401, "invalid_token").await;
    }
    assert_eq!(comment_contents(&app, &post).await, ["hi"]);
}

both_databases!(
    the_author_edits_a_comment_and_it_is_marked_edited,
    only_the_comments_author_may_edit_or_delete_it,
    deleting_a_comment_twice_is_404,
    commenting_needs_a_token_and_reading_does_not,
);

// ---------------------------------------------------------------------------------------
// Content rules and malformed requests
// ---------------------------------------------------------------------------------------

async fn comment_content_is_validated(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let existing = app.comment(&tokens[0], &post, "original").await;
    let id = id_of(&existing);
    let refused = [
        json!({"content": ""}),
        json!({"content": "   \n\t  "}),
        json!({"content": "x".repeat(501)}),
        json!({"content": "é".repeat(501)}),
        json!({"content": "nul \u{0} byte"}),
        json!({"content": 42}),
        json!({"content": null}),
        json!({"content": ["a"]}),
        json!({"content": {"text": "a"}}),
        json!({}),
        json!({"text": "wrong field"}),
    ];
    for body in &refused {
        let response = post_comment(&app, Some(&tokens[0]), &post, body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["content"], "POST {body}");
        let response = patch_comment(&app, Some(&tokens[0]), &id, body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["content"], "PATCH {body}");
    }
    // A body that is not an object at all.
    let response = post_comment(&app, Some(&tokens[0]), &post, &json!(["content"])).await;
    assert_problem(response, 422, "validation_failed").await;
    assert_eq!(comment_contents(&app, &post).await, ["original"]);
    assert_eq!(app.get_ok(&comment_path(&id), None).await, existing);

    // The limits are inclusive and count characters, not bytes; surrounding space is free.
    let longest = "é".repeat(500);
    let created = app
        .comment(&tokens[0], &post, &format!("  {longest}  "))
        .await;
    assert_eq!(created["content"], longest.as_str());
    let response = patch_comment(&app, Some(&tokens[0]), &id, &json!({"content": "x"})).await;
    assert_eq!(json_ok(response, "one character").await["content"], "x");
    assert_eq!(comment_count(&app, &post).await, 2);
}

async fn malformed_and_non_json_bodies_are_refused(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let id = id_of(&app.comment(&tokens[0], &post, "original").await);
    let targets = [
        (Method::POST, comments_path(&post)),
        (Method::PATCH, comment_path(&id)),
    ];
    for (method, path) in &targets {
        let response = app
            .request(method.clone(), path, Some(&tokens[0]))
            .header("content-type", "application/json")
            .body("{\"content\": ")
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "malformed_json").await;
        let response = app
            .request(method.clone(), path, Some(&tokens[0]))
            .header("content-type", "text/plain")
            .body("content=hello")
            .send()
            .await
            .unwrap();
        assert_problem(response, 415, "unsupported_media_type").await;
        let response = app
            .request(method.clone(), path, Some(&tokens[0]))
            .form(&[("content", "hello")])
            .send()
            .await
            .unwrap();
        assert_problem(response, 415, "unsupported_media_type").await;
        let response = app
            .request(method.clone(), path, Some(&tokens[0]))
            .send()
            .await
            .unwrap();
        assert_problem(response, 415, "unsupported_media_type").await;
    }
    assert_eq!(comment_contents(&app, &post).await, ["original"]);
}

both_databases!(
    comment_content_is_validated,
    malformed_and_non_json_bodies_are_refused,
);

// ---------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------

async fn walking_the_comments_returns_each_once_oldest_first(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    for i in 1..=5 {
        app.comment(&tokens[i % 2], &post, &format!("c{i}")).await;
    }
    assert_eq!(
        app.walk(
            &format!("{}?limit=2", comments_path(&post)),
            None,
            2,
            contents
        )
        .await,
        [vec!["c1", "c2"], vec!["c3", "c4"], vec!["c5"]]
    );
    assert_eq!(
        app.walk(
            &format!("{}?limit=5", comments_path(&post)),
            None,
            5,
            contents
        )
        .await,
        [vec!["c1", "c2", "c3", "c4", "c5"]]
    );

    // Comments added and removed mid-walk: the walk goes on from where it was, and a
    // comment added meanwhile shows up at its end.
    let path = format!("{}?limit=2", comments_path(&post));
    let first = app.get_ok(&path, None).await;
    assert_eq!(contents(&first), ["c1", "c2"]);
    let c6 = app.comment(&tokens[0], &post, "c6").await;
    let removed = first["items"][0]["id"].as_str().unwrap().to_owned();
    let response = delete_comment(&app, Some(&tokens[1]), &removed).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let mut seen = Vec::new();
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(current) = cursor {
        let page = app.get_ok(&format!("{path}&cursor={current}"), None).await;
        seen.extend(contents(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, ["c3", "c4", "c5", "c6"]);
    assert_eq!(c6["content"], "c6");
}

async fn comment_lists_refuse_bad_limits_and_cursors(app: TestApp) {
    let tokens = app.users(&["alice"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    app.comment(&tokens[0], &post, "hi").await;
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let path = comments_path(&post);
    for limit in ["0", "101", "-1", "abc"] {
        let response = app.get(&format!("{path}?limit={limit}"), None).await;
        assert_problem(response, 400, "invalid_limit").await;
    }
    for cursor in [
        "garbage".to_owned(),
        b64("garbage"),
        b64("1|not-a-uuid"),
        b64("1|0|alice"),
    ] {
        let response = app.get(&format!("{path}?cursor={cursor}"), None).await;
        assert_problem(response, 400, "invalid_cursor").await;
    }
}

both_databases!(
    walking_the_comments_returns_each_once_oldest_first,
    comment_lists_refuse_bad_limits_and_cursors,
);

// ---------------------------------------------------------------------------------------
// Deleting posts and accounts
// ---------------------------------------------------------------------------------------

async fn deleting_a_post_removes_its_comments_and_likes(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let doomed = id_of(&app.create_post(&tokens[0], "doomed").await);
    let kept = id_of(&app.create_post(&tokens[0], "kept").await);
    let gone = id_of(&app.comment(&tokens[1], &doomed, "on the doomed post").await);
    let stays = id_of(&app.comment(&tokens[1], &kept, "on the kept post").await);
    app.like(&tokens[1], &doomed).await;
    app.delete_post(&tokens[0], &doomed).await;

    assert_problem(app.get(&comment_path(&gone), None).await, 404, "not_found").await;
    assert_problem(
        app.get(&comments_path(&doomed), None).await,
        404,
        "not_found",
    )
    .await;
    let response = patch_comment(&app, Some(&tokens[1]), &gone, &json!({"content": "x"})).await;
    assert_problem(response, 404, "not_found").await;
    assert_problem(
        delete_comment(&app, Some(&tokens[1]), &gone).await,
        404,
        "not_found",
    )
    .await;
    let response = post_comment(&app, Some(&tokens[1]), &doomed, &json!({"content": "x"})).await;
    assert_problem(response, 404, "not_found").await;
    let likes = app.get_ok("/api/v1/me/likes", Some(&tokens[1])).await;
    assert_eq!(likes["items"], json!([]));

    app.get_ok(&comment_path(&stays), None).await;
    assert_eq!(comment_count(&app, &kept).await, 1);
}

async fn deleting_an_account_removes_its_comments(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let post = id_of(&app.create_post(&tokens[0], "Hello").await);
    let gone = id_of(&app.comment(&tokens[1], &post, "bob was here").await);
    app.comment(&tokens[0], &post, "alice stays").await;
    app.delete_account(&tokens[1]).await;
    assert_problem(app.get(&comment_path(&gone), None).await, 404, "not_found").await;
    assert_eq!(comment_contents(&app, &post).await, ["alice stays"]);
    assert_eq!(comment_count(&app, &post).await, 1);
}

async fn comments_racing_the_posts_deletion_never_fail(app: TestApp) {
    let names = ["author", "fan_a", "fan_b", "fan_c", "fan_d"];
    let tokens = app.users(&names).await;
    for round in 0..3 {
        let post = id_of(&app.create_post(&tokens[0], &format!("round {round}")).await);
        let existing = id_of(&app.comment(&tokens[1], &post, "early").await);
        let mut set = JoinSet::new();
        for (i, token) in tokens[1..].iter().enumerate() {
            let client = app.client.clone();
            let (method, url, body) = if i == 0 {
                (
                    Method::PATCH,
                    app.url(&comment_path(&existing)),
                    json!({"content": "late edit"}),
                )
            } else {
                (
                    Method::POST,
                    app.url(&comments_path(&post)),
                    json!({"content": format!("racing {i}")}),
                )
            };
            let token = token.clone();
            set.spawn(async move {
                let response = client
                    .request(method.clone(), url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (method, response.status())
            });
        }
        let client = app.client.clone();
        let url = app.url(&post_path(&post));
        let author = tokens[0].clone();
        set.spawn(async move {
            let response = client.delete(url).bearer_auth(author).send().await.unwrap();
            (Method::DELETE, response.status())
        });
        while let Some(result) = set.join_next().await {
            let (method, status) = result.unwrap();
            let allowed: &[u16] = match method {
                Method::DELETE => &[204],
                Method::POST => &[201, 404],
                _ => &[200, 404],
            };
            assert!(
                allowed.contains(&status.as_u16()),
                "round {round}: {method} racing the post's deletion got {status}"
            );
        }
        assert_problem(app.get(&comments_path(&post), None).await, 404, "not_found").await;
        assert_problem(
            app.get(&comment_path(&existing), None).await,
            404,
            "not_found",
        )
        .await;
    }
}

both_databases!(
    deleting_a_post_removes_its_comments_and_likes,
    deleting_an_account_removes_its_comments,
    comments_racing_the_posts_deletion_never_fail,
);
