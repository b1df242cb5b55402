//! Notifications: every rule of the contract's "Notifications" section.
//!
//! - each of the seven types, to whom it goes and what its `account`, `post` and `comment`
//!   are; nobody is notified of their own action (`published` names its author);
//! - undoing an action takes its notification away (unlike, unfollow, a cancelled or
//!   answered request, a deleted post, comment or account), and edits move mentions;
//! - blocks (either way) and mutes prevent new notifications and hide existing ones while
//!   they last; a post the recipient cannot see (followers-only, narrowed, locked author)
//!   notifies nobody and hides what it notified;
//! - the list (`types`, `unread`, pages newest first with `Link`, bad queries), the unread
//!   count, marking read, dismissing, the 401s, and the statements a page costs.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{
    TestApp, UNKNOWN_ID, UNKNOWN_TOKEN, assert_problem, id_of, json_created, json_ok, timestamp,
    with_param,
};
use crate::privacy_steps::{
    ME, assert_empty_204, comment_path, following_path, like_path, mention_names, user_path,
};

const NOTIFICATIONS: &str = "/api/v1/me/notifications";
const UNREAD_COUNT: &str = "/api/v1/me/notifications/unread-count";
const MARK_READ: &str = "/api/v1/me/notifications/read";
const SCHEDULED: &str = "/api/v1/scheduled-posts";

/// The fields of a Notification, sorted.
const NOTIFICATION_FIELDS: [&str; 7] = [
    "account",
    "comment",
    "created_at",
    "id",
    "post",
    "read",
    "type",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn notification_path(id: &str) -> String {
    format!("{NOTIFICATIONS}/{id}")
}

/// The notifications of `token` with `query` (e.g. `types=like`; may be empty), first page
/// of up to 100, newest first.
async fn notifications_where(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let path = with_param(&with_param(NOTIFICATIONS, "limit=100"), query);
    let page = app.get_ok(&path, Some(token)).await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list page: {page}"))
        .clone()
}

/// The notifications of `token` (first page of up to 100), newest first.
async fn notifications(app: &TestApp, token: &str) -> Vec<Value> {
    notifications_where(app, token, "").await
}

/// `type:actor` of one notification, e.g. `like:bob`.
fn label(notification: &Value) -> String {
    let kind = notification["type"]
        .as_str()
        .unwrap_or_else(|| panic!("a type: {notification}"));
    let actor = notification["account"]["username"]
        .as_str()
        .unwrap_or_else(|| panic!("an account: {notification}"));
    format!("{kind}:{actor}")
}

/// The `type:actor` labels of a list page, in order (a reader for [`TestApp::walk`]).
fn labels_of_page(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list page: {page}"))
        .iter()
        .map(label)
        .collect()
}

/// The `type:actor` labels of `token`'s notifications with `query`, newest first.
async fn labels_where(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    notifications_where(app, token, query)
        .await
        .iter()
        .map(label)
        .collect()
}

/// The `type:actor` labels of `token`'s notifications, newest first.
async fn labels(app: &TestApp, token: &str) -> Vec<String> {
    labels_where(app, token, "").await
}

/// The labels, sorted: for notifications written by one request, whose order between them
/// is not the point.
async fn sorted_labels(app: &TestApp, token: &str) -> Vec<String> {
    let mut found = labels(app, token).await;
    found.sort();
    found
}

/// The ids of `token`'s notifications, newest first.
async fn notification_ids(app: &TestApp, token: &str) -> Vec<String> {
    notifications(app, token).await.iter().map(id_of).collect()
}

/// The only notification of `token`, which must have exactly one.
async fn only_notification(app: &TestApp, token: &str) -> Value {
    let mut found = notifications(app, token).await;
    assert_eq!(found.len(), 1, "exactly one notification: {found:?}");
    found.remove(0)
}

/// `GET /me/notifications/unread-count`, which must answer 200 `{count}`.
async fn unread_count(app: &TestApp, token: &str) -> i64 {
    let body = app.get_ok(UNREAD_COUNT, Some(token)).await;
    body["count"]
        .as_i64()
        .unwrap_or_else(|| panic!("a count: {body}"))
}

/// `POST /me/notifications/read` with `body` as JSON, or with no body at all.
async fn send_mark_read(app: &TestApp, token: &str, body: Option<&Value>) -> Response {
    let request = app.request(Method::POST, MARK_READ, Some(token));
    let request = match body {
        Some(body) => request.json(body),
        None => request,
    };
    request.send().await.expect("request sent")
}

/// `POST /me/notifications/read`, which must answer an empty 204.
async fn mark_read(app: &TestApp, token: &str, body: Option<&Value>) {
    let response = send_mark_read(app, token, body).await;
    assert_empty_204(response, &format!("mark read {body:?}")).await;
}

/// `DELETE /me/notifications/{id}`.
async fn dismiss(app: &TestApp, token: &str, id: &str) -> Response {
    app.request(Method::DELETE, &notification_path(id), Some(token))
        .send()
        .await
        .expect("request sent")
}

/// The `read` flags of `token`'s notifications, newest first.
async fn read_flags(app: &TestApp, token: &str) -> Vec<bool> {
    notifications(app, token)
        .await
        .iter()
        .map(|n| n["read"].as_bool().unwrap_or_else(|| panic!("read: {n}")))
        .collect()
}

/// The UserSummary that a notification's `account` must be for `username`.
async fn summary_of(app: &TestApp, username: &str) -> Value {
    let user = app.get_ok(&user_path(username), None).await;
    json!({
        "id": user["id"],
        "username": user["username"],
        "display_name": user["display_name"],
        "avatar_url": user["avatar_url"],
    })
}

/// Asserts `notification` has exactly the fields of a Notification, is unread, and is of
/// `kind` by `actor` (its `account` a UserSummary of them).
async fn assert_notification(app: &TestApp, notification: &Value, kind: &str, actor: &str) {
    let mut fields: Vec<&str> = notification
        .as_object()
        .unwrap_or_else(|| panic!("an object: {notification}"))
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, NOTIFICATION_FIELDS, "{notification}");
    assert!(notification["id"].is_string(), "{notification}");
    timestamp(&notification["created_at"]);
    assert_eq!(notification["type"], kind, "{notification}");
    assert_eq!(notification["read"], false, "{notification}");
    assert_eq!(
        notification["account"],
        summary_of(app, actor).await,
        "{notification}"
    );
}

