//! Privacy and safety: locked accounts and follow requests, removing a follower,
//! followers-only posts, the 403s of a private or blocked account's lists, blocks, mutes,
//! the viewer-relative fields of a User, mentions in posts and comments, the visibility of
//! scheduled posts, and counts that stay global while items are hidden.
//!
//! `visibility_walk` walks every read endpoint for each kind of hidden post;
//! `privacy_races` puts these rules under concurrent requests.

use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{
    POSTS, TestApp, assert_problem, assert_refused_field, contents, id_of, json_created, json_ok,
    post_path, strings, usernames,
};
use crate::privacy_steps::{
    FEED, FOLLOW_REQUESTS, ME, MY_BLOCKS, MY_FOLLOWERS, MY_FOLLOWING, MY_MUTES, MY_POSTS, USERS,
    accept_path, assert_empty_204, assert_problem_status, block_path, comment_path, comments_path,
    follower_path, followers_of, following_of, following_path, like_path, likers_path,
    mention_names, mute_path, no_relations, posts_with, reject_path, relations, relations_of,
    user_posts,
};

const SCHEDULED: &str = "/api/v1/scheduled-posts";

/// The three lists a private or blocked account closes: posts, followers, following.
fn closed_lists(username: &str) -> [String; 3] {
    [
        user_posts(username),
        followers_of(username),
        following_of(username),
    ]
}

/// The one item of `items` whose `username` is `name`.
fn entry<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|item| item["username"] == name)
        .unwrap_or_else(|| panic!("{name} in {items:?}"))
}

/// Sorted, for lists whose order between items is not the point.
fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Locked accounts and follow requests
// ---------------------------------------------------------------------------------------

async fn locked_is_false_by_default_and_set_with_patch_me(app: TestApp) {
    let alice = app.user("alice").await;
    assert_eq!(app.get_ok(ME, Some(&alice)).await["locked"], false);
    assert_eq!(app.profile("alice", None).await["locked"], false);

    app.set_locked(&alice, true).await;
    assert_eq!(app.get_ok(ME, Some(&alice)).await["locked"], true);
    assert_eq!(app.profile("alice", None).await["locked"], true);
    // Patching another field leaves it as it is.
    let me = json_ok(
        app.send_json(Method::PATCH, ME, Some(&alice), &json!({"bio": "private"}))
            .await,
        "PATCH /me bio",
    )
    .await;
    assert_eq!(me["locked"], true);

    app.set_locked(&alice, false).await;
    assert_eq!(app.profile("alice", None).await["locked"], false);
}

async fn locked_must_be_a_boolean(app: TestApp) {
    let alice = app.user("alice").await;
    for value in [json!("yes"), json!(1), json!([true]), json!({"on": true})] {
        let body = json!({"locked": value});
        let response = app.send_json(Method::PATCH, ME, Some(&alice), &body).await;
        assert_refused_field(response, "locked", &body.to_string()).await;
    }
    assert_eq!(app.profile("alice", None).await["locked"], false);
}

async fn following_a_locked_account_is_a_pending_request_answered_202(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.set_locked(alice, true).await;
    // Asking again while the request is pending is 202 again.
    for _ in 0..3 {
        app.request_follow(bob, "alice").await;
    }
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));
    assert!(
        app.list_usernames(MY_FOLLOWERS, Some(alice))
            .await
            .is_empty()
    );
    assert!(app.list_usernames(MY_FOLLOWING, Some(bob)).await.is_empty());
    assert_eq!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice)).await,
        ["bob"]
    );

    let seen_by_bob = app.profile("alice", Some(bob)).await;
    assert_eq!(seen_by_bob["requested"], true);
    assert_eq!(seen_by_bob["following"], false);
    assert_eq!(app.profile("alice", Some(carol)).await["requested"], false);
    assert_eq!(app.profile("alice", None).await["requested"], Value::Null);
    // `requested` is about the viewer's own request, not one to the viewer.
    assert_eq!(app.profile("bob", Some(alice)).await["requested"], false);
}

async fn a_repeated_request_keeps_its_place_in_the_request_list(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    app.set_locked(&tokens[0], true).await;
    app.request_follow(&tokens[1], "alice").await;
    app.request_follow(&tokens[2], "alice").await;
    app.request_follow(&tokens[1], "ALICE").await;
    assert_eq!(
        app.list_usernames(FOLLOW_REQUESTS, Some(&tokens[0])).await,
        ["bob", "carol"]
    );
}

async fn follow_requests_are_listed_oldest_first_a_page_at_a_time(app: TestApp) {
    let alice = app.user("alice").await;
    app.set_locked(&alice, true).await;
    let names = ["req1", "req2", "req3", "req4", "req5"];
    for token in app.users(&names).await {
        app.request_follow(&token, "alice").await;
    }
    let pages = app
        .walk(
            &format!("{FOLLOW_REQUESTS}?limit=2"),
            Some(&alice),
            2,
            usernames,
        )
        .await;
    assert_eq!(
        pages,
        [
            strings(&["req1", "req2"]),
            strings(&["req3", "req4"]),
            strings(&["req5"])
        ]
    );
    for user in app.list_items(FOLLOW_REQUESTS, Some(&alice)).await {
        assert!(user.get("email").is_none(), "no email in lists: {user}");
        assert!(user["followers_count"].is_i64(), "a User: {user}");
    }
}

async fn accepting_a_request_makes_it_a_follow(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.create_post(alice, "for my followers").await;
    app.request_follow(bob, "alice").await;
    app.accept_request(alice, "BOB").await;

    assert_eq!(app.follow_counts("alice").await, (1, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 1));
    assert_eq!(app.list_usernames(MY_FOLLOWERS, Some(alice)).await, ["bob"]);
    assert_eq!(app.list_usernames(MY_FOLLOWING, Some(bob)).await, ["alice"]);
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    let seen_by_bob = app.profile("alice", Some(bob)).await;
    assert_eq!(seen_by_bob["following"], true);
    assert_eq!(seen_by_bob["requested"], false);
    assert_eq!(
        app.list_contents(&user_posts("alice"), Some(bob)).await,
        ["for my followers"]
    );
    assert_eq!(
        app.list_contents(FEED, Some(bob)).await,
        ["for my followers"]
    );

    // Accepted once: there is no request left to accept or reject.
    let response = app
        .send(Method::POST, &accept_path("bob"), Some(alice))
        .await;
    assert_problem(response, 404, "not_found").await;
    let response = app
        .send(Method::POST, &reject_path("bob"), Some(alice))
        .await;
    assert_problem(response, 404, "not_found").await;
    assert_eq!(app.follow_counts("alice").await, (1, 0));
}

async fn rejecting_a_request_removes_it(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.request_follow(bob, "alice").await;
    app.reject_request(alice, "bob").await;

    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));
    assert_eq!(app.profile("alice", Some(bob)).await["requested"], false);
    let response = app
        .send(Method::POST, &reject_path("bob"), Some(alice))
        .await;
    assert_problem(response, 404, "not_found").await;
    let response = app
        .send(Method::POST, &accept_path("bob"), Some(alice))
        .await;
    assert_problem(response, 404, "not_found").await;
    assert_eq!(app.follow_counts("alice").await, (0, 0));

    // Rejected is not barred: bob may ask again.
    app.request_follow(bob, "alice").await;
    assert_eq!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice)).await,
        ["bob"]
    );
}

async fn cancelling_a_request_removes_it(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.request_follow(bob, "alice").await;
    for _ in 0..2 {
        let response = app
            .send(Method::DELETE, &following_path("alice"), Some(bob))
            .await;
        assert_empty_204(response, "cancel the request").await;
    }
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    assert_eq!(app.profile("alice", Some(bob)).await["requested"], false);
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));
    let response = app
        .send(Method::POST, &accept_path("bob"), Some(alice))
        .await;
    assert_problem(response, 404, "not_found").await;
    assert_eq!(app.follow_counts("alice").await, (0, 0));
}

