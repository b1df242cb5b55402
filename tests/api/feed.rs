//! The home feed: your own posts and those of everyone you follow, newest first.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{TestApp, assert_problem};
use crate::posts::{
    UNKNOWN_TOKEN, contents, create_post, delete_post, fetch_posts_page, id_of, list_contents,
    newest_first_pages, walk_posts,
};
use crate::users::{follow, get_ok};

const FEED: &str = "/api/v1/feed";

async fn unfollow(app: &TestApp, token: &str, username: &str) {
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/following/{username}"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "unfollow {username}"
    );
}

async fn feed(app: &TestApp, token: &str) -> Vec<String> {
    list_contents(app, FEED, Some(token)).await
}

async fn the_feed_shows_own_and_followed_posts_newest_first(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let page = get_ok(&app, FEED, Some(&alice)).await;
    assert_eq!(
        page,
        json!({"items": [], "next_cursor": null}),
        "a new user's feed"
    );

    follow(&app, &alice, "bob").await;
    follow(&app, &alice, "carol").await;
    follow(&app, &dave, "alice").await;
    for (token, content) in [
        (&bob, "bob 1"),
        (&alice, "alice 1"),
        (&dave, "dave 1"),
        (&carol, "carol 1"),
        (&bob, "bob 2"),
        (&dave, "dave 2"),
        (&alice, "alice 2"),
    ] {
        create_post(&app, token, content).await;
    }
    let page = get_ok(&app, &format!("{FEED}?limit=100"), Some(&alice)).await;
    assert_eq!(
        contents(&page),
        ["alice 2", "bob 2", "carol 1", "alice 1", "bob 1"],
        "own and followed posts, not dave's"
    );
    for post in page["items"].as_array().unwrap() {
        assert_eq!(post["liked"], false, "{post}");
        assert_eq!(post["media"], json!([]));
    }
    // Following is one-way: bob follows nobody, dave follows alice only.
    assert_eq!(feed(&app, &bob).await, ["bob 2", "bob 1"]);
    assert_eq!(
        feed(&app, &dave).await,
        ["alice 2", "dave 2", "dave 1", "alice 1"]
    );
    assert_eq!(feed(&app, &carol).await, ["carol 1"]);
}

async fn unfollowing_removes_their_posts_from_the_feed(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    follow(&app, &alice, "bob").await;
    follow(&app, &alice, "carol").await;
    create_post(&app, &bob, "bob 1").await;
    create_post(&app, &carol, "carol 1").await;
    create_post(&app, &bob, "bob 2").await;
    assert_eq!(feed(&app, &alice).await, ["bob 2", "carol 1", "bob 1"]);
    unfollow(&app, &alice, "bob").await;
    assert_eq!(feed(&app, &alice).await, ["carol 1"]);
    // Following again brings back all their posts, in their places.
    follow(&app, &alice, "BOB").await;
    assert_eq!(feed(&app, &alice).await, ["bob 2", "carol 1", "bob 1"]);
    // Being followed does not put the follower's posts in your feed.
    follow(&app, &bob, "alice").await;
    unfollow(&app, &alice, "bob").await;
    assert_eq!(feed(&app, &alice).await, ["carol 1"]);
    assert_eq!(feed(&app, &bob).await, ["bob 2", "bob 1"]);
}

async fn edited_and_deleted_posts_show_as_they_are_in_the_feed(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    follow(&app, &alice, "bob").await;
    let first = create_post(&app, &bob, "first").await;
    let second = create_post(&app, &bob, "second").await;
    let response = app
        .request(
            Method::PATCH,
            &format!("/api/v1/posts/{}", id_of(&first)),
            Some(&bob),
        )
        .json(&json!({"content": "first, edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        feed(&app, &alice).await,
        ["second", "first, edited"],
        "an edit does not move a post"
    );
    let response = delete_post(&app, Some(&bob), &id_of(&second)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(feed(&app, &alice).await, ["first, edited"]);
}

async fn the_feed_needs_a_token(app: TestApp) {
    let alice = app.user("alice").await;
    create_post(&app, &alice, "mine").await;
    let response = app.get(FEED, None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, 401, "unauthorized").await;
    assert_problem(
        app.get(FEED, Some(UNKNOWN_TOKEN)).await,
        401,
        "invalid_token",
    )
    .await;
    // Tokens in the query string are not accepted.
    let response = app.get(&format!("{FEED}?token={alice}"), None).await;
    assert_problem(response, 401, "unauthorized").await;
}

async fn walking_the_feed_returns_each_post_once(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    follow(&app, &alice, "bob").await;
    follow(&app, &alice, "carol").await;
    let mut expected = Vec::new();
    for n in 1..=7 {
        let (token, name) = match n % 3 {
            0 => (&alice, "alice"),
            1 => (&bob, "bob"),
            _ => (&carol, "carol"),
        };
        let content = format!("{name} {n}");
        create_post(&app, token, &content).await;
        create_post(&app, &dave, &format!("dave {n}")).await;
        expected.push(content);
    }
    let pages = walk_posts(&app, &format!("{FEED}?limit=2"), Some(&alice), 2).await;
    assert_eq!(pages, newest_first_pages(&expected, 2));
    assert_eq!(pages.len(), 4);
}

async fn a_feed_walk_stays_correct_while_followed_users_post(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    follow(&app, &alice, "bob").await;
    for n in 1..=5 {
        create_post(&app, &bob, &format!("b{n}")).await;
    }
    let first = fetch_posts_page(&app, &app.url(&format!("{FEED}?limit=2")), Some(&alice)).await;
    assert_eq!(first.contents, ["b5", "b4"]);
    create_post(&app, &bob, "b6").await;
    create_post(&app, &alice, "a1").await;
    let second = fetch_posts_page(&app, &first.next.unwrap(), Some(&alice)).await;
    assert_eq!(second.contents, ["b3", "b2"], "new posts only at the head");
    create_post(&app, &bob, "b7").await;
    let third = fetch_posts_page(&app, &second.next.unwrap(), Some(&alice)).await;
    assert_eq!(third.contents, ["b1"]);
    assert!(third.next.is_none());
    assert_eq!(
        feed(&app, &alice).await,
        ["b7", "a1", "b6", "b5", "b4", "b3", "b2", "b1"]
    );
    // The next link needs the token like the first page.
    let first = fetch_posts_page(&app, &app.url(&format!("{FEED}?limit=2")), Some(&alice)).await;
    let response = app.client.get(first.next.unwrap()).send().await.unwrap();
    assert_problem(response, 401, "unauthorized").await;
    let page: Value = get_ok(&app, &format!("{FEED}?limit=100"), Some(&bob)).await;
    assert_eq!(contents(&page).len(), 7, "bob sees only his own");
}

both_databases!(
    the_feed_shows_own_and_followed_posts_newest_first,
    unfollowing_removes_their_posts_from_the_feed,
    edited_and_deleted_posts_show_as_they_are_in_the_feed,
    the_feed_needs_a_token,
    walking_the_feed_returns_each_post_once,
    a_feed_walk_stays_correct_while_followed_users_post,
);