/// `PATCH /posts/{id} {"content": content}`, which must answer 200; returns the post.
async fn edit_post(app: &TestApp, token: &str, id: &str, content: &str) -> Value {
    let body = json!({"content": content});
    json_ok(
        app.patch_post(token, id, &body).await,
        &format!("PATCH {id}"),
    )
    .await
}

/// `PATCH /comments/{id} {"content": content}`, which must answer 200; returns the comment.
async fn edit_comment(app: &TestApp, token: &str, id: &str, content: &str) -> Value {
    let body = json!({"content": content});
    let response = app
        .send_json(Method::PATCH, &comment_path(id), Some(token), &body)
        .await;
    json_ok(response, &format!("PATCH comment {id}")).await
}

/// `DELETE /comments/{id}`, which must answer an empty 204.
async fn delete_comment(app: &TestApp, token: &str, id: &str) {
    let response = app
        .send(Method::DELETE, &comment_path(id), Some(token))
        .await;
    assert_empty_204(response, &format!("delete comment {id}")).await;
}

/// `DELETE /me/following/{username}` to a locked account: cancels the pending request.
async fn cancel_request(app: &TestApp, token: &str, username: &str) {
    app.unfollow(token, username).await;
}

/// Schedules `content` for an hour from the app's now; must answer 201.
async fn schedule_in_an_hour(app: &TestApp, token: &str, content: &str) -> Value {
    let publish_at =
        (app.state.clock.now() + TimeDelta::hours(1)).to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let body = json!({"content": content, "publish_at": publish_at});
    json_created(
        app.post_json(SCHEDULED, &body, Some(token)).await,
        "schedule",
    )
    .await
}

/// Statements the server executes while answering `GET path`, with the body.
async fn statements_for(app: &TestApp, path: &str, token: &str) -> (u64, Value) {
    let before = app.state.sql_statements.load(Ordering::SeqCst);
    let response = app.get(path, Some(token)).await;
    let after = app.state.sql_statements.load(Ordering::SeqCst);
    let body = json_ok(response, path).await;
    (after - before, body)
}

// ---------------------------------------------------------------------------------------
// The seven types
// ---------------------------------------------------------------------------------------

/// `follow` goes to the followed, from the follower, about no post or comment; the follower
/// is told nothing.
async fn a_follow_notifies_the_followed_with_the_follower_as_account(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(bob, "alice").await;
    // Following again changes nothing.
    app.follow(bob, "alice").await;

    let notification = only_notification(&app, alice).await;
    assert_notification(&app, &notification, "follow", "bob").await;
    assert_eq!(notification["post"], Value::Null);
    assert_eq!(notification["comment"], Value::Null);
    assert!(notifications(&app, bob).await.is_empty());
}

/// `follow_request` goes to the locked account, from the asker, once however often they
/// ask.
async fn a_follow_request_notifies_the_locked_account(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.request_follow(bob, "alice").await;
    app.request_follow(bob, "alice").await;

    let notification = only_notification(&app, alice).await;
    assert_notification(&app, &notification, "follow_request", "bob").await;
    assert_eq!(notification["post"], Value::Null);
    assert_eq!(notification["comment"], Value::Null);
    assert!(notifications(&app, bob).await.is_empty());
}

/// Accepting a request takes its `follow_request` away, gives the account a `follow` and
/// the asker a `follow_accepted` from the account.
async fn accepting_a_request_notifies_follow_and_follow_accepted(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.request_follow(bob, "alice").await;
    app.accept_request(alice, "bob").await;

    let follow = only_notification(&app, alice).await;
    assert_notification(&app, &follow, "follow", "bob").await;
    let accepted = only_notification(&app, bob).await;
    assert_notification(&app, &accepted, "follow_accepted", "alice").await;
    assert_eq!(accepted["post"], Value::Null);
    assert_eq!(accepted["comment"], Value::Null);
}

/// A rejected or a cancelled request takes its `follow_request` away and tells the asker
/// nothing.
async fn rejecting_or_cancelling_a_request_removes_its_notification(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.set_locked(alice, true).await;
    app.request_follow(bob, "alice").await;
    app.request_follow(carol, "alice").await;
    assert_eq!(
        labels(&app, alice).await,
        ["follow_request:carol", "follow_request:bob"]
    );

    app.reject_request(alice, "bob").await;
    assert_eq!(labels(&app, alice).await, ["follow_request:carol"]);
    cancel_request(&app, carol, "alice").await;
    assert!(labels(&app, alice).await.is_empty());
    assert_eq!(unread_count(&app, alice).await, 0);
    assert!(notifications(&app, bob).await.is_empty());
    assert!(notifications(&app, carol).await.is_empty());
}

/// Unlocking accepts every pending request: each asker gets `follow_accepted`, the account
/// a `follow` from each instead of their `follow_request`.
async fn unlocking_notifies_every_pending_asker(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let alice = &tokens[0];
    app.set_locked(alice, true).await;
    for token in &tokens[1..] {
        app.request_follow(token, "alice").await;
    }
    assert_eq!(
        labels(&app, alice).await,
        [
            "follow_request:dave",
            "follow_request:carol",
            "follow_request:bob"
        ]
    );

    app.set_locked(alice, false).await;
    assert_eq!(
        sorted_labels(&app, alice).await,
        ["follow:bob", "follow:carol", "follow:dave"]
    );
    for token in &tokens[1..] {
        let accepted = only_notification(&app, token).await;
        assert_notification(&app, &accepted, "follow_accepted", "alice").await;
    }
    assert_eq!(unread_count(&app, alice).await, 3);
}

/// `like` goes to the post's author, from the liker, with the post.
async fn a_like_notifies_the_author_with_the_post(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    let post = app.create_post(alice, "likeable").await;
    app.like(bob, &id_of(&post)).await;

    let like = only_notification(&app, alice).await;
    assert_notification(&app, &like, "like", "bob").await;
    assert_eq!(like["post"]["id"], post["id"]);
    assert_eq!(like["post"]["content"], "likeable");
    assert_eq!(like["comment"], Value::Null);
    assert!(notifications(&app, bob).await.is_empty());
}

/// `comment` goes to the post's author, from the commenter, with the post and the comment.
async fn a_comment_notifies_the_author_with_the_post_and_the_comment(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    let post = app.create_post(alice, "say something").await;
    let comment = app.comment(bob, &id_of(&post), "something").await;

    let notification = only_notification(&app, alice).await;
    assert_notification(&app, &notification, "comment", "bob").await;
    assert_eq!(notification["post"]["id"], post["id"]);
    assert_eq!(notification["comment"]["id"], comment["id"]);
    assert_eq!(notification["comment"]["content"], "something");
    assert_eq!(notification["comment"]["post_id"], post["id"]);
    assert!(notifications(&app, bob).await.is_empty());
}

