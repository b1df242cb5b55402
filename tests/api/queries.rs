//! No N+1: a page of a list costs a fixed number of SQL statements, whatever its size.

use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{TestApp, media_id, with_param};

/// Statements the server executes while answering `GET path`.
async fn statements_for(app: &TestApp, path: &str, token: Option<&str>) -> (u64, Value) {
    let before = app.state.sql_statements.load(Ordering::SeqCst);
    let response = app.get(path, token).await;
    let after = app.state.sql_statements.load(Ordering::SeqCst);
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    (after - before, response.json().await.unwrap())
}

async fn a_page_of_posts_costs_the_same_whatever_its_size(app: TestApp) {
    let alice = app.user("alice").await;
    let mut authors = Vec::new();
    for name in ["bob", "carol", "dave"] {
        let token = app.user(name).await;
        app.follow(&alice, name).await;
        authors.push(token);
    }
    authors.push(alice.clone());
    for round in 0..6 {
        for (index, token) in authors.iter().enumerate() {
            app.create_post(
                token,
                &format!("round {round} by {index} #tag{index} #common words here"),
            )
            .await;
        }
    }

    // The listing statement also checks the token, so a page is one statement; `/me/posts`
    // checks the token first, with a statement of its own.
    for (path, expected) in [
        ("/api/v1/feed", 1),
        ("/api/v1/posts", 1),
        ("/api/v1/tags/common/posts", 1),
        ("/api/v1/me/posts", 2),
        ("/api/v1/posts?q=words", 1),
    ] {
        let (small, small_page) =
            statements_for(&app, &with_param(path, "limit=1"), Some(&alice)).await;
        let (large, large_page) =
            statements_for(&app, &with_param(path, "limit=20"), Some(&alice)).await;
        assert_eq!(small_page["items"].as_array().unwrap().len(), 1, "{path}");
        assert!(large_page["items"].as_array().unwrap().len() > 1, "{path}");
        assert_eq!(
            small, large,
            "{path}: a bigger page must not cost more statements"
        );
        assert_eq!(large, expected, "{path}: {large} statements");
    }
    let (anonymous, _) = statements_for(&app, "/api/v1/posts?limit=20", None).await;
    assert_eq!(anonymous, 1, "{anonymous} statements");
    // One post, and your own account, are one statement with their token check.
    let first_id = first_feed_post(&app, &alice).await;
    let (one_post, _) =
        statements_for(&app, &format!("/api/v1/posts/{first_id}"), Some(&alice)).await;
    assert_eq!(one_post, 1, "a post: {one_post} statements");
    let (me, _) = statements_for(&app, "/api/v1/me", Some(&alice)).await;
    assert_eq!(me, 1, "/me: {me} statements");

    // Images cost one more statement for the whole page, and only when it has some.
    let uploaded = app.upload_image(&alice).await;
    app.create_post_with_media(&alice, &[media_id(&uploaded)])
        .await;
    let (with_image, page) = statements_for(&app, "/api/v1/feed?limit=20", Some(&alice)).await;
    assert_eq!(page["items"][0]["media"].as_array().unwrap().len(), 1);
    assert_eq!(with_image, 2, "{with_image} statements");
}

async fn first_feed_post(app: &TestApp, token: &str) -> String {
    let (_, page) = statements_for(app, "/api/v1/feed?limit=1", Some(token)).await;
    page["items"][0]["id"].as_str().unwrap().to_owned()
}

async fn a_page_of_users_costs_the_same_whatever_its_size(app: TestApp) {
    let alice = app.user("alice").await;
    for name in ["bob", "carol", "dave", "erin", "frank"] {
        app.user(name).await;
        app.follow(&alice, name).await;
    }
    for path in [
        "/api/v1/users",
        "/api/v1/me/following",
        "/api/v1/users/alice/following",
        "/api/v1/users?q=a",
    ] {
        let (small, _) = statements_for(&app, &with_param(path, "limit=1"), Some(&alice)).await;
        let (large, _) = statements_for(&app, &with_param(path, "limit=20"), Some(&alice)).await;
        assert_eq!(small, large, "{path}");
    }
    // A search page checks the token and finds the caller's relations in its one statement.
    let (search, page) = statements_for(&app, "/api/v1/users?q=a&limit=20", Some(&alice)).await;
    assert_eq!(search, 1, "search: {search} statements");
    let carol = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["username"] == "carol")
        .expect("carol matches `a`");
    assert_eq!(carol["following"], json!(true));
    assert_eq!(carol["followed_by"], json!(false));
}

both_databases!(
    a_page_of_posts_costs_the_same_whatever_its_size,
    a_page_of_users_costs_the_same_whatever_its_size,
);
