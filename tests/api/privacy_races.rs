//! The privacy rules under concurrent requests: a follow (or a follow request) racing a
//! block never survives it, accepting a request racing its cancellation, its rejection or
//! an unlock ends in one consistent outcome, and repeated or opposite blocks at once keep
//! the blocks, the follow graph and its counters exact.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::both_databases;
use crate::helpers::{TestApp, assert_all_204, assert_unique};
use crate::privacy_steps::{
    FOLLOW_REQUESTS, ME, MY_BLOCKS, MY_FOLLOWERS, MY_FOLLOWING, accept_path, block_path,
    followers_of, following_of, following_path, reject_path, relations,
};

/// One request of a race.
struct Call {
    method: Method,
    path: String,
    token: String,
    body: Option<Value>,
}

fn call(method: Method, path: String, token: &str) -> Call {
    Call {
        method,
        path,
        token: token.to_owned(),
        body: None,
    }
}

fn call_json(method: Method, path: &str, token: &str, body: Value) -> Call {
    Call {
        method,
        path: path.to_owned(),
        token: token.to_owned(),
        body: Some(body),
    }
}

/// Sends `calls` all at once; returns their statuses in the order of `calls`.
async fn race(app: &TestApp, calls: Vec<Call>) -> Vec<StatusCode> {
    let mut set = JoinSet::new();
    let count = calls.len();
    for (index, call) in calls.into_iter().enumerate() {
        let mut request = app
            .client
            .request(call.method, app.url(&call.path))
            .bearer_auth(call.token);
        if let Some(body) = call.body {
            request = request.json(&body);
        }
        set.spawn(async move { (index, request.send().await.unwrap().status()) });
    }
    let mut statuses = vec![None; count];
    while let Some(result) = set.join_next().await {
        let (index, status) = result.unwrap();
        statuses[index] = Some(status);
    }
    statuses.into_iter().map(Option::unwrap).collect()
}

/// A follow racing a block: 204 when it landed first (and was then removed), 403
/// `blocked` when the block was there first.
fn assert_follow_status(status: StatusCode, what: &str) {
    assert!(
        matches!(status.as_u16(), 204 | 403),
        "{what}: a follow racing a block got {status}"
    );
}