/// `mention` in a post goes to each account mentioned, from the author, with the post and
/// no comment.
async fn a_mention_in_a_post_notifies_each_mentioned_account(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let post = app
        .create_post(&tokens[0], "hello @bob and @Carol and @bob")
        .await;
    for token in &tokens[1..] {
        let mention = only_notification(&app, token).await;
        assert_notification(&app, &mention, "mention", "alice").await;
        assert_eq!(mention["post"]["id"], post["id"]);
        assert_eq!(mention["comment"], Value::Null);
    }
    assert!(notifications(&app, &tokens[0]).await.is_empty());
}

/// `mention` in a comment carries the post commented on and the comment; the post's
/// author, mentioned too, gets both a `comment` and a `mention`.
async fn a_mention_in_a_comment_carries_the_post_and_the_comment(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = app.create_post(alice, "a post").await;
    let comment = app.comment(bob, &id_of(&post), "@carol look, @alice").await;

    let mention = only_notification(&app, carol).await;
    assert_notification(&app, &mention, "mention", "bob").await;
    assert_eq!(mention["post"]["id"], post["id"]);
    assert_eq!(mention["comment"]["id"], comment["id"]);
    assert_eq!(
        sorted_labels(&app, alice).await,
        ["comment:bob", "mention:bob"]
    );
    for notification in notifications(&app, alice).await {
        assert_eq!(
            notification["comment"]["id"], comment["id"],
            "{notification}"
        );
        assert_eq!(notification["post"]["id"], post["id"], "{notification}");
    }
    assert!(notifications(&app, bob).await.is_empty());
}

/// `published` goes to the author of a scheduled post when it is published, naming them as
/// `account`, with the post; the accounts it mentions are notified then, not before.
async fn a_published_schedule_notifies_its_author_and_the_mentioned(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    schedule_in_an_hour(&app, alice, "out now, @bob").await;
    app.publish_due().await;
    assert!(notifications(&app, alice).await.is_empty());
    assert!(notifications(&app, bob).await.is_empty());

    app.advance(Duration::from_secs(61 * 60));
    app.publish_due().await;
    let published = only_notification(&app, alice).await;
    assert_notification(&app, &published, "published", "alice").await;
    assert_eq!(published["post"]["content"], "out now, @bob");
    assert_eq!(published["comment"], Value::Null);
    let mention = only_notification(&app, bob).await;
    assert_notification(&app, &mention, "mention", "alice").await;
    assert_eq!(mention["post"]["id"], published["post"]["id"]);
    assert_eq!(unread_count(&app, alice).await, 1);
}

/// Nobody is notified of their own like, comment or mention; a self-mention is still
/// listed in `mentions`.
async fn nobody_is_notified_of_their_own_actions(app: TestApp) {
    let alice = app.user("alice").await;
    let post = app.create_post(&alice, "note to self, @alice").await;
    assert_eq!(mention_names(&post), ["alice"]);
    app.like(&alice, &id_of(&post)).await;
    let comment = app.comment(&alice, &id_of(&post), "and again @alice").await;
    assert_eq!(mention_names(&comment), ["alice"]);
    let edited = edit_post(&app, &alice, &id_of(&post), "edited, @ALICE").await;
    assert_eq!(mention_names(&edited), ["alice"]);

    assert!(notifications(&app, &alice).await.is_empty());
    assert_eq!(unread_count(&app, &alice).await, 0);
}

// ---------------------------------------------------------------------------------------
// Undoing an action
// ---------------------------------------------------------------------------------------

/// Like, unlike, like leaves exactly one `like`; an unlike alone leaves none.
async fn like_unlike_like_leaves_one_notification(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    let post = id_of(&app.create_post(alice, "fickle").await);
    app.like(bob, &post).await;
    app.like(bob, &post).await;
    assert_eq!(labels(&app, alice).await, ["like:bob"]);
    app.unlike(bob, &post).await;
    assert!(labels(&app, alice).await.is_empty());
    assert_eq!(unread_count(&app, alice).await, 0);
    app.like(bob, &post).await;
    app.unlike(bob, &post).await;
    app.like(bob, &post).await;
    assert_eq!(labels(&app, alice).await, ["like:bob"]);
    assert_eq!(unread_count(&app, alice).await, 1);
}

/// The same like and follow, sent several times at once, answer 204 and write one
/// notification each, round after round (on PostgreSQL a like racing a follow between the
/// same two accounts must not lose a deadlock and answer 500).
async fn concurrent_likes_and_follows_write_one_notification_each(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    let follow = app.url(&following_path("alice"));
    for round in 0..15 {
        let post = id_of(&app.create_post(alice, &format!("race {round}")).await);
        app.unfollow(bob, "alice").await;
        let like = app.url(&like_path(&post));
        let mut requests = Vec::new();
        for _ in 0..4 {
            requests.push((Method::PUT, like.clone(), bob.clone()));
            requests.push((Method::PUT, follow.clone(), bob.clone()));
        }
        let statuses = app.in_parallel(requests).await;
        assert!(
            statuses
                .iter()
                .all(|status| *status == StatusCode::NO_CONTENT),
            "round {round}: every request is a 204: {statuses:?}"
        );
        let found = notifications(&app, alice).await;
        let about_post = found
            .iter()
            .filter(|n| n["type"] == "like" && n["post"]["id"] == post.as_str())
            .count();
        assert_eq!(about_post, 1, "round {round}: one like notification");
        assert_eq!(
            labels_where(&app, alice, "types=follow").await,
            ["follow:bob"],
            "round {round}"
        );
    }
}

/// An unfollow, or the followed removing the follower, takes the `follow` away; a new
/// follow notifies again, once.
async fn unfollowing_or_removing_a_follower_removes_the_follow_notification(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(bob, "alice").await;
    app.unfollow(bob, "alice").await;
    assert!(labels(&app, alice).await.is_empty());

    app.follow(bob, "alice").await;
    assert_eq!(labels(&app, alice).await, ["follow:bob"]);
    app.remove_follower(alice, "bob").await;
    assert!(labels(&app, alice).await.is_empty());
    assert_eq!(unread_count(&app, alice).await, 0);
}

