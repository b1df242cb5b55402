//! The home feed: your own posts and those of everyone you follow, newest first.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{
    TestApp, UNKNOWN_TOKEN, assert_problem, contents, id_of, newest_first_pages, post_path,
};

const FEED: &str = "/api/v1/feed";

async fn feed(app: &TestApp, token: &str) -> Vec<String> {
    app.list_contents(FEED, Some(token)).await
}

async fn the_feed_shows_own_and_followed_posts_newest_first(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let page = app.get_ok(FEED, Some(&alice)).await;
    assert_eq!(
        page,
        json!({"items": [], "next_cursor": null}),
        "a new user's feed"
    );

    app.follow(&alice, "bob").await;
    app.follow(&alice, "carol").await;
    app.follow(&dave, "alice").await;
    for (token, content) in [
        (&bob, "bob 1"),
        (&alice, "alice 1"),
        (&dave, "dave 1"),
        (&carol, "carol 1"),
        (&bob, "bob 2"),
        (&dave, "dave 2"),
        (&alice, "alice 2"),
    ] {
        app.create_post(token, content).await;
    }
    let page = app.get_ok(&format!("{FEED}?limit=100"), Some(&alice)).await;
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
    app.follow(&alice, "bob").await;
    app.follow(&alice, "carol").await;
    app.create_post(&bob, "bob 1").await;
    app.create_post(&carol, "carol 1").await;
    app.create_post(&bob, "bob 2").await;
    assert_eq!(feed(&app, &alice).await, ["bob 2", "carol 1", "bob 1"]);
    app.unfollow(&alice, "bob").await;
    assert_eq!(feed(&app, &alice).await, ["carol 1"]);
    // Following again brings back all their posts, in their places.
    app.follow(&alice, "BOB").await;
    assert_eq!(feed(&app, &alice).await, ["bob 2", "carol 1", "bob 1"]);
    // Being followed does not put the follower's posts in your feed.
    app.follow(&bob, "alice").await;
    app.unfollow(&alice, "bob").await;
    assert_eq!(feed(&app, &alice).await, ["carol 1"]);
    assert_eq!(feed(&app, &bob).await, ["bob 2", "bob 1"]);
}

async fn edited_and_deleted_posts_show_as_they_are_in_the_feed(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&alice, "bob").await;
    let first = app.create_post(&bob, "first").await;
    let second = app.create_post(&bob, "second").await;
    let response = app
        .request(Method::PATCH, &post_path(&id_of(&first)), Some(&bob))
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
    app.delete_post(&bob, &id_of(&second)).await;
    assert_eq!(feed(&app, &alice).await, ["first, edited"]);
}

async fn the_feed_needs_a_token(app: TestApp) {
    let alice = app.user("alice").await;
    app.create_post(&alice, "mine").await;
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
    app.follow(&alice, "bob").await;
    app.follow(&alice, "carol").await;
    let mut expected = Vec::new();
    for n in 1..=7 {
        let (token, name) = match n % 3 {
            0 => (&alice, "alice"),
            1 => (&bob, "bob"),
            _ => (&carol, "carol"),
        };
        let content = format!("{name} {n}");
        app.create_post(token, &content).await;
        app.create_post(&dave, &format!("dave {n}")).await;
        expected.push(content);
    }
    let pages = app
        .walk(&format!("{FEED}?limit=2"), Some(&alice), 2, contents)
        .await;
    assert_eq!(pages, newest_first_pages(&expected, 2));
    assert_eq!(pages.len(), 4);
}

async fn a_feed_walk_stays_correct_while_followed_users_post(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&alice, "bob").await;
    for n in 1..=5 {
        app.create_post(&bob, &format!("b{n}")).await;
    }
    let first = app
        .fetch_page(&app.url(&format!("{FEED}?limit=2")), Some(&alice))
        .await;
    assert_eq!(first.contents(), ["b5", "b4"]);
    app.create_post(&bob, "b6").await;
    app.create_post(&alice, "a1").await;
    let second = app.fetch_page(&first.next.unwrap(), Some(&alice)).await;
    assert_eq!(
        second.contents(),
        ["b3", "b2"],
        "new posts only at the head"
    );
    app.create_post(&bob, "b7").await;
    let third = app.fetch_page(&second.next.unwrap(), Some(&alice)).await;
    assert_eq!(third.contents(), ["b1"]);
    assert!(third.next.is_none());
    assert_eq!(
        feed(&app, &alice).await,
        ["b7", "a1", "b6", "b5", "b4", "b3", "b2", "b1"]
    );
    // The next link needs the token like the first page.
    let first = app
        .fetch_page(&app.url(&format!("{FEED}?limit=2")), Some(&alice))
        .await;
    let response = app.client.get(first.next.unwrap()).send().await.unwrap();
    assert_problem(response, 401, "unauthorized").await;
    let page: Value = app.get_ok(&format!("{FEED}?limit=100"), Some(&bob)).await;
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