async fn accepting_or_rejecting_without_a_pending_request_is_404(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "dave"]).await;
    let alice = &tokens[0];
    app.follow(&tokens[2], "alice").await;
    app.set_locked(alice, true).await;
    // nobody: no such account; bob: never asked; dave: already follows; alice: herself.
    for name in ["nobody", "bob", "dave", "alice"] {
        for path in [accept_path(name), reject_path(name)] {
            let response = app.send(Method::POST, &path, Some(alice)).await;
            assert_problem(response, 404, "not_found").await;
        }
    }
    assert_eq!(app.follow_counts("alice").await, (1, 0));
    assert_eq!(
        app.list_usernames(MY_FOLLOWERS, Some(alice)).await,
        ["dave"]
    );
    // A request to someone else is not one to accept either.
    app.set_locked(&tokens[1], true).await;
    app.request_follow(&tokens[2], "bob").await;
    let response = app
        .send(Method::POST, &accept_path("dave"), Some(alice))
        .await;
    assert_problem(response, 404, "not_found").await;
    assert_eq!(
        app.list_usernames(FOLLOW_REQUESTS, Some(&tokens[1])).await,
        ["dave"]
    );
}

async fn unlocking_accepts_every_pending_request(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave", "erin"]).await;
    let alice = &tokens[0];
    app.follow(&tokens[3], "alice").await;
    app.set_locked(alice, true).await;
    app.request_follow(&tokens[1], "alice").await;
    app.request_follow(&tokens[2], "alice").await;

    app.set_locked(alice, false).await;
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    assert_eq!(
        sorted(app.list_usernames(MY_FOLLOWERS, Some(alice)).await),
        ["bob", "carol", "dave"]
    );
    assert_eq!(app.follow_counts("alice").await, (3, 0));
    for name in ["bob", "carol", "dave"] {
        assert_eq!(app.follow_counts(name).await, (0, 1), "{name}");
    }
    let seen_by_bob = app.profile("alice", Some(&tokens[1])).await;
    assert_eq!(seen_by_bob["following"], true);
    assert_eq!(seen_by_bob["requested"], false);
    // Unlocked, a follow holds at once again.
    app.follow(&tokens[4], "alice").await;
    assert_eq!(app.follow_counts("alice").await, (4, 0));
}

async fn existing_followers_stay_when_an_account_locks(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(bob, "alice").await;
    app.create_post(alice, "before locking").await;
    app.set_locked(alice, true).await;

    assert_eq!(app.list_usernames(MY_FOLLOWERS, Some(alice)).await, ["bob"]);
    assert_eq!(app.follow_counts("alice").await, (1, 0));
    assert_eq!(
        app.list_contents(&user_posts("alice"), Some(bob)).await,
        ["before locking"]
    );
    // Following an account you already follow is still 204 once it is locked, and no
    // request appears.
    for _ in 0..2 {
        let response = app.put_following(bob, "alice").await;
        assert_empty_204(response, "follow again").await;
    }
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    assert_eq!(app.follow_counts("alice").await, (1, 0));
    assert_eq!(app.profile("alice", Some(bob)).await["requested"], false);
}

both_databases!(
    locked_is_false_by_default_and_set_with_patch_me,
    locked_must_be_a_boolean,
    following_a_locked_account_is_a_pending_request_answered_202,
    a_repeated_request_keeps_its_place_in_the_request_list,
    follow_requests_are_listed_oldest_first_a_page_at_a_time,
    accepting_a_request_makes_it_a_follow,
    rejecting_a_request_removes_it,
    cancelling_a_request_removes_it,
    accepting_or_rejecting_without_a_pending_request_is_404,
    unlocking_accepts_every_pending_request,
    existing_followers_stay_when_an_account_locks,
);

// ---------------------------------------------------------------------------------------
// Removing a follower
// ---------------------------------------------------------------------------------------

async fn removing_a_follower_is_204_and_idempotent(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(bob, "alice").await;
    app.follow(alice, "bob").await;
    for _ in 0..3 {
        app.remove_follower(alice, "BOB").await;
    }
    assert!(
        app.list_usernames(MY_FOLLOWERS, Some(alice))
            .await
            .is_empty()
    );
    assert!(
        app.list_usernames(&followers_of("alice"), None)
            .await
            .is_empty()
    );
    // Only bob's follow of alice goes; alice still follows bob.
    assert_eq!(app.follow_counts("alice").await, (0, 1));
    assert_eq!(app.follow_counts("bob").await, (1, 0));
    // Removing someone who does not follow you changes nothing.
    app.remove_follower(alice, "carol").await;
    assert_eq!(app.follow_counts("carol").await, (0, 0));
    assert_eq!(app.follow_counts("alice").await, (0, 1));

    // They may follow again.
    app.follow(bob, "alice").await;
    assert_eq!(app.follow_counts("alice").await, (1, 1));
}

async fn removing_an_unknown_follower_is_404(app: TestApp) {
    let alice = app.user("alice").await;
    for name in ["nobody", "alic"] {
        let response = app
            .send(Method::DELETE, &follower_path(name), Some(&alice))
            .await;
        assert_problem(response, 404, "not_found").await;
    }
}

async fn a_removed_follower_of_a_locked_account_must_ask_again(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(bob, "alice").await;
    app.set_locked(alice, true).await;
    app.remove_follower(alice, "bob").await;
    for path in closed_lists("alice") {
        assert_problem(app.get(&path, Some(bob)).await, 403, "private_account").await;
    }
    app.request_follow(bob, "alice").await;
    assert_eq!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice)).await,
        ["bob"]
    );
    assert_eq!(app.follow_counts("alice").await, (0, 0));
}

async fn privacy_endpoints_need_a_token(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    app.set_locked(&tokens[0], true).await;
    app.request_follow(&tokens[1], "alice").await;
    let requests = [
        (Method::GET, FOLLOW_REQUESTS.to_owned()),
        (Method::POST, accept_path("bob")),
        (Method::POST, reject_path("bob")),
        (Method::DELETE, follower_path("bob")),
        (Method::GET, MY_BLOCKS.to_owned()),
        (Method::PUT, block_path("bob")),
        (Method::DELETE, block_path("bob")),
        (Method::GET, MY_MUTES.to_owned()),
        (Method::PUT, mute_path("bob")),
        (Method::DELETE, mute_path("bob")),
    ];
    for (method, path) in requests {
        let response = app.send(method.clone(), &path, None).await;
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer",
            "{method} {path}"
        );
        assert_problem(response, 401, "unauthorized").await;
    }
    assert_eq!(
        app.list_usernames(FOLLOW_REQUESTS, Some(&tokens[0])).await,
        ["bob"]
    );
}

both_databases!(
    removing_a_follower_is_204_and_idempotent,
    removing_an_unknown_follower_is_404,
    a_removed_follower_of_a_locked_account_must_ask_again,
    privacy_endpoints_need_a_token,
);

// ---------------------------------------------------------------------------------------
// Followers-only posts and locked accounts' posts
// ---------------------------------------------------------------------------------------

async fn visibility_is_public_by_default_and_can_be_followers(app: TestApp) {
    let alice = app.user("alice").await;
    let plain = app.create_post(&alice, "plain").await;
    assert_eq!(plain["visibility"], "public");
    let public = app.create_post_as(&alice, "said public", "public").await;
    assert_eq!(public["visibility"], "public");
    let friends = app.create_post_as(&alice, "for friends", "followers").await;
    assert_eq!(friends["visibility"], "followers");
    for post in [&plain, &public, &friends] {
        let fetched = app.get_ok(&post_path(&id_of(post)), Some(&alice)).await;
        assert_eq!(fetched, *post);
    }
}

async fn an_invalid_visibility_is_422_and_creates_nothing(app: TestApp) {
    let alice = app.user("alice").await;
    for value in [
        json!("private"),
        json!("everyone"),
        json!(""),
        json!(1),
        json!(true),
        json!(["public"]),
    ] {
        let body = json!({"content": "hello", "visibility": value});
        let response = app.send_post(Some(&alice), &body).await;
        assert_refused_field(response, "visibility", &body.to_string()).await;
    }
    assert_eq!(app.posts_count("alice").await, 0);
    assert!(app.list_contents(MY_POSTS, Some(&alice)).await.is_empty());
}