/// Deleting a post takes away the notifications about it: its likes, its comments, the
/// mentions in it and in its comments.
async fn deleting_a_post_removes_its_notifications(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let doomed = id_of(&app.create_post(alice, "doomed @carol").await);
    let kept = id_of(&app.create_post(alice, "kept").await);
    app.like(bob, &doomed).await;
    app.comment(bob, &doomed, "hi @carol").await;
    app.like(bob, &kept).await;
    assert_eq!(
        labels(&app, alice).await,
        ["like:bob", "comment:bob", "like:bob"]
    );
    assert_eq!(labels(&app, carol).await, ["mention:bob", "mention:alice"]);

    app.delete_post(alice, &doomed).await;
    let left = only_notification(&app, alice).await;
    assert_eq!(label(&left), "like:bob");
    assert_eq!(left["post"]["id"], kept);
    assert!(labels(&app, carol).await.is_empty());
    assert_eq!(unread_count(&app, carol).await, 0);
}

/// Deleting a comment takes away its `comment` and the mentions in it.
async fn deleting_a_comment_removes_its_notifications(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(alice, "comment on this").await);
    let doomed = id_of(&app.comment(bob, &post, "first, @carol").await);
    let kept = id_of(&app.comment(bob, &post, "second").await);
    assert_eq!(labels(&app, alice).await, ["comment:bob", "comment:bob"]);

    delete_comment(&app, bob, &doomed).await;
    let left = only_notification(&app, alice).await;
    assert_eq!(left["comment"]["id"], kept);
    assert!(labels(&app, carol).await.is_empty());
    assert_eq!(unread_count(&app, carol).await, 0);
}

/// Deleting an account takes away every notification it caused: follows, likes,
/// comments, mentions.
async fn deleting_the_actors_account_removes_their_notifications(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(alice, "popular").await);
    app.follow(bob, "alice").await;
    app.like(bob, &post).await;
    app.comment(bob, &post, "nice").await;
    app.create_post(bob, "hey @alice").await;
    app.like(carol, &post).await;
    assert_eq!(
        labels(&app, alice).await,
        [
            "like:carol",
            "mention:bob",
            "comment:bob",
            "like:bob",
            "follow:bob"
        ]
    );

    app.delete_account(bob).await;
    assert_eq!(labels(&app, alice).await, ["like:carol"]);
    assert_eq!(unread_count(&app, alice).await, 1);
}

/// Editing a post notifies the accounts newly mentioned, takes the mention away from those
/// no longer mentioned, and leaves the others' as they were.
async fn editing_a_post_moves_its_mention_notifications(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(alice, "hi @bob").await);
    assert_eq!(labels(&app, bob).await, ["mention:alice"]);

    edit_post(&app, alice, &post, "hi @carol").await;
    assert!(labels(&app, bob).await.is_empty());
    let carols = only_notification(&app, carol).await;
    assert_notification(&app, &carols, "mention", "alice").await;
    assert_eq!(carols["post"]["content"], "hi @carol");
    mark_read(&app, carol, None).await;

    edit_post(&app, alice, &post, "hi @carol and @bob").await;
    assert_eq!(labels(&app, bob).await, ["mention:alice"]);
    // Carol was mentioned already: her notification is the same one, still read.
    let still = only_notification(&app, carol).await;
    assert_eq!(still["id"], carols["id"]);
    assert_eq!(still["read"], true);
    assert_eq!(still["post"]["content"], "hi @carol and @bob");

    // A mention in a comment on the post is the comment's, not the post's.
    app.comment(bob, &post, "@carol, see?").await;
    edit_post(&app, alice, &post, "nobody now").await;
    assert!(labels(&app, bob).await.is_empty());
    let left = only_notification(&app, carol).await;
    assert_eq!(label(&left), "mention:bob");
    assert_eq!(left["comment"]["content"], "@carol, see?");
}

/// Editing a comment notifies the accounts newly mentioned and takes the mention away from
/// those no longer mentioned; the post's author keeps their one `comment`.
async fn editing_a_comment_moves_its_mention_notifications(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    let post = id_of(&app.create_post(alice, "a post").await);
    let comment = id_of(&app.comment(bob, &post, "cc @carol").await);
    assert_eq!(labels(&app, carol).await, ["mention:bob"]);

    edit_comment(&app, bob, &comment, "cc @dave").await;
    assert!(labels(&app, carol).await.is_empty());
    let mention = only_notification(&app, dave).await;
    assert_notification(&app, &mention, "mention", "bob").await;
    assert_eq!(mention["comment"]["id"], comment);
    assert_eq!(mention["comment"]["content"], "cc @dave");
    assert_eq!(labels(&app, alice).await, ["comment:bob"]);
}

// ---------------------------------------------------------------------------------------
// Blocks and mutes
// ---------------------------------------------------------------------------------------

/// Bob likes and comments on alice's post, and carol mentions alice in a comment on bob's
/// post; returns alice's post.
async fn bob_and_carol_notify_alice(app: &TestApp, tokens: &[String]) -> String {
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(alice, "alice's post").await);
    app.like(bob, &post).await;
    app.comment(bob, &post, "bob was here").await;
    let bobs = id_of(&app.create_post(bob, "bob's post").await);
    app.comment(carol, &bobs, "what do you think, @alice?")
        .await;
    app.like(carol, &post).await;
    post
}

/// While either of two accounts blocks the other, the notifications that one caused the
/// other, and those about the other's posts, are hidden from the list and the count;
/// they come back on unblock.
async fn a_block_either_way_hides_existing_notifications_until_lifted(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    bob_and_carol_notify_alice(&app, &tokens).await;
    let everything = ["like:carol", "mention:carol", "comment:bob", "like:bob"];
    assert_eq!(labels(&app, alice).await, everything);
    assert_eq!(unread_count(&app, alice).await, 4);

    // Carol's mention is about bob's post, which alice cannot see across the block.
    app.block(alice, "bob").await;
    assert_eq!(labels(&app, alice).await, ["like:carol"]);
    assert_eq!(unread_count(&app, alice).await, 1);
    app.unblock(alice, "bob").await;
    assert_eq!(labels(&app, alice).await, everything);
    assert_eq!(unread_count(&app, alice).await, 4);

    app.block(bob, "alice").await;
    assert_eq!(labels(&app, alice).await, ["like:carol"]);
    assert_eq!(unread_count(&app, alice).await, 1);
    app.unblock(bob, "alice").await;
    assert_eq!(labels(&app, alice).await, everything);
    assert_eq!(unread_count(&app, alice).await, 4);
}