/// Neither account follows the other, and their counters say so.
async fn assert_no_follow_between(app: &TestApp, a: &str, b: &str, what: &str) {
    for (name, other) in [(a, b), (b, a)] {
        let followers = app.list_usernames(&followers_of(name), None).await;
        let following = app.list_usernames(&following_of(name), None).await;
        assert!(
            !followers.iter().any(|user| user == other),
            "{what}: {other} still follows {name}"
        );
        assert!(
            !following.iter().any(|user| user == other),
            "{what}: {name} still follows {other}"
        );
        assert_eq!(
            app.follow_counts(name).await,
            (followers.len() as i64, following.len() as i64),
            "{what}: {name}'s counters vs lists"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Follows and requests racing blocks
// ---------------------------------------------------------------------------------------

async fn a_follow_racing_a_block_never_leaves_a_follow_behind(app: TestApp) {
    let names = ["alice", "bob"];
    let tokens = app.users(&names).await;
    for round in 0..12 {
        // Either side blocks; the follow racing it goes either way.
        let (blocker, blocked) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
        let (follower, followee) = if round % 4 < 2 {
            (blocked, blocker)
        } else {
            (blocker, blocked)
        };
        // In some rounds the opposite follow is there already, for the block to remove.
        if round % 3 == 0 {
            app.follow(&tokens[followee], names[follower]).await;
        }
        let follow = || {
            call(
                Method::PUT,
                following_path(names[followee]),
                &tokens[follower],
            )
        };
        let statuses = race(
            &app,
            vec![
                follow(),
                call(Method::PUT, block_path(names[blocked]), &tokens[blocker]),
                follow(),
            ],
        )
        .await;
        let what = format!("round {round}");
        assert_eq!(statuses[1], StatusCode::NO_CONTENT, "{what}: the block");
        assert_follow_status(statuses[0], &what);
        assert_follow_status(statuses[2], &what);

        assert_no_follow_between(&app, "alice", "bob", &what).await;
        assert_eq!(app.follow_counts("alice").await, (0, 0), "{what}");
        assert_eq!(app.follow_counts("bob").await, (0, 0), "{what}");
        assert_eq!(
            app.list_usernames(MY_BLOCKS, Some(&tokens[blocker])).await,
            [names[blocked]],
            "{what}"
        );
        let response = app.put_following(&tokens[follower], names[followee]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        app.unblock(&tokens[blocker], names[blocked]).await;
    }
}

async fn a_follow_request_racing_a_block_never_leaves_a_request_behind(app: TestApp) {
    let names = ["alice", "bob"];
    let tokens = app.users(&names).await;
    app.set_locked(&tokens[0], true).await;
    app.set_locked(&tokens[1], true).await;
    for round in 0..12 {
        let (blocker, blocked) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
        let (asker, asked) = if round % 4 < 2 {
            (blocked, blocker)
        } else {
            (blocker, blocked)
        };
        let statuses = race(
            &app,
            vec![
                call(Method::PUT, following_path(names[asked]), &tokens[asker]),
                call(Method::PUT, block_path(names[blocked]), &tokens[blocker]),
            ],
        )
        .await;
        let what = format!("round {round}");
        assert_eq!(statuses[1], StatusCode::NO_CONTENT, "{what}: the block");
        assert!(
            matches!(statuses[0].as_u16(), 202 | 403),
            "{what}: a request racing a block got {}",
            statuses[0]
        );
        for token in &tokens {
            assert!(
                app.list_usernames(FOLLOW_REQUESTS, Some(token))
                    .await
                    .is_empty(),
                "{what}: a request survived the block"
            );
        }
        assert_eq!(
            app.profile(names[asked], Some(&tokens[asker])).await["requested"],
            false,
            "{what}"
        );
        assert_eq!(app.follow_counts("alice").await, (0, 0), "{what}");
        assert_eq!(app.follow_counts("bob").await, (0, 0), "{what}");
        app.unblock(&tokens[blocker], names[blocked]).await;
    }
}

both_databases!(
    a_follow_racing_a_block_never_leaves_a_follow_behind,
    a_follow_request_racing_a_block_never_leaves_a_request_behind,
);

// ---------------------------------------------------------------------------------------
// Requests racing their outcomes
// ---------------------------------------------------------------------------------------

/// After a race over bob's request to alice: no request is left, and either bob follows
/// alice with counters 1/1, or nothing links them with counters 0/0. Returns whether bob
/// follows.
async fn assert_one_outcome(app: &TestApp, alice: &str, bob: &str, what: &str) -> bool {
    assert!(
        app.list_usernames(FOLLOW_REQUESTS, Some(alice))
            .await
            .is_empty(),
        "{what}: a dangling request"
    );
    let seen_by_bob = app.profile("alice", Some(bob)).await;
    assert_eq!(seen_by_bob["requested"], false, "{what}");
    let followers = app.list_usernames(MY_FOLLOWERS, Some(alice)).await;
    let following = app.list_usernames(MY_FOLLOWING, Some(bob)).await;
    let follows = !followers.is_empty();
    if follows {
        assert_eq!(followers, ["bob"], "{what}");
        assert_eq!(following, ["alice"], "{what}");
        assert_eq!(app.follow_counts("alice").await, (1, 0), "{what}");
        assert_eq!(app.follow_counts("bob").await, (0, 1), "{what}");
        assert_eq!(seen_by_bob["following"], true, "{what}");
    } else {
        assert!(following.is_empty(), "{what}: {following:?}");
        assert_eq!(app.follow_counts("alice").await, (0, 0), "{what}");
        assert_eq!(app.follow_counts("bob").await, (0, 0), "{what}");
        assert_eq!(seen_by_bob["following"], false, "{what}");
    }
    follows
}

async fn accepting_a_request_racing_its_cancellation_leaves_one_outcome(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    for round in 0..12 {
        app.request_follow(bob, "alice").await;
        let statuses = race(
            &app,
            vec![
                call(Method::POST, accept_path("bob"), alice),
                call(Method::DELETE, following_path("alice"), bob),
            ],
        )
        .await;
        let what = format!("round {round}");
        let (accept, cancel) = (statuses[0], statuses[1]);
        assert_eq!(cancel, StatusCode::NO_CONTENT, "{what}: the cancellation");
        assert!(
            matches!(accept.as_u16(), 204 | 404),
            "{what}: the acceptance got {accept}"
        );
        let follows = assert_one_outcome(&app, alice, bob, &what).await;
        if follows {
            assert_eq!(
                accept,
                StatusCode::NO_CONTENT,
                "{what}: followed, so accepted"
            );
            app.unfollow(bob, "alice").await;
        }
    }
}

async fn accepting_and_rejecting_a_request_at_once_leaves_one_outcome(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    for round in 0..12 {
        app.request_follow(bob, "alice").await;
        let statuses = race(
            &app,
            vec![
                call(Method::POST, accept_path("bob"), alice),
                call(Method::POST, reject_path("bob"), alice),
            ],
        )
        .await;
        let what = format!("round {round}");
        let mut codes: Vec<u16> = statuses.iter().map(StatusCode::as_u16).collect();
        codes.sort_unstable();
        assert_eq!(codes, [204, 404], "{what}: exactly one of them decides");
        let follows = assert_one_outcome(&app, alice, bob, &what).await;
        assert_eq!(
            follows,
            statuses[0] == StatusCode::NO_CONTENT,
            "{what}: a follow exactly when the acceptance won"
        );
        if follows {
            app.unfollow(bob, "alice").await;
        }
    }
}

async fn a_request_racing_an_unlock_ends_as_a_follow(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    for round in 0..12 {
        app.set_locked(alice, true).await;
        let statuses = race(
            &app,
            vec![
                call_json(Method::PATCH, ME, alice, json!({"locked": false})),
                call(Method::PUT, following_path("alice"), bob),
            ],
        )
        .await;
        let what = format!("round {round}");
        assert_eq!(statuses[0], StatusCode::OK, "{what}: the unlock");
        assert!(
            matches!(statuses[1].as_u16(), 202 | 204),
            "{what}: the follow got {}",
            statuses[1]
        );
        // Asked before the unlock, the request was accepted by it; after, the follow held.
        assert!(
            assert_one_outcome(&app, alice, bob, &what).await,
            "{what}: bob follows the unlocked account"
        );
        app.unfollow(bob, "alice").await;
    }
}

both_databases!(
    accepting_a_request_racing_its_cancellation_leaves_one_outcome,
    accepting_and_rejecting_a_request_at_once_leaves_one_outcome,
    a_request_racing_an_unlock_ends_as_a_follow,
);

// ---------------------------------------------------------------------------------------
// Blocks at once
// ---------------------------------------------------------------------------------------

async fn parallel_blocks_and_unblocks_are_idempotent_with_exact_counters(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(alice, "bob").await;
    app.follow(bob, "alice").await;
    app.follow(&tokens[2], "alice").await;

    let blocks = (0..20)
        .map(|_| call(Method::PUT, block_path("bob"), alice))
        .collect();
    assert_all_204(&race(&app, blocks).await);
    assert_eq!(app.list_usernames(MY_BLOCKS, Some(alice)).await, ["bob"]);
    assert_eq!(app.follow_counts("alice").await, (1, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));
    assert_eq!(app.follow_counts("carol").await, (0, 1));

    let unblocks = (0..20)
        .map(|_| call(Method::DELETE, block_path("bob"), alice))
        .collect();
    assert_all_204(&race(&app, unblocks).await);
    assert!(app.list_usernames(MY_BLOCKS, Some(alice)).await.is_empty());
    assert_eq!(app.follow_counts("alice").await, (1, 0));
    assert_eq!(app.follow_counts("bob").await, (0, 0));

    // Blocks and unblocks at once: whichever wins, the state is one of the two, whole.
    for round in 0..5 {
        let mixed = (0..10)
            .flat_map(|_| {
                [
                    call(Method::PUT, block_path("bob"), alice),
                    call(Method::DELETE, block_path("bob"), alice),
                ]
            })
            .collect();
        assert_all_204(&race(&app, mixed).await);
        let what = format!("round {round}");
        let listed = app.list_usernames(MY_BLOCKS, Some(alice)).await;
        let blocking = app.profile("bob", Some(alice)).await["blocking"].clone();
        assert_eq!(
            blocking,
            json!(!listed.is_empty()),
            "{what}: the flag agrees with the list {listed:?}"
        );
        let response = app.put_following(bob, "alice").await;
        let expected = if listed.is_empty() { 204 } else { 403 };
        assert_eq!(response.status().as_u16(), expected, "{what}");
        if listed.is_empty() {
            app.unfollow(bob, "alice").await;
        } else {
            app.unblock(alice, "bob").await;
        }
        assert_eq!(app.follow_counts("alice").await, (1, 0), "{what}");
    }
}

async fn two_accounts_blocking_each_other_at_once_both_hold(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(alice, "bob").await;
    app.follow(bob, "alice").await;
    app.follow(&tokens[2], "alice").await;
    app.follow(&tokens[2], "bob").await;
    let calls = (0..3)
        .flat_map(|_| {
            [
                call(Method::PUT, block_path("bob"), alice),
                call(Method::PUT, block_path("alice"), bob),
            ]
        })
        .collect();
    assert_all_204(&race(&app, calls).await);
    assert_eq!(app.list_usernames(MY_BLOCKS, Some(alice)).await, ["bob"]);
    assert_eq!(app.list_usernames(MY_BLOCKS, Some(bob)).await, ["alice"]);
    let both = relations(false, false, false, true, true, false);
    assert_eq!(app.relations_seen("bob", Some(alice)).await, both);
    assert_eq!(app.relations_seen("alice", Some(bob)).await, both);
    assert_eq!(app.follow_counts("alice").await, (1, 0));
    assert_eq!(app.follow_counts("bob").await, (1, 0));
    assert_eq!(app.follow_counts("carol").await, (0, 2));
}

/// Every rule a storm must leave standing: no follow across a block, followers and
/// following lists mirror each other without duplicates, and counters equal lists.
async fn assert_rules_hold(app: &TestApp, names: &[String], tokens: &[String]) {
    let mut blocks = Vec::new();
    let mut following = Vec::new();
    for (name, token) in names.iter().zip(tokens) {
        let blocked = app.list_usernames(MY_BLOCKS, Some(token)).await;
        assert_unique(&blocked);
        blocks.push(blocked.into_iter().collect::<BTreeSet<_>>());
        let follows = app.list_usernames(&following_of(name), None).await;
        let followers = app.list_usernames(&followers_of(name), None).await;
        assert_unique(&follows);
        assert_unique(&followers);
        assert_eq!(
            app.follow_counts(name).await,
            (followers.len() as i64, follows.len() as i64),
            "{name}: counters vs lists {followers:?} / {follows:?}"
        );
        following.push((follows.into_iter().collect::<BTreeSet<_>>(), followers));
    }
    for (i, name) in names.iter().enumerate() {
        for (j, other) in names.iter().enumerate() {
            if i == j {
                continue;
            }
            let follows = following[i].0.contains(other);
            assert_eq!(
                follows,
                following[j].1.contains(name),
                "{name} → {other}: following and followers lists agree"
            );
            if blocks[i].contains(other) {
                assert!(!follows, "{name} follows {other}, whom they block");
                assert!(
                    !following[j].0.contains(name),
                    "{other} follows {name}, who blocks them"
                );
            }
        }
    }
}

async fn a_storm_of_follows_and_blocks_never_breaks_the_rules(app: TestApp) {
    let names: Vec<String> = (0..5).map(|i| format!("st{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let tokens = app.users(&refs).await;
    for round in 0..4 {
        let mut calls = Vec::new();
        let mut follows = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            for (j, name) in names.iter().enumerate() {
                if i == j {
                    continue;
                }
                let (method, path) = match (3 * i + 5 * j + 7 * round) % 5 {
                    0 | 1 => (Method::PUT, following_path(name)),
                    2 => (Method::DELETE, following_path(name)),
                    3 => (Method::PUT, block_path(name)),
                    _ => (Method::DELETE, block_path(name)),
                };
                follows.push(method == Method::PUT && path.starts_with(MY_FOLLOWING));
                calls.push(call(method, path, token));
            }
        }
        let statuses = race(&app, calls).await;
        for (status, follow) in statuses.iter().zip(follows) {
            if follow {
                assert_follow_status(*status, &format!("round {round}"));
            } else {
                assert_eq!(*status, StatusCode::NO_CONTENT, "round {round}");
            }
        }
        assert_rules_hold(&app, &names, &tokens).await;
    }
}

both_databases!(
    parallel_blocks_and_unblocks_are_idempotent_with_exact_counters,
    two_accounts_blocking_each_other_at_once_both_hold,
    a_storm_of_follows_and_blocks_never_breaks_the_rules,
);

// ---------------------------------------------------------------------------------------
// Posts racing a lock
// ---------------------------------------------------------------------------------------

/// Posts written while their author locks the account are hidden from a logged-out reader
/// like every other post of the account, once the lock has answered; and unlocking shows
/// them all again.
async fn posts_written_while_the_account_locks_are_hidden_with_the_others(app: TestApp) {
    let alice = app.user("alice").await;
    for round in 0..4 {
        let mut tasks = JoinSet::new();
        for n in 0..6 {
            let (client, url, token) = (
                app.client.clone(),
                app.url(crate::helpers::POSTS),
                alice.clone(),
            );
            tasks.spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"content": format!("round {round} post {n}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
        }
        app.set_locked(&alice, true).await;
        while let Some(status) = tasks.join_next().await {
            assert_eq!(status.unwrap(), StatusCode::CREATED);
        }
        let anonymous = app.get_ok("/api/v1/posts?limit=100", None).await;
        assert_eq!(
            anonymous["items"].as_array().unwrap().len(),
            0,
            "round {round}: a locked account's posts are hidden: {anonymous}"
        );
        app.set_locked(&alice, false).await;
        let anonymous = app.get_ok("/api/v1/posts?limit=100", None).await;
        assert_eq!(
            anonymous["items"].as_array().unwrap().len(),
            6 * (round + 1),
            "round {round}: unlocked, every post is public again"
        );
    }
}

both_databases!(posts_written_while_the_account_locks_are_hidden_with_the_others);