async fn followers_only_posts_are_hidden_from_others(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(bob, "alice").await;
    let post = id_of(&app.create_post_as(alice, "for friends", "followers").await);
    let path = post_path(&post);
    for (who, token) in [("alice", alice), ("bob", bob)] {
        let fetched = app.get_ok(&path, Some(token)).await;
        assert_eq!(fetched["content"], "for friends", "{who}");
        assert_eq!(fetched["visibility"], "followers", "{who}");
    }
    assert_problem(app.get(&path, Some(carol)).await, 404, "not_found").await;
    assert_problem(app.get(&path, None).await, 404, "not_found").await;
    // Following later shows it; unfollowing hides it again.
    app.follow(carol, "alice").await;
    assert_eq!(
        app.get_ok(&path, Some(carol)).await["content"],
        "for friends"
    );
    app.unfollow(carol, "alice").await;
    assert_problem(app.get(&path, Some(carol)).await, 404, "not_found").await;
}

async fn the_author_changes_visibility_with_patch(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(bob, "alice").await;
    let post = id_of(&app.create_post(alice, "#news today").await);
    let path = post_path(&post);
    assert_eq!(app.get_ok(&path, Some(carol)).await["visibility"], "public");

    let patched = app.set_visibility(alice, &post, "followers").await;
    assert_eq!(patched["visibility"], "followers");
    assert_eq!(patched["content"], "#news today", "content unchanged");
    assert_eq!(patched["tags"], json!(["news"]), "tags unchanged");
    assert_eq!(
        app.get_ok(&path, Some(bob)).await["visibility"],
        "followers"
    );
    assert_problem(app.get(&path, Some(carol)).await, 404, "not_found").await;
    assert_problem(app.get(&path, None).await, 404, "not_found").await;

    // An invalid value changes nothing.
    for value in [json!("secret"), json!(0)] {
        let body = json!({"visibility": value});
        let response = app.patch_post(alice, &post, &body).await;
        assert_refused_field(response, "visibility", &body.to_string()).await;
    }
    assert_eq!(
        app.get_ok(&path, Some(alice)).await["visibility"],
        "followers"
    );
    // Someone who can see it still may not change it.
    let response = app
        .patch_post(bob, &post, &json!({"visibility": "public"}))
        .await;
    assert_problem(response, 403, "not_owner").await;

    assert_eq!(
        app.set_visibility(alice, &post, "public").await["visibility"],
        "public"
    );
    assert_eq!(app.get_ok(&path, None).await["visibility"], "public");
    assert_eq!(
        app.get_ok(&path, Some(carol)).await["content"],
        "#news today"
    );
}

async fn followers_find_followers_only_posts_in_every_list(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(bob, "alice").await;
    app.create_post(alice, "public tulips #garden").await;
    app.create_post_as(alice, "friends tulips #garden", "followers")
        .await;
    let both = ["friends tulips #garden", "public tulips #garden"];
    let public_only = ["public tulips #garden"];
    let lists = [
        POSTS.to_owned(),
        posts_with("q", "tulips"),
        posts_with("tag", "garden"),
        posts_with("author", "alice"),
        "/api/v1/tags/garden/posts".to_owned(),
        user_posts("alice"),
    ];
    for path in &lists {
        assert_eq!(
            app.list_contents(path, Some(bob)).await,
            both,
            "bob: {path}"
        );
        assert_eq!(
            app.list_contents(path, Some(alice)).await,
            both,
            "the author: {path}"
        );
        assert_eq!(
            app.list_contents(path, Some(carol)).await,
            public_only,
            "carol: {path}"
        );
        assert_eq!(
            app.list_contents(path, None).await,
            public_only,
            "anonymous: {path}"
        );
    }
    assert_eq!(app.list_contents(FEED, Some(bob)).await, both);
    assert_eq!(app.list_contents(FEED, Some(alice)).await, both);
    assert_eq!(app.list_contents(MY_POSTS, Some(alice)).await, both);
}

async fn a_locked_authors_posts_report_followers_visibility(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(bob, "alice").await;
    let written_public = id_of(&app.create_post(alice, "written public").await);
    let written_for_followers = id_of(
        &app.create_post_as(alice, "written for followers", "followers")
            .await,
    );
    app.set_locked(alice, true).await;
    let while_locked = app.create_post(alice, "written while locked").await;
    assert_eq!(
        while_locked["visibility"], "followers",
        "the create answer reports it too"
    );

    for id in [
        &written_public,
        &written_for_followers,
        &id_of(&while_locked),
    ] {
        let path = post_path(id);
        for (who, token) in [("alice", alice), ("bob", bob)] {
            let post = app.get_ok(&path, Some(token)).await;
            assert_eq!(post["visibility"], "followers", "{who}: {post}");
        }
        assert_problem(app.get(&path, Some(carol)).await, 404, "not_found").await;
        assert_problem(app.get(&path, None).await, 404, "not_found").await;
    }
    for post in app.list_items(&user_posts("alice"), Some(bob)).await {
        assert_eq!(post["visibility"], "followers", "{post}");
    }
    assert!(app.list_contents(POSTS, None).await.is_empty());
    assert!(app.list_contents(POSTS, Some(carol)).await.is_empty());
    assert_eq!(app.list_contents(POSTS, Some(bob)).await.len(), 3);
}

async fn unlocking_makes_posts_written_public_public_again(app: TestApp) {
    let tokens = app.users(&["alice", "carol"]).await;
    let (alice, carol) = (&tokens[0], &tokens[1]);
    let written_public = id_of(&app.create_post(alice, "written public").await);
    let written_for_followers = id_of(
        &app.create_post_as(alice, "written for followers", "followers")
            .await,
    );
    app.set_locked(alice, true).await;
    let while_locked = id_of(&app.create_post(alice, "written while locked").await);
    assert_problem(
        app.get(&post_path(&written_public), None).await,
        404,
        "not_found",
    )
    .await;

    app.set_locked(alice, false).await;
    for id in [&written_public, &while_locked] {
        let post = app.get_ok(&post_path(id), None).await;
        assert_eq!(post["visibility"], "public", "{post}");
        assert_eq!(
            app.get_ok(&post_path(id), Some(carol)).await["visibility"],
            "public"
        );
    }
    let path = post_path(&written_for_followers);
    assert_eq!(
        app.get_ok(&path, Some(alice)).await["visibility"],
        "followers"
    );
    assert_problem(app.get(&path, None).await, 404, "not_found").await;
    assert_problem(app.get(&path, Some(carol)).await, 404, "not_found").await;
    assert_eq!(
        app.list_contents(POSTS, None).await,
        ["written while locked", "written public"]
    );
}

async fn a_locked_accounts_lists_are_403_for_non_followers_but_its_profile_is_public(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave", "erin"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    app.follow(bob, "alice").await;
    app.follow(alice, "erin").await;
    app.create_post(alice, "hello").await;
    app.set_locked(alice, true).await;
    app.request_follow(carol, "alice").await;

    // Anonymous, a pending asker and a stranger.
    for (who, token) in [
        ("anonymous", None),
        ("carol", Some(carol)),
        ("dave", Some(dave)),
    ] {
        for path in closed_lists("alice") {
            let response = app.get(&path, token.map(String::as_str)).await;
            assert_problem(response, 403, "private_account").await;
        }
        let profile = app.profile("alice", token.map(String::as_str)).await;
        assert_eq!(profile["locked"], true, "{who}");
        assert_eq!(profile["followers_count"], 1, "{who}");
        assert_eq!(profile["following_count"], 1, "{who}");
        assert_eq!(profile["posts_count"], 1, "{who}");
    }
    // The owner and a follower read them.
    for token in [alice, bob] {
        assert_eq!(
            app.list_contents(&user_posts("alice"), Some(token)).await,
            ["hello"]
        );
        assert_eq!(
            app.list_usernames(&followers_of("alice"), Some(token))
                .await,
            ["bob"]
        );
        assert_eq!(
            app.list_usernames(&following_of("alice"), Some(token))
                .await,
            ["erin"]
        );
    }
    // `/posts?author=` is a `/posts` list: it leaves the hidden posts out, it is no 403.
    assert!(
        app.list_contents(&posts_with("author", "alice"), None)
            .await
            .is_empty()
    );
    assert!(
        app.list_contents(&posts_with("author", "alice"), Some(dave))
            .await
            .is_empty()
    );
}

both_databases!(
    visibility_is_public_by_default_and_can_be_followers,
    an_invalid_visibility_is_422_and_creates_nothing,
    followers_only_posts_are_hidden_from_others,
    the_author_changes_visibility_with_patch,
    followers_find_followers_only_posts_in_every_list,
    a_locked_authors_posts_report_followers_visibility,
    unlocking_makes_posts_written_public_public_again,
    a_locked_accounts_lists_are_403_for_non_followers_but_its_profile_is_public,
);