/// While either of two accounts blocks the other, neither's actions notify the other:
/// nothing shows after the block is lifted either.
async fn a_block_either_way_prevents_new_notifications(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let carols = id_of(&app.create_post(carol, "carol's post").await);
    for (blocker, blocker_name, blocked, blocked_name) in
        [(alice, "alice", bob, "bob"), (bob, "bob", alice, "alice")]
    {
        app.block(blocker, blocked_name).await;
        // Each mentions the other, in a post and in a comment on carol's post.
        app.create_post(alice, &format!("hey @bob ({blocker_name} blocks)"))
            .await;
        app.create_post(bob, &format!("hey @alice ({blocker_name} blocks)"))
            .await;
        app.comment(alice, &carols, "@bob?").await;
        app.comment(bob, &carols, "@alice?").await;
        let response = app.put_following(blocked, blocker_name).await;
        assert_problem(response, 403, "blocked").await;
        app.unblock(blocker, blocked_name).await;
    }
    assert!(labels(&app, alice).await.is_empty());
    assert!(labels(&app, bob).await.is_empty());
    assert_eq!(unread_count(&app, alice).await, 0);
    assert_eq!(unread_count(&app, bob).await, 0);
    // Carol was told of each comment.
    assert_eq!(labels_where(&app, carol, "types=comment").await.len(), 4);

    // Nor is anyone notified about a post across a block: carol mentions alice on bob's
    // post while alice blocks bob.
    let bobs = id_of(&app.create_post(bob, "bob's post").await);
    app.block(alice, "bob").await;
    app.comment(carol, &bobs, "@alice would like this").await;
    app.unblock(alice, "bob").await;
    assert!(labels(&app, alice).await.is_empty());
}

/// A mute hides the muted account's existing notifications from the muter while it lasts,
/// and their actions meanwhile notify the muter of nothing (not even after the unmute);
/// the muted account is still notified of the muter's actions.
async fn a_mute_hides_existing_notifications_and_prevents_new_ones(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let first = id_of(&app.create_post(alice, "first").await);
    let second = id_of(&app.create_post(alice, "second").await);
    app.like(bob, &first).await;
    app.like(carol, &first).await;
    assert_eq!(labels(&app, alice).await, ["like:carol", "like:bob"]);

    app.mute(alice, "bob").await;
    assert_eq!(labels(&app, alice).await, ["like:carol"]);
    assert_eq!(unread_count(&app, alice).await, 1);
    app.like(bob, &second).await;
    app.comment(bob, &first, "hello @alice").await;
    app.create_post(bob, "hey @alice").await;
    app.follow(bob, "alice").await;
    assert_eq!(labels(&app, alice).await, ["like:carol"]);

    // The muted account still hears from the muter.
    let bobs = id_of(&app.create_post(bob, "bob's").await);
    app.like(alice, &bobs).await;
    assert_eq!(labels(&app, bob).await, ["like:alice"]);

    app.unmute(alice, "bob").await;
    let back = notifications(&app, alice).await;
    assert_eq!(
        back.iter().map(label).collect::<Vec<_>>(),
        ["like:carol", "like:bob"]
    );
    assert_eq!(back[1]["post"]["id"], first);
    assert_eq!(unread_count(&app, alice).await, 2);
}

/// A follow request from a muted account notifies the muter of nothing; accepting it
/// still tells the asker.
async fn a_muted_askers_request_notifies_nobody(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.set_locked(alice, true).await;
    app.mute(alice, "bob").await;
    app.request_follow(bob, "alice").await;
    assert!(labels(&app, alice).await.is_empty());
    app.accept_request(alice, "bob").await;
    assert!(labels(&app, alice).await.is_empty());
    assert_eq!(labels(&app, bob).await, ["follow_accepted:alice"]);
    app.unmute(alice, "bob").await;
    assert!(labels(&app, alice).await.is_empty());
}

// ---------------------------------------------------------------------------------------
// Posts the recipient cannot see
// ---------------------------------------------------------------------------------------

/// A followers-only post (or a comment on one) mentioning a non-follower notifies them of
/// nothing; a follower it mentions is notified.
async fn a_followers_only_post_notifies_only_the_followers_it_mentions(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(bob, "alice").await;
    let post = app
        .create_post_as(alice, "for friends: @bob @carol", "followers")
        .await;
    assert_eq!(mention_names(&post), ["bob", "carol"]);
    let mention = only_notification(&app, bob).await;
    assert_notification(&app, &mention, "mention", "alice").await;
    assert_eq!(mention["post"]["id"], post["id"]);
    assert_eq!(mention["post"]["visibility"], "followers");

    app.comment(bob, &id_of(&post), "@carol you should see this")
        .await;
    assert!(labels(&app, carol).await.is_empty());
    assert_eq!(unread_count(&app, carol).await, 0);
    // Following later does not bring back what was never written.
    app.follow(carol, "alice").await;
    assert!(labels(&app, carol).await.is_empty());
}

/// Narrowing a post to followers hides its mentions (in the post and in its comments) from
/// the non-followers it notified, and their count; widening it again shows them.
async fn narrowing_a_posts_visibility_hides_its_notifications_from_non_followers(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol", "dave"]).await;
    let (alice, bob, carol, dave) = (&tokens[0], &tokens[1], &tokens[2], &tokens[3]);
    app.follow(carol, "alice").await;
    let post = id_of(&app.create_post(alice, "hi @bob and @carol").await);
    app.comment(dave, &post, "@bob look").await;
    assert_eq!(labels(&app, bob).await, ["mention:dave", "mention:alice"]);
    assert_eq!(labels(&app, carol).await, ["mention:alice"]);

    app.set_visibility(alice, &post, "followers").await;
    assert!(labels(&app, bob).await.is_empty());
    assert_eq!(unread_count(&app, bob).await, 0);
    assert_eq!(labels(&app, carol).await, ["mention:alice"]);
    // The author still sees what happened on their post.
    assert_eq!(labels(&app, alice).await, ["comment:dave", "follow:carol"]);

    app.set_visibility(alice, &post, "public").await;
    assert_eq!(labels(&app, bob).await, ["mention:dave", "mention:alice"]);
    assert_eq!(unread_count(&app, bob).await, 2);
}

/// Locking an account makes its posts followers-only: their mentions are hidden from
/// non-followers until it is unlocked.
async fn locking_the_author_hides_mentions_from_non_followers(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(carol, "alice").await;
    app.create_post(alice, "hi @bob and @carol").await;
    app.set_locked(alice, true).await;
    assert!(labels(&app, bob).await.is_empty());
    assert_eq!(unread_count(&app, bob).await, 0);
    assert_eq!(labels(&app, carol).await, ["mention:alice"]);
    // A post written while locked notifies the followers it mentions only.
    app.create_post(alice, "locked now, @bob and @carol").await;
    assert!(labels(&app, bob).await.is_empty());
    assert_eq!(
        labels(&app, carol).await,
        ["mention:alice", "mention:alice"]
    );
    app.set_locked(alice, false).await;
    assert_eq!(labels_where(&app, bob, "types=mention").await.len(), 1);
    let back = only_notification(&app, bob).await;
    assert_eq!(back["post"]["content"], "hi @bob and @carol");
}

/// Losing the follow (an unfollow, or being removed as a follower) hides the mentions in
/// the followers-only posts one can no longer see; following again shows them.
async fn losing_a_follow_hides_mentions_in_followers_only_posts(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(bob, "alice").await;
    app.create_post_as(alice, "friends only, @bob", "followers")
        .await;
    assert_eq!(labels(&app, bob).await, ["mention:alice"]);

    app.unfollow(bob, "alice").await;
    assert!(labels(&app, bob).await.is_empty());
    assert_eq!(unread_count(&app, bob).await, 0);
    app.follow(bob, "alice").await;
    assert_eq!(labels(&app, bob).await, ["mention:alice"]);
    app.remove_follower(alice, "bob").await;
    assert!(labels(&app, bob).await.is_empty());
    assert_eq!(unread_count(&app, bob).await, 0);
}

// ---------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------

/// Gives alice, in this order: a follow from bob, a like from carol, a comment from dave,
/// a mention from erin.
async fn one_of_each_kind_for_alice(app: &TestApp) -> Vec<String> {
    let tokens = app.users(&["alice", "bob", "carol", "dave", "erin"]).await;
    let post = id_of(&app.create_post(&tokens[0], "post").await);
    app.follow(&tokens[1], "alice").await;
    app.like(&tokens[2], &post).await;
    app.comment(&tokens[3], &post, "comment").await;
    app.create_post(&tokens[4], "hi @alice").await;
    tokens
}

/// `types` keeps the notifications of the types listed, one or several, in order.
async fn types_selects_one_or_several_types(app: TestApp) {
    let tokens = one_of_each_kind_for_alice(&app).await;
    let alice = &tokens[0];
    assert_eq!(
        labels(&app, alice).await,
        ["mention:erin", "comment:dave", "like:carol", "follow:bob"]
    );
    for (types, expected) in [
        ("like", vec!["like:carol"]),
        ("follow", vec!["follow:bob"]),
        ("like,comment", vec!["comment:dave", "like:carol"]),
        (
            "mention,follow,like",
            vec!["mention:erin", "like:carol", "follow:bob"],
        ),
        ("follow_request,follow_accepted,published", vec![]),
    ] {
        assert_eq!(
            labels_where(&app, alice, &format!("types={types}")).await,
            expected,
            "types={types}"
        );
    }
}

/// An unknown type, an empty `types`, or an empty name in it is a 400 `invalid_query`.
async fn types_refuses_unknown_or_empty_names(app: TestApp) {
    let alice = app.user("alice").await;
    for types in [
        "likes",
        "",
        "like,",
        ",like",
        "like,,comment",
        "like,bogus",
        "LIKE",
    ] {
        let path = format!("{NOTIFICATIONS}?types={types}");
        let response = app.get(&path, Some(&alice)).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "types={types:?}"
        );
        assert_problem(response, 400, "invalid_query").await;
    }
}

/// `unread=true` keeps the unread notifications, `unread=false` the read ones; anything
/// else is a 400 `invalid_query`.
async fn unread_selects_unread_or_read_notifications(app: TestApp) {
    let tokens = one_of_each_kind_for_alice(&app).await;
    let alice = &tokens[0];
    let ids = notification_ids(&app, alice).await;
    // Read: the follow and the like.
    mark_read(&app, alice, Some(&json!({"up_to_id": ids[2]}))).await;
    assert_eq!(
        labels_where(&app, alice, "unread=true").await,
        ["mention:erin", "comment:dave"]
    );
    assert_eq!(
        labels_where(&app, alice, "unread=false").await,
        ["like:carol", "follow:bob"]
    );
    assert_eq!(
        labels_where(&app, alice, "unread=true&types=comment,follow").await,
        ["comment:dave"]
    );
    for value in ["yes", "", "1", "TRUE"] {
        let response = app
            .get(&format!("{NOTIFICATIONS}?unread={value}"), Some(alice))
            .await;
        assert_problem(response, 400, "invalid_query").await;
    }
}

/// The list is newest first, a page at a time through `next_cursor` and `Link`, which keep
/// the filters.
async fn notifications_are_listed_newest_first_a_page_at_a_time(app: TestApp) {
    let alice = app.user("alice").await;
    let post = id_of(&app.create_post(&alice, "post").await);
    let names = ["user1", "user2", "user3", "user4", "user5"];
    for token in app.users(&names).await {
        app.follow(&token, "alice").await;
        app.like(&token, &post).await;
    }
    let pages = app
        .walk(
            &format!("{NOTIFICATIONS}?types=follow&limit=2"),
            Some(&alice),
            2,
            labels_of_page,
        )
        .await;
    assert_eq!(
        pages,
        [
            vec!["follow:user5", "follow:user4"],
            vec!["follow:user3", "follow:user2"],
            vec!["follow:user1"]
        ]
    );
    let all: Vec<String> = app
        .walk(
            &format!("{NOTIFICATIONS}?limit=3"),
            Some(&alice),
            3,
            labels_of_page,
        )
        .await
        .concat();
    assert_eq!(all.len(), 10);
    assert_eq!(&all[..3], ["like:user5", "follow:user5", "like:user4"]);
    assert_eq!(all.last().unwrap(), "follow:user1");
    // Several types, and `unread`, are kept by the Link too.
    mark_read(&app, &alice, None).await;
    let user6 = app.user("user6").await;
    app.follow(&user6, "alice").await;
    app.like(&user6, &post).await;
    app.comment(&user6, &post, "late").await;
    let unread = app
        .walk(
            &format!("{NOTIFICATIONS}?types=comment,like&unread=true&limit=1"),
            Some(&alice),
            1,
            labels_of_page,
        )
        .await;
    assert_eq!(unread, [vec!["comment:user6"], vec!["like:user6"]]);
    let read_likes = app
        .walk(
            &format!("{NOTIFICATIONS}?types=like,follow&unread=false&limit=4"),
            Some(&alice),
            4,
            labels_of_page,
        )
        .await
        .concat();
    assert_eq!(read_likes, all);
    // A list that fits in a page has no cursor and no Link.
    let page = app
        .fetch_page(&app.url(&format!("{NOTIFICATIONS}?limit=20")), Some(&alice))
        .await;
    assert_eq!(page.body["next_cursor"], Value::Null);
    assert!(page.next.is_none());
}