// ---------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------

async fn blocking_and_unblocking_are_204_and_idempotent(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let alice = &tokens[0];
    for _ in 0..3 {
        app.block(alice, "bob").await;
    }
    assert_eq!(app.list_usernames(MY_BLOCKS, Some(alice)).await, ["bob"]);
    for _ in 0..3 {
        app.unblock(alice, "BOB").await;
    }
    assert!(app.list_usernames(MY_BLOCKS, Some(alice)).await.is_empty());
    // Unblocking someone you do not block is a 204 too.
    app.unblock(alice, "carol").await;
    assert!(app.list_usernames(MY_BLOCKS, Some(alice)).await.is_empty());
    assert!(
        app.list_usernames(MY_BLOCKS, Some(&tokens[1]))
            .await
            .is_empty()
    );
}

async fn blocks_are_listed_most_recent_first(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let alice = &tokens[0];
    app.block(alice, "bob").await;
    app.block(alice, "carol").await;
    app.block(alice, "dave").await;
    app.block(alice, "bob").await;
    let pages = app
        .walk(&format!("{MY_BLOCKS}?limit=2"), Some(alice), 2, usernames)
        .await;
    assert_eq!(
        pages,
        [strings(&["dave", "carol"]), strings(&["bob"])],
        "a repeated block keeps its place"
    );
    for user in app.list_items(MY_BLOCKS, Some(alice)).await {
        assert_eq!(user["blocking"], true, "{user}");
        assert!(user.get("email").is_none(), "no email in lists: {user}");
    }
    // Each account's blocks are its own.
    assert!(
        app.list_usernames(MY_BLOCKS, Some(&tokens[1]))
            .await
            .is_empty()
    );
}

async fn blocking_yourself_is_422_and_an_unknown_user_404(app: TestApp) {
    let alice = app.user("alice").await;
    for name in ["alice", "ALICE"] {
        let response = app.send(Method::PUT, &block_path(name), Some(&alice)).await;
        assert_problem_status(response, 422, "block yourself").await;
    }
    for name in ["nobody", "alic"] {
        for method in [Method::PUT, Method::DELETE] {
            let response = app.send(method, &block_path(name), Some(&alice)).await;
            assert_problem(response, 404, "not_found").await;
        }
    }
    assert!(app.list_usernames(MY_BLOCKS, Some(&alice)).await.is_empty());
}

async fn blocking_removes_follows_in_both_directions(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(alice, "bob").await;
    app.follow(bob, "alice").await;
    app.follow(carol, "alice").await;
    app.follow(carol, "bob").await;
    app.follow(alice, "dave").await;
    assert_eq!(app.follow_counts("alice").await, (2, 2));
    assert_eq!(app.follow_counts("bob").await, (2, 1));

    app.block(alice, "bob").await;
    assert_eq!(app.follow_counts("alice").await, (1, 1));
    assert_eq!(app.follow_counts("bob").await, (1, 0));
    assert_eq!(app.follow_counts("carol").await, (0, 2));
    assert_eq!(
        app.list_usernames(MY_FOLLOWERS, Some(alice)).await,
        ["carol"]
    );
    assert_eq!(
        app.list_usernames(MY_FOLLOWING, Some(alice)).await,
        ["dave"]
    );
    assert_eq!(app.list_usernames(MY_FOLLOWERS, Some(bob)).await, ["carol"]);
    assert!(app.list_usernames(MY_FOLLOWING, Some(bob)).await.is_empty());
    let me = app.get_ok(ME, Some(bob)).await;
    assert_eq!(
        (&me["followers_count"], &me["following_count"]),
        (&json!(1), &json!(0))
    );

    // Unblocking restores no follow.
    app.unblock(alice, "bob").await;
    assert_eq!(app.follow_counts("alice").await, (1, 1));
    assert_eq!(app.follow_counts("bob").await, (1, 0));
    assert_eq!(
        app.relations_seen("bob", Some(alice)).await,
        relations(false, false, false, false, false, false)
    );
}

async fn blocking_removes_pending_requests_in_both_directions(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.set_locked(bob, true).await;
    app.request_follow(alice, "bob").await;
    app.request_follow(bob, "alice").await;

    app.block(alice, "bob").await;
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(bob))
            .await
            .is_empty()
    );
    assert_eq!(app.profile("bob", Some(alice)).await["requested"], false);
    assert_eq!(app.profile("alice", Some(bob)).await["requested"], false);
    let response = app
        .send(Method::POST, &accept_path("bob"), Some(alice))
        .await;
    assert_problem(response, 404, "not_found").await;
    let response = app
        .send(Method::POST, &accept_path("alice"), Some(bob))
        .await;
    assert_problem(response, 404, "not_found").await;

    // Unblocking brings no request back.
    app.unblock(alice, "bob").await;
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(bob))
            .await
            .is_empty()
    );
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));
}

async fn neither_account_can_follow_the_other_while_a_block_stands(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.block(alice, "bob").await;
    let response = app.put_following(bob, "alice").await;
    assert_problem(response, 403, "blocked").await;
    let response = app.put_following(alice, "bob").await;
    assert_problem(response, 403, "blocked").await;
    // A locked account's block is a 403 too, not a request.
    app.set_locked(alice, true).await;
    let response = app.put_following(bob, "alice").await;
    assert_problem(response, 403, "blocked").await;
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty()
    );
    assert_eq!(app.follow_counts("alice").await, (0, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));

    app.unblock(alice, "bob").await;
    app.request_follow(bob, "alice").await;
    app.follow(alice, "bob").await;
    assert_eq!(app.follow_counts("bob").await, (1, 0));
}

async fn blocking_and_blocked_by_show_each_side_of_a_block(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let nothing = relations(false, false, false, false, false, false);
    assert_eq!(app.relations_seen("bob", Some(alice)).await, nothing);

    app.block(alice, "bob").await;
    assert_eq!(
        app.relations_seen("bob", Some(alice)).await,
        relations(false, false, false, true, false, false)
    );
    assert_eq!(
        app.relations_seen("alice", Some(bob)).await,
        relations(false, false, false, false, true, false)
    );
    for name in ["alice", "bob"] {
        assert_eq!(
            app.relations_seen(name, Some(carol)).await,
            nothing,
            "{name}"
        );
        assert_eq!(
            app.relations_seen(name, None).await,
            no_relations(),
            "{name}"
        );
    }

    app.block(bob, "alice").await;
    let both = relations(false, false, false, true, true, false);
    assert_eq!(app.relations_seen("bob", Some(alice)).await, both);
    assert_eq!(app.relations_seen("alice", Some(bob)).await, both);

    app.unblock(alice, "bob").await;
    assert_eq!(
        app.relations_seen("bob", Some(alice)).await,
        relations(false, false, false, false, true, false)
    );
    assert_eq!(
        app.relations_seen("alice", Some(bob)).await,
        relations(false, false, false, true, false, false)
    );
}

async fn a_blocked_pairs_profiles_stay_readable_and_their_lists_are_403_blocked(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(carol, "alice").await;
    app.follow(carol, "bob").await;
    app.block(alice, "bob").await;
    for (viewer, other) in [(bob, "alice"), (alice, "bob")] {
        let profile = app.profile(other, Some(viewer)).await;
        assert_eq!(profile["username"], other);
        assert_eq!(profile["followers_count"], 1, "{profile}");
        for path in closed_lists(other) {
            let response = app.get(&path, Some(viewer)).await;
            assert_problem(response, 403, "blocked").await;
        }
        for path in closed_lists(other) {
            app.get_ok(&path, Some(carol)).await;
            app.get_ok(&path, None).await;
        }
    }
}

async fn blocked_wins_over_private_account(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.set_locked(bob, true).await;
    // Whoever blocks, both sides read the other's lists as `blocked`.
    app.block(bob, "alice").await;
    for (viewer, other) in [(bob, "alice"), (alice, "bob")] {
        for path in closed_lists(other) {
            let response = app.get(&path, Some(viewer)).await;
            assert_problem(response, 403, "blocked").await;
        }
    }
    // Anyone else still gets `private_account`.
    for path in closed_lists("alice") {
        assert_problem(app.get(&path, None).await, 403, "private_account").await;
    }
}