/// `limit` must be 1 to 100 and `cursor` one the list issued: otherwise a 400.
async fn the_list_refuses_bad_limits_and_cursors(app: TestApp) {
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let alice = app.user("alice").await;
    for limit in ["1", "100"] {
        let path = format!("{NOTIFICATIONS}?limit={limit}");
        app.get_ok(&path, Some(&alice)).await;
    }
    for limit in ["0", "101", "-1", "abc", ""] {
        let path = format!("{NOTIFICATIONS}?limit={limit}");
        let response = app.get(&path, Some(&alice)).await;
        assert_problem(response, 400, "invalid_limit").await;
    }
    for cursor in [
        "garbage".to_owned(),
        b64("garbage"),
        b64("1|not-a-uuid"),
        b64("1|0|alice"),
    ] {
        let path = format!("{NOTIFICATIONS}?cursor={cursor}");
        let response = app.get(&path, Some(&alice)).await;
        assert_problem(response, 400, "invalid_cursor").await;
    }
}

// ---------------------------------------------------------------------------------------
// Unread count, marking read, dismissing
// ---------------------------------------------------------------------------------------

/// The unread count follows what is written, read and dismissed.
async fn the_unread_count_counts_the_unread_notifications(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let body = app.get_ok(UNREAD_COUNT, Some(alice)).await;
    assert_eq!(body, json!({"count": 0}));

    let post = id_of(&app.create_post(alice, "post").await);
    app.follow(bob, "alice").await;
    app.like(bob, &post).await;
    app.like(carol, &post).await;
    assert_eq!(unread_count(&app, alice).await, 3);
    assert_eq!(unread_count(&app, bob).await, 0);

    let ids = notification_ids(&app, alice).await;
    mark_read(&app, alice, Some(&json!({"up_to_id": ids[2]}))).await;
    assert_eq!(unread_count(&app, alice).await, 2);
    assert_empty_204(dismiss(&app, alice, &ids[0]).await, "dismiss").await;
    assert_eq!(unread_count(&app, alice).await, 1);
    mark_read(&app, alice, None).await;
    assert_eq!(unread_count(&app, alice).await, 0);
}

/// Marking read up to one notification marks it and every older one; the newer ones stay
/// unread.
async fn marking_read_up_to_one_marks_it_and_the_older_ones(app: TestApp) {
    let tokens = one_of_each_kind_for_alice(&app).await;
    let alice = &tokens[0];
    let ids = notification_ids(&app, alice).await;
    assert_eq!(read_flags(&app, alice).await, [false; 4]);

    mark_read(&app, alice, Some(&json!({"up_to_id": ids[2]}))).await;
    assert_eq!(read_flags(&app, alice).await, [false, false, true, true]);
    assert_eq!(unread_count(&app, alice).await, 2);
    // Marking up to an older one again unmarks nothing.
    mark_read(&app, alice, Some(&json!({"up_to_id": ids[3]}))).await;
    assert_eq!(read_flags(&app, alice).await, [false, false, true, true]);
    mark_read(&app, alice, Some(&json!({"up_to_id": ids[0]}))).await;
    assert_eq!(read_flags(&app, alice).await, [true; 4]);
    assert_eq!(unread_count(&app, alice).await, 0);
    // Another account's notifications are left alone.
    let post = id_of(&app.create_post(&tokens[1], "bob's").await);
    app.like(&tokens[2], &post).await;
    assert_eq!(read_flags(&app, &tokens[1]).await, [false]);
}

/// Without a body, or with `{}`, every notification is marked read.
async fn marking_read_without_up_to_id_marks_all(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    let post = id_of(&app.create_post(alice, "post").await);
    app.follow(bob, "alice").await;
    app.like(bob, &post).await;
    mark_read(&app, alice, None).await;
    assert_eq!(read_flags(&app, alice).await, [true, true]);

    app.follow(carol, "alice").await;
    app.like(carol, &post).await;
    assert_eq!(read_flags(&app, alice).await, [false, false, true, true]);
    mark_read(&app, alice, Some(&json!({}))).await;
    assert_eq!(read_flags(&app, alice).await, [true; 4]);

    let dave = app.user("dave").await;
    app.like(&dave, &post).await;
    mark_read(&app, alice, Some(&json!({"up_to_id": null}))).await;
    assert_eq!(read_flags(&app, alice).await, [true; 5]);
    assert_eq!(unread_count(&app, alice).await, 0);
    assert_eq!(labels_where(&app, alice, "unread=true").await.len(), 0);
}

/// `up_to_id` that is not one of yours (another's, unknown, or not an id) is a 404 and
/// marks nothing.
async fn marking_read_up_to_an_id_not_yours_is_404(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    let post = id_of(&app.create_post(alice, "alice's").await);
    app.like(bob, &post).await;
    app.follow(alice, "bob").await;
    let bobs = notification_ids(&app, bob).await;
    for up_to in [bobs[0].as_str(), UNKNOWN_ID, "not-an-id", ""] {
        let response = send_mark_read(&app, alice, Some(&json!({"up_to_id": up_to}))).await;
        assert_problem(response, 404, "not_found").await;
    }
    assert_eq!(unread_count(&app, alice).await, 1);
    assert_eq!(unread_count(&app, bob).await, 1);
}

/// Dismissing your notification deletes it (204), and a second time is a 404; an id that
/// is not one of ours is a 404.
async fn dismissing_a_notification_deletes_it_once(app: TestApp) {
    let tokens = app.users(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&tokens[0], &tokens[1], &tokens[2]);
    app.follow(bob, "alice").await;
    app.follow(carol, "alice").await;
    let ids = notification_ids(&app, alice).await;

    assert_empty_204(dismiss(&app, alice, &ids[1]).await, "dismiss").await;
    assert_eq!(labels(&app, alice).await, ["follow:carol"]);
    assert_problem(dismiss(&app, alice, &ids[1]).await, 404, "not_found").await;
    for other in [UNKNOWN_ID, "not-an-id"] {
        assert_problem(dismiss(&app, alice, other).await, 404, "not_found").await;
    }
    // The follow itself stays.
    assert_eq!(app.follow_counts("alice").await, (2, 0));
}