async fn each_sides_posts_are_hidden_from_the_other(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let alices = id_of(&app.create_post(alice, "alice speaks").await);
    let bobs = id_of(&app.create_post(bob, "bob speaks").await);
    app.block(alice, "bob").await;

    assert_problem(
        app.get(&post_path(&alices), Some(bob)).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&post_path(&bobs), Some(alice)).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.list_contents(POSTS, Some(alice)).await,
        ["alice speaks"]
    );
    assert_eq!(app.list_contents(POSTS, Some(bob)).await, ["bob speaks"]);
    assert_eq!(
        app.list_contents(POSTS, Some(carol)).await,
        ["bob speaks", "alice speaks"]
    );
    assert_eq!(app.list_contents(POSTS, None).await.len(), 2);

    app.unblock(alice, "bob").await;
    assert_eq!(
        app.get_ok(&post_path(&alices), Some(bob)).await["content"],
        "alice speaks"
    );
    assert_eq!(
        app.get_ok(&post_path(&bobs), Some(alice)).await["content"],
        "bob speaks"
    );
}

async fn each_sides_comments_are_hidden_from_the_other(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(carol, "carol asks").await);
    let from_alice = id_of(&app.comment(alice, &post, "from alice").await);
    let from_bob = id_of(&app.comment(bob, &post, "from bob").await);
    app.block(bob, "alice").await;

    let path = comments_path(&post);
    assert_eq!(app.list_contents(&path, Some(alice)).await, ["from alice"]);
    assert_eq!(app.list_contents(&path, Some(bob)).await, ["from bob"]);
    assert_eq!(
        app.list_contents(&path, Some(carol)).await,
        ["from alice", "from bob"]
    );
    assert_eq!(
        app.list_contents(&path, None).await,
        ["from alice", "from bob"]
    );
    assert_problem(
        app.get(&comment_path(&from_bob), Some(alice)).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&comment_path(&from_alice), Some(bob)).await,
        404,
        "not_found",
    )
    .await;
    app.get_ok(&comment_path(&from_bob), Some(carol)).await;
    for token in [alice, bob, carol] {
        let seen = app.get_ok(&post_path(&post), Some(token)).await;
        assert_eq!(seen["comment_count"], 2, "a global count: {seen}");
    }
}

async fn liking_or_commenting_a_post_you_cannot_see_is_404(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let public = id_of(&app.create_post(alice, "public").await);
    let friends = id_of(&app.create_post_as(alice, "friends", "followers").await);
    app.block(alice, "bob").await;
    // bob: blocked; carol: not a follower of a followers-only post.
    for (token, post) in [(bob, &public), (bob, &friends), (carol, &friends)] {
        let response = app.send(Method::PUT, &like_path(post), Some(token)).await;
        assert_problem(response, 404, "not_found").await;
        let response = app
            .post_json(&comments_path(post), &json!({"content": "hi"}), Some(token))
            .await;
        assert_problem(response, 404, "not_found").await;
    }
    for post in [&public, &friends] {
        let seen = app.get_ok(&post_path(post), Some(alice)).await;
        assert_eq!(seen["like_count"], 0, "{seen}");
        assert_eq!(seen["comment_count"], 0, "{seen}");
    }
    // carol may like and comment on the public one.
    app.like(carol, &public).await;
    app.comment(carol, &public, "hi").await;
}

async fn editing_or_deleting_a_post_you_cannot_see_is_404_not_403(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    app.follow(dave, "alice").await;
    let public = id_of(&app.create_post(alice, "public").await);
    let friends = id_of(&app.create_post_as(alice, "friends", "followers").await);
    app.block(alice, "bob").await;
    for (token, post) in [(bob, &public), (bob, &friends), (carol, &friends)] {
        let response = app
            .patch_post(token, post, &json!({"content": "mine now"}))
            .await;
        assert_problem(response, 404, "not_found").await;
        let response = app
            .send(Method::DELETE, &post_path(post), Some(token))
            .await;
        assert_problem(response, 404, "not_found").await;
    }
    // Those who can see a post they do not own get the 403.
    for (token, post) in [(carol, &public), (dave, &friends)] {
        let response = app
            .patch_post(token, post, &json!({"content": "mine now"}))
            .await;
        assert_problem(response, 403, "not_owner").await;
        let response = app
            .send(Method::DELETE, &post_path(post), Some(token))
            .await;
        assert_problem(response, 403, "not_owner").await;
    }
    assert_eq!(
        app.list_contents(MY_POSTS, Some(alice)).await,
        ["friends", "public"]
    );
}

async fn a_post_you_own_is_never_hidden_from_you(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    let alices = id_of(&app.create_post_as(alice, "alice's own", "followers").await);
    let bobs = id_of(&app.create_post_as(bob, "bob's own", "followers").await);
    app.block(alice, "bob").await;
    // The blocker and the blocked both keep their own posts everywhere.
    for (token, name, post, content) in [
        (alice, "alice", &alices, "alice's own"),
        (bob, "bob", &bobs, "bob's own"),
    ] {
        let path = post_path(post);
        assert_eq!(app.get_ok(&path, Some(token)).await["content"], content);
        for list in [
            MY_POSTS.to_owned(),
            FEED.to_owned(),
            POSTS.to_owned(),
            user_posts(name),
            posts_with("author", name),
        ] {
            assert_eq!(
                app.list_contents(&list, Some(token)).await,
                [content],
                "{name}: {list}"
            );
        }
        let edited = json_ok(
            app.patch_post(
                token,
                post,
                &json!({"content": format!("{content}, edited")}),
            )
            .await,
            "edit own post",
        )
        .await;
        assert_eq!(edited["content"], format!("{content}, edited"));
        app.like(token, post).await;
        app.comment(token, post, "note to self").await;
        app.delete_post(token, post).await;
    }
}

both_databases!(
    blocking_and_unblocking_are_204_and_idempotent,
    blocks_are_listed_most_recent_first,
    blocking_yourself_is_422_and_an_unknown_user_404,
    blocking_removes_follows_in_both_directions,
    blocking_removes_pending_requests_in_both_directions,
    neither_account_can_follow_the_other_while_a_block_stands,
    blocking_and_blocked_by_show_each_side_of_a_block,
    a_blocked_pairs_profiles_stay_readable_and_their_lists_are_403_blocked,
    blocked_wins_over_private_account,
    each_sides_posts_are_hidden_from_the_other,
    each_sides_comments_are_hidden_from_the_other,
    liking_or_commenting_a_post_you_cannot_see_is_404,
    editing_or_deleting_a_post_you_cannot_see_is_404_not_403,
    a_post_you_own_is_never_hidden_from_you,
);

// ---------------------------------------------------------------------------------------
// Mutes
// ---------------------------------------------------------------------------------------

async fn muting_and_unmuting_are_204_and_idempotent(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let alice = &tokens[0];
    for _ in 0..3 {
        app.mute(alice, "bob").await;
    }
    assert_eq!(app.list_usernames(MY_MUTES, Some(alice)).await, ["bob"]);
    for _ in 0..3 {
        app.unmute(alice, "BOB").await;
    }
    assert!(app.list_usernames(MY_MUTES, Some(alice)).await.is_empty());
    app.unmute(alice, "carol").await;
    assert!(app.list_usernames(MY_MUTES, Some(alice)).await.is_empty());
}

async fn mutes_are_listed_most_recent_first(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let alice = &tokens[0];
    app.mute(alice, "bob").await;
    app.mute(alice, "carol").await;
    app.mute(alice, "dave").await;
    app.mute(alice, "bob").await;
    let pages = app
        .walk(&format!("{MY_MUTES}?limit=2"), Some(alice), 2, usernames)
        .await;
    assert_eq!(
        pages,
        [strings(&["dave", "carol"]), strings(&["bob"])],
        "a repeated mute keeps its place"
    );
    for user in app.list_items(MY_MUTES, Some(alice)).await {
        assert_eq!(user["muting"], true, "{user}");
    }
    assert!(
        app.list_usernames(MY_MUTES, Some(&tokens[1]))
            .await
            .is_empty()
    );
}

async fn muting_yourself_is_422_and_an_unknown_user_404(app: TestApp) {
    let alice = app.user("alice").await;
    for name in ["alice", "Alice"] {
        let response = app.send(Method::PUT, &mute_path(name), Some(&alice)).await;
        assert_problem_status(response, 422, "mute yourself").await;
    }
    for name in ["nobody", "alic"] {
        for method in [Method::PUT, Method::DELETE] {
            let response = app.send(method, &mute_path(name), Some(&alice)).await;
            assert_problem(response, 404, "not_found").await;
        }
    }
    assert!(app.list_usernames(MY_MUTES, Some(&alice)).await.is_empty());
}

async fn a_muted_accounts_posts_leave_the_muters_lists(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    app.follow(alice, "bob").await;
    app.follow(alice, "carol").await;
    app.follow(dave, "bob").await;
    app.create_post(bob, "bob sings #song").await;
    app.create_post(carol, "carol sings #song").await;
    app.mute(alice, "bob").await;

    let lists = [
        POSTS.to_owned(),
        posts_with("q", "sings"),
        posts_with("tag", "song"),
        "/api/v1/tags/song/posts".to_owned(),
    ];
    for path in &lists {
        assert_eq!(
            app.list_contents(path, Some(alice)).await,
            ["carol sings #song"],
            "the muter: {path}"
        );
        assert_eq!(
            app.list_contents(path, Some(dave)).await,
            ["carol sings #song", "bob sings #song"],
            "someone else: {path}"
        );
    }
    assert_eq!(
        app.list_contents(FEED, Some(alice)).await,
        ["carol sings #song"]
    );
    assert_eq!(
        app.list_contents(FEED, Some(dave)).await,
        ["bob sings #song"]
    );
    assert!(
        app.list_contents(&posts_with("author", "bob"), Some(alice))
            .await
            .is_empty()
    );
    assert_eq!(
        app.list_contents(&posts_with("author", "bob"), Some(dave))
            .await,
        ["bob sings #song"]
    );
    // New posts stay out too, and the follow stands.
    app.create_post(bob, "bob sings again #song").await;
    assert_eq!(
        app.list_contents(FEED, Some(alice)).await,
        ["carol sings #song"]
    );
    assert_eq!(app.follow_counts("alice").await, (0, 2));
    assert_eq!(app.profile("bob", Some(alice)).await["following"], true);
}

async fn a_muted_accounts_posts_stay_readable_by_id_and_on_its_profile(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    let post = id_of(&app.create_post(bob, "still here").await);
    app.mute(alice, "bob").await;
    assert_eq!(
        app.get_ok(&post_path(&post), Some(alice)).await["content"],
        "still here"
    );
    assert_eq!(
        app.list_contents(&user_posts("bob"), Some(alice)).await,
        ["still here"]
    );
    // It can be seen, so it can be liked and commented on.
    app.like(alice, &post).await;
    app.comment(alice, &post, "muted but polite").await;
    assert_eq!(app.get_ok(&post_path(&post), None).await["like_count"], 1);
}

async fn a_muted_accounts_comments_leave_the_muters_comment_lists(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    let carols = id_of(&app.create_post(carol, "carol asks").await);
    let alices = id_of(&app.create_post(alice, "alice asks").await);
    for post in [&carols, &alices] {
        app.comment(bob, post, "bob answers").await;
        app.comment(dave, post, "dave answers").await;
    }
    app.mute(alice, "bob").await;
    // Even on the muter's own post.
    for post in [&carols, &alices] {
        let path = comments_path(post);
        assert_eq!(
            app.list_contents(&path, Some(alice)).await,
            ["dave answers"]
        );
        assert_eq!(
            app.list_contents(&path, Some(carol)).await,
            ["bob answers", "dave answers"]
        );
        assert_eq!(
            app.list_contents(&path, None).await,
            ["bob answers", "dave answers"]
        );
        assert_eq!(
            app.get_ok(&post_path(post), Some(alice)).await["comment_count"],
            2,
            "a global count"
        );
    }
    app.unmute(alice, "bob").await;
    assert_eq!(
        app.list_contents(&comments_path(&carols), Some(alice))
            .await,
        ["bob answers", "dave answers"]
    );
}

async fn muting_is_visible_only_to_the_muter(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(alice, "bob").await;
    app.create_post(alice, "alice posts").await;
    let before = app.profile("alice", Some(bob)).await;
    app.mute(alice, "bob").await;

    assert_eq!(
        app.relations_seen("bob", Some(alice)).await,
        relations(true, false, false, false, false, true)
    );
    // The muted account sees the muter exactly as before.
    assert_eq!(app.profile("alice", Some(bob)).await, before);
    assert_eq!(app.profile("alice", Some(bob)).await["muting"], false);
    assert_eq!(app.profile("bob", Some(carol)).await["muting"], false);
    assert_eq!(app.profile("bob", None).await["muting"], Value::Null);
    let followers = app.list_items(MY_FOLLOWERS, Some(bob)).await;
    assert_eq!(entry(&followers, "alice")["muting"], false);
    // Nothing changes for the muted account: it reads the muter's posts and may follow.
    assert_eq!(app.list_contents(POSTS, Some(bob)).await, ["alice posts"]);
    app.follow(bob, "alice").await;
    assert_eq!(app.list_contents(FEED, Some(bob)).await, ["alice posts"]);
    assert_eq!(app.follow_counts("alice").await, (1, 1));
}

async fn unmuting_brings_the_posts_back(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(alice, "bob").await;
    app.create_post(bob, "bob 1").await;
    app.mute(alice, "bob").await;
    app.create_post(bob, "bob 2").await;
    assert!(app.list_contents(FEED, Some(alice)).await.is_empty());
    app.unmute(alice, "bob").await;
    assert_eq!(
        app.list_contents(FEED, Some(alice)).await,
        ["bob 2", "bob 1"]
    );
    assert_eq!(
        app.list_contents(POSTS, Some(alice)).await,
        ["bob 2", "bob 1"]
    );
    assert_eq!(app.profile("bob", Some(alice)).await["muting"], false);
}

both_databases!(
    muting_and_unmuting_are_204_and_idempotent,
    mutes_are_listed_most_recent_first,
    muting_yourself_is_422_and_an_unknown_user_404,
    a_muted_accounts_posts_leave_the_muters_lists,
    a_muted_accounts_posts_stay_readable_by_id_and_on_its_profile,
    a_muted_accounts_comments_leave_the_muters_comment_lists,
    muting_is_visible_only_to_the_muter,
    unmuting_brings_the_posts_back,
);

// ---------------------------------------------------------------------------------------
// Viewer-relative fields
// ---------------------------------------------------------------------------------------

/// alice and bob follow each other, bob liked a post of carol's and follows her.
async fn a_small_graph(app: &TestApp) -> (Vec<String>, String) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    app.follow(&tokens[0], "bob").await;
    app.follow(&tokens[1], "alice").await;
    app.follow(&tokens[1], "carol").await;
    app.follow(&tokens[0], "carol").await;
    let post = id_of(&app.create_post(&tokens[2], "carol's post").await);
    app.like(&tokens[0], &post).await;
    app.like(&tokens[1], &post).await;
    (tokens, post)
}

/// Every User in a list page, paired with its relation fields.
async fn list_relations(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
) -> Vec<(String, Vec<Value>)> {
    app.list_items(path, token)
        .await
        .iter()
        .map(|user| {
            (
                user["username"].as_str().unwrap().to_owned(),
                relations_of(user),
            )
        })
        .collect()
}

fn user_lists(post: &str) -> Vec<String> {
    vec![
        USERS.to_owned(),
        format!("{USERS}?q=o"),
        followers_of("carol"),
        following_of("alice"),
        likers_path(post),
    ]
}

async fn relation_fields_are_null_for_anonymous_readers(app: TestApp) {
    let (_, post) = a_small_graph(&app).await;
    for name in ["alice", "bob", "carol"] {
        assert_eq!(
            app.relations_seen(name, None).await,
            no_relations(),
            "{name}"
        );
    }
    for path in user_lists(&post) {
        let found = list_relations(&app, &path, None).await;
        assert!(!found.is_empty(), "{path}");
        for (name, fields) in found {
            assert_eq!(fields, no_relations(), "{name} in {path}");
        }
    }
}