/// Dismissing another account's notification is a 404 and leaves it to its owner.
async fn dismissing_anothers_notification_is_404(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    let (alice, bob) = (&tokens[0], &tokens[1]);
    app.follow(bob, "alice").await;
    let id = id_of(&only_notification(&app, alice).await);
    assert_problem(dismiss(&app, bob, &id).await, 404, "not_found").await;
    assert_eq!(notification_ids(&app, alice).await, [id]);
    assert_eq!(unread_count(&app, alice).await, 1);
}

/// Every notification endpoint needs a token: 401 `unauthorized` without one, 401
/// `invalid_token` with one never issued.
async fn every_notification_endpoint_requires_a_token(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    app.follow(&tokens[1], "alice").await;
    let id = id_of(&only_notification(&app, &tokens[0]).await);
    let requests = [
        (Method::GET, NOTIFICATIONS.to_owned()),
        (Method::GET, UNREAD_COUNT.to_owned()),
        (Method::POST, MARK_READ.to_owned()),
        (Method::DELETE, notification_path(&id)),
    ];
    for (method, path) in &requests {
        let response = app.send(method.clone(), path, None).await;
        assert_problem(response, 401, "unauthorized").await;
        let response = app.send(method.clone(), path, Some(UNKNOWN_TOKEN)).await;
        assert_problem(response, 401, "invalid_token").await;
    }
    // Nothing was read or dismissed.
    assert_eq!(read_flags(&app, &tokens[0]).await, [false]);
}

/// A page of notifications, with their posts and comments, costs the same number of
/// statements whatever its size.
async fn a_page_of_notifications_costs_the_same_whatever_its_size(app: TestApp) {
    let names = ["bob", "carol", "dave", "erin"];
    let alice = app.user("alice").await;
    let tokens = app.users(&names).await;
    let (empty_count, _) = statements_for(&app, UNREAD_COUNT, &alice).await;
    // Every post and comment mentions someone, so that each page embeds the same kinds of
    // things.
    let post = id_of(&app.create_post(&alice, "post for @bob").await);
    for (name, token) in names.iter().zip(&tokens) {
        app.follow(token, "alice").await;
        app.like(token, &post).await;
        app.create_post(token, &format!("hi @alice from {name}"))
            .await;
        app.comment(token, &post, &format!("@alice {name} says hi"))
            .await;
    }
    let (small, small_page) =
        statements_for(&app, &format!("{NOTIFICATIONS}?limit=1"), &alice).await;
    let (large, large_page) =
        statements_for(&app, &format!("{NOTIFICATIONS}?limit=50"), &alice).await;
    let first = &small_page["items"][0];
    assert!(
        first["post"].is_object() && first["comment"].is_object(),
        "the small page has a post and a comment too: {first}"
    );
    assert_eq!(large_page["items"].as_array().unwrap().len(), 20);
    assert_eq!(
        small, large,
        "a bigger page must not cost more statements ({small} for 1, {large} for 20)"
    );
    let (full_count, body) = statements_for(&app, UNREAD_COUNT, &alice).await;
    assert_eq!(body["count"], 20);
    assert_eq!(
        empty_count, full_count,
        "the unread count costs the same for 0 and 20"
    );
}

/// `Me` carries the id that notifications name the account by.
async fn the_account_of_a_notification_is_the_actors_id(app: TestApp) {
    let tokens = app.users(&["alice", "bob"]).await;
    app.follow(&tokens[1], "alice").await;
    let me = app.get_ok(ME, Some(&tokens[1])).await;
    let notification = only_notification(&app, &tokens[0]).await;
    assert_eq!(notification["account"]["id"], me["id"]);
    assert_eq!(notification["account"]["username"], "bob");
}

both_databases!(
    a_follow_notifies_the_followed_with_the_follower_as_account,
    a_follow_request_notifies_the_locked_account,
    accepting_a_request_notifies_follow_and_follow_accepted,
    rejecting_or_cancelling_a_request_removes_its_notification,
    unlocking_notifies_every_pending_asker,
    a_like_notifies_the_author_with_the_post,
    a_comment_notifies_the_author_with_the_post_and_the_comment,
    a_mention_in_a_post_notifies_each_mentioned_account,
    a_mention_in_a_comment_carries_the_post_and_the_comment,
    a_published_schedule_notifies_its_author_and_the_mentioned,
    nobody_is_notified_of_their_own_actions,
    like_unlike_like_leaves_one_notification,
    concurrent_likes_and_follows_write_one_notification_each,
    unfollowing_or_removing_a_follower_removes_the_follow_notification,
    deleting_a_post_removes_its_notifications,
    deleting_a_comment_removes_its_notifications,
    deleting_the_actors_account_removes_their_notifications,
    editing_a_post_moves_its_mention_notifications,
    editing_a_comment_moves_its_mention_notifications,
    a_block_either_way_hides_existing_notifications_until_lifted,
    a_block_either_way_prevents_new_notifications,
    a_mute_hides_existing_notifications_and_prevents_new_ones,
    a_muted_askers_request_notifies_nobody,
    a_followers_only_post_notifies_only_the_followers_it_mentions,
    narrowing_a_posts_visibility_hides_its_notifications_from_non_followers,
    locking_the_author_hides_mentions_from_non_followers,
    losing_a_follow_hides_mentions_in_followers_only_posts,
    types_selects_one_or_several_types,
    types_refuses_unknown_or_empty_names,
    unread_selects_unread_or_read_notifications,
    notifications_are_listed_newest_first_a_page_at_a_time,
    the_list_refuses_bad_limits_and_cursors,
    the_unread_count_counts_the_unread_notifications,
    marking_read_up_to_one_marks_it_and_the_older_ones,
    marking_read_without_up_to_id_marks_all,
    marking_read_up_to_an_id_not_yours_is_404,
    dismissing_a_notification_deletes_it_once,
    dismissing_anothers_notification_is_404,
    every_notification_endpoint_requires_a_token,
    a_page_of_notifications_costs_the_same_whatever_its_size,
    the_account_of_a_notification_is_the_actors_id,
);