async fn relation_fields_are_null_on_your_own_account_everywhere(app: TestApp) {
    let (tokens, post) = a_small_graph(&app).await;
    let bob = &tokens[1];
    let me = app.get_ok(ME, Some(bob)).await;
    assert_eq!(relations_of(&me), no_relations(), "{me}");
    assert_eq!(app.relations_seen("bob", Some(bob)).await, no_relations());
    assert_eq!(app.relations_seen("BOB", Some(bob)).await, no_relations());
    for path in user_lists(&post) {
        let found = list_relations(&app, &path, Some(bob)).await;
        let (_, own) = found
            .iter()
            .find(|(name, _)| name == "bob")
            .unwrap_or_else(|| panic!("bob in {path}: {found:?}"));
        assert_eq!(*own, no_relations(), "bob on himself in {path}");
        for (name, fields) in &found {
            if name != "bob" {
                assert!(
                    fields.iter().all(Value::is_boolean),
                    "{name} in {path} seen by bob: {fields:?}"
                );
            }
        }
    }
}

async fn relation_fields_are_booleans_from_the_viewers_side(app: TestApp) {
    let tokens = app
        .users(&["alice", "bob", "carol", "dave", "erin", "frank"])
        .await;
    let alice = &tokens[0];
    app.follow(alice, "bob").await;
    app.follow(&tokens[2], "alice").await;
    app.set_locked(&tokens[3], true).await;
    app.request_follow(alice, "dave").await;
    app.block(alice, "erin").await;
    app.mute(alice, "frank").await;
    let expected = [
        ("bob", relations(true, false, false, false, false, false)),
        ("carol", relations(false, true, false, false, false, false)),
        ("dave", relations(false, false, true, false, false, false)),
        ("erin", relations(false, false, false, true, false, false)),
        ("frank", relations(false, false, false, false, false, true)),
    ];
    for (name, fields) in &expected {
        assert_eq!(
            app.relations_seen(name, Some(alice)).await,
            *fields,
            "{name}"
        );
    }
    // And from the other side.
    let others = [
        ("bob", relations(false, true, false, false, false, false)),
        ("carol", relations(true, false, false, false, false, false)),
        ("dave", relations(false, false, false, false, false, false)),
        ("erin", relations(false, false, false, false, true, false)),
        ("frank", relations(false, false, false, false, false, false)),
    ];
    for (i, (name, fields)) in others.iter().enumerate() {
        assert_eq!(
            app.relations_seen("alice", Some(&tokens[i + 1])).await,
            *fields,
            "alice seen by {name}"
        );
    }
}

both_databases!(
    relation_fields_are_null_for_anonymous_readers,
    relation_fields_are_null_on_your_own_account_everywhere,
    relation_fields_are_booleans_from_the_viewers_side,
);

// ---------------------------------------------------------------------------------------
// Mentions
// ---------------------------------------------------------------------------------------

/// The mentions of a new post with `content`, checked to be the same on `GET /posts/{id}`.
async fn mentions_of(app: &TestApp, token: &str, content: &str) -> Vec<String> {
    let post = app.create_post(token, content).await;
    let fetched = app.get_ok(&post_path(&id_of(&post)), Some(token)).await;
    assert_eq!(fetched["mentions"], post["mentions"], "{content}");
    mention_names(&post)
}

async fn mentions_are_user_summaries_in_order_of_first_appearance(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let bob = json_ok(
        app.send_json(
            Method::PATCH,
            ME,
            Some(&tokens[1]),
            &json!({"display_name": "Bob B."}),
        )
        .await,
        "PATCH /me",
    )
    .await;
    let post = app
        .create_post(&tokens[0], "@carol hi @bob and @carol again, @alice")
        .await;
    assert_eq!(mention_names(&post), ["carol", "bob", "alice"]);
    assert_eq!(
        post["mentions"][1],
        json!({
            "id": bob["id"],
            "username": "bob",
            "display_name": "Bob B.",
            "avatar_url": null,
        }),
        "a UserSummary"
    );
    assert_eq!(
        app.get_ok(&post_path(&id_of(&post)), None).await["mentions"],
        post["mentions"]
    );
    let listed = app.list_items(POSTS, None).await;
    assert_eq!(listed[0]["mentions"], post["mentions"], "the same in lists");
    assert_eq!(
        mentions_of(&app, &tokens[0], "no mentions here").await,
        Vec::<String>::new()
    );
}

async fn mentions_are_case_insensitive(app: TestApp) {
    let alice = app.user("alice").await;
    app.users(&["bob", "carol_9"]).await;
    assert_eq!(
        mentions_of(&app, &alice, "@BOB and @Carol_9 and @bOb").await,
        ["bob", "carol_9"]
    );
}

async fn only_existing_accounts_are_mentioned(app: TestApp) {
    let alice = app.user("alice").await;
    app.user("bob").await;
    assert_eq!(
        mentions_of(&app, &alice, "@nobody @bob @ghost_9").await,
        ["bob"]
    );
    assert!(mentions_of(&app, &alice, "@nobody at all").await.is_empty());
}

async fn a_mention_starts_the_text_or_follows_a_non_word_non_at_character(app: TestApp) {
    let alice = app.user("alice").await;
    app.users(&["bob", "carol"]).await;
    let cases: &[(&str, &[&str])] = &[
        ("@bob", &["bob"]),
        ("hi @bob", &["bob"]),
        ("(@bob)", &["bob"]),
        ("-@bob", &["bob"]),
        ("line\n@bob", &["bob"]),
        ("#@bob", &["bob"]),
        ("mail@bob.example", &[]),
        ("a@bob", &[]),
        ("_@bob", &[]),
        ("9@bob", &[]),
        ("é@bob", &[]),
        ("日@bob", &[]),
        ("@@bob", &[]),
        ("x @@bob", &[]),
        ("@bob@carol", &["bob"]),
    ];
    for (content, expected) in cases {
        assert_eq!(
            mentions_of(&app, &alice, content).await,
            strings(expected),
            "{content:?}"
        );
    }
}

async fn a_mention_is_a_whole_username_of_3_to_30_characters(app: TestApp) {
    let alice = app.user("alice").await;
    let thirty = "abcdefghijklmnopqrstuvwxyz_123";
    assert_eq!(thirty.len(), 30);
    app.users(&["bob", "bobby", thirty]).await;
    let long = format!("@{thirty}");
    let too_long = format!("@{thirty}4");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("@bobby", vec!["bobby"]),
        ("@bob_", vec![]),
        ("@bob1", vec![]),
        ("@BOBx", vec![]),
        ("@bob's", vec!["bob"]),
        ("@bob.", vec!["bob"]),
        ("@bob!", vec!["bob"]),
        ("@bob-x", vec!["bob"]),
        ("@bo", vec![]),
        (long.as_str(), vec![thirty]),
        (too_long.as_str(), vec![]),
    ];
    for (content, expected) in cases {
        assert_eq!(
            mentions_of(&app, &alice, content).await,
            strings(&expected),
            "{content:?}"
        );
    }
}

async fn mentions_are_recomputed_when_a_post_is_edited(app: TestApp) {
    let alice = app.user("alice").await;
    app.users(&["bob", "carol"]).await;
    let post = id_of(&app.create_post(&alice, "hi @bob").await);
    let edit = async |content: &str| {
        let response = app
            .patch_post(&alice, &post, &json!({"content": content}))
            .await;
        let answer = json_ok(response, content).await;
        let fetched = app.get_ok(&post_path(&post), None).await;
        assert_eq!(fetched["mentions"], answer["mentions"], "{content}");
        mention_names(&answer)
    };
    assert_eq!(edit("@carol and @alice").await, ["carol", "alice"]);
    assert!(edit("nobody now").await.is_empty());
    assert_eq!(edit("@bob @carol @bob").await, ["bob", "carol"]);
    // Changing only the visibility keeps them.
    let patched = app.set_visibility(&alice, &post, "followers").await;
    assert_eq!(mention_names(&patched), ["bob", "carol"]);
}

async fn comments_carry_mentions_too(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let post = id_of(&app.create_post(&tokens[0], "a post").await);
    let comment = app
        .comment(&tokens[1], &post, "@carol hi @ALICE @carol x@bob")
        .await;
    assert_eq!(mention_names(&comment), ["carol", "alice"]);
    let id = id_of(&comment);
    assert_eq!(app.get_ok(&comment_path(&id), None).await, comment);
    let listed = app.list_items(&comments_path(&post), None).await;
    assert_eq!(listed[0]["mentions"], comment["mentions"]);
    assert_eq!(comment["mentions"][0]["username"], "carol");
    assert!(comment["mentions"][0]["id"].is_string());
    assert!(comment["mentions"][0].get("email").is_none());

    let response = app
        .send_json(
            Method::PATCH,
            &comment_path(&id),
            Some(&tokens[1]),
            &json!({"content": "now @bob only"}),
        )
        .await;
    let edited = json_ok(response, "edit the comment").await;
    assert_eq!(mention_names(&edited), ["bob"]);
    assert_eq!(
        mention_names(&app.get_ok(&comment_path(&id), None).await),
        ["bob"]
    );
}

both_databases!(
    mentions_are_user_summaries_in_order_of_first_appearance,
    mentions_are_case_insensitive,
    only_existing_accounts_are_mentioned,
    a_mention_starts_the_text_or_follows_a_non_word_non_at_character,
    a_mention_is_a_whole_username_of_3_to_30_characters,
    mentions_are_recomputed_when_a_post_is_edited,
    comments_carry_mentions_too,
);

// ---------------------------------------------------------------------------------------
// Scheduled posts
// ---------------------------------------------------------------------------------------

/// An RFC 3339 time `by` after the app's now.
fn in_the_future(app: &TestApp, by: Duration) -> String {
    (app.state.clock.now() + TimeDelta::from_std(by).unwrap())
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

async fn a_scheduled_post_keeps_its_visibility_when_published(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(bob, "alice").await;
    let sooner = in_the_future(&app, Duration::from_secs(3600));
    let later = in_the_future(&app, Duration::from_secs(3660));
    let friends = json_created(
        app.post_json(
            SCHEDULED,
            &json!({"content": "later, for friends", "publish_at": sooner, "visibility": "followers"}),
            Some(alice),
        )
        .await,
        "schedule for followers",
    )
    .await;
    assert_eq!(friends["visibility"], "followers");
    let everyone = json_created(
        app.post_json(
            SCHEDULED,
            &json!({"content": "later, for everyone", "publish_at": later}),
            Some(alice),
        )
        .await,
        "schedule",
    )
    .await;
    assert_eq!(everyone["visibility"], "public", "the default");
    let read = app
        .get_ok(&format!("{SCHEDULED}/{}", id_of(&friends)), Some(alice))
        .await;
    assert_eq!(read["visibility"], "followers");
    let listed = app.list_items(SCHEDULED, Some(alice)).await;
    let listed: Vec<&Value> = listed.iter().map(|s| &s["visibility"]).collect();
    assert_eq!(listed, [&json!("followers"), &json!("public")]);

    app.advance(Duration::from_secs(2 * 3600));
    app.publish_due().await;
    let posts = app.list_items(MY_POSTS, Some(alice)).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    let published = |content: &str| {
        posts
            .iter()
            .find(|post| post["content"] == content)
            .unwrap_or_else(|| panic!("{content} in {posts:?}"))
            .clone()
    };
    let friends = published("later, for friends");
    let everyone = published("later, for everyone");
    assert_eq!(friends["visibility"], "followers");
    assert_eq!(everyone["visibility"], "public");
    let path = post_path(&id_of(&friends));
    assert_eq!(
        app.get_ok(&path, Some(bob)).await["visibility"],
        "followers"
    );
    assert_problem(app.get(&path, Some(carol)).await, 404, "not_found").await;
    assert_problem(app.get(&path, None).await, 404, "not_found").await;
    assert_eq!(
        app.list_contents(POSTS, None).await,
        ["later, for everyone"]
    );
    assert_eq!(app.list_contents(FEED, Some(bob)).await.len(), 2);
}

async fn a_schedules_visibility_is_validated_and_can_be_edited(app: TestApp) {
    let tokens = app.users(&["alice", "carol"]).await;
    let (alice, carol) = (&tokens[0], &tokens[1]);
    let publish_at = in_the_future(&app, Duration::from_secs(3600));
    let body = json!({"content": "soon", "publish_at": publish_at, "visibility": "secret"});
    let response = app.post_json(SCHEDULED, &body, Some(alice)).await;
    assert_refused_field(response, "visibility", "create").await;
    assert!(app.list_items(SCHEDULED, Some(alice)).await.is_empty());

    let scheduled = json_created(
        app.post_json(
            SCHEDULED,
            &json!({"content": "soon", "publish_at": publish_at}),
            Some(alice),
        )
        .await,
        "schedule",
    )
    .await;
    let path = format!("{SCHEDULED}/{}", id_of(&scheduled));
    let response = app
        .send_json(
            Method::PATCH,
            &path,
            Some(alice),
            &json!({"visibility": "secret"}),
        )
        .await;
    assert_refused_field(response, "visibility", "edit").await;
    assert_eq!(app.get_ok(&path, Some(alice)).await["visibility"], "public");
    let edited = json_ok(
        app.send_json(
            Method::PATCH,
            &path,
            Some(alice),
            &json!({"visibility": "followers"}),
        )
        .await,
        "edit the visibility",
    )
    .await;
    assert_eq!(edited["visibility"], "followers");
    assert_eq!(edited["content"], "soon");

    app.advance(Duration::from_secs(2 * 3600));
    app.publish_due().await;
    let posts = app.list_items(MY_POSTS, Some(alice)).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["visibility"], "followers");
    let post = post_path(&id_of(&posts[0]));
    assert_problem(app.get(&post, Some(carol)).await, 404, "not_found").await;
}

both_databases!(
    a_scheduled_post_keeps_its_visibility_when_published,
    a_schedules_visibility_is_validated_and_can_be_edited,
);

// ---------------------------------------------------------------------------------------
// Counts stay global
// ---------------------------------------------------------------------------------------

async fn counts_stay_global_while_items_are_hidden(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    app.follow(bob, "alice").await;
    let public = id_of(&app.create_post(alice, "public #count").await);
    let friends = id_of(
        &app.create_post_as(alice, "friends #count", "followers")
            .await,
    );
    app.create_post(carol, "carol #count").await;
    for post in [&public, &friends] {
        app.like(bob, post).await;
        app.comment(bob, post, "bob was here").await;
    }
    app.like(dave, &public).await;
    app.comment(dave, &public, "dave was here").await;
    // Blocking takes none of dave's likes or comments away.
    app.block(alice, "dave").await;

    // The followers-only post counts for everyone, seen or not.
    for token in [None, Some(carol), Some(dave), Some(alice)] {
        let profile = app.profile("alice", token.map(String::as_str)).await;
        assert_eq!(profile["posts_count"], 2, "{profile}");
        assert_eq!(profile["followers_count"], 1, "{profile}");
    }
    assert_eq!(
        app.get_ok("/api/v1/tags/count", None).await["post_count"],
        3
    );
    assert_eq!(
        app.list_contents("/api/v1/tags/count/posts", None)
            .await
            .len(),
        2
    );

    // alice no longer sees dave's like and comment, but they are counted.
    let seen = app.get_ok(&post_path(&public), Some(alice)).await;
    assert_eq!(
        (&seen["like_count"], &seen["comment_count"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        app.list_usernames(&likers_path(&public), Some(alice)).await,
        ["bob"]
    );
    assert_eq!(
        app.list_contents(&comments_path(&public), Some(alice))
            .await,
        ["bob was here"]
    );
    let seen = app.get_ok(&post_path(&public), Some(carol)).await;
    assert_eq!(
        (&seen["like_count"], &seen["comment_count"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        contents(&app.get_ok(&comments_path(&public), Some(carol)).await),
        ["bob was here", "dave was here"]
    );
    let seen = app.get_ok(&post_path(&friends), Some(bob)).await;
    assert_eq!(
        (&seen["like_count"], &seen["comment_count"]),
        (&json!(1), &json!(1))
    );

    // A locked account's counts are public too.
    app.set_locked(alice, true).await;
    let profile = app.profile("alice", None).await;
    assert_eq!(
        (
            &profile["posts_count"],
            &profile["followers_count"],
            &profile["following_count"]
        ),
        (&json!(2), &json!(1), &json!(0))
    );
    assert_eq!(
        app.get_ok("/api/v1/tags/count", None).await["post_count"],
        3
    );
}

both_databases!(counts_stay_global_while_items_are_hidden);
