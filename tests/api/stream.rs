//! The stream: every rule of the contract's "The stream (real-time)" section.
//!
//! Each scenario opens streams with the client of [`crate::sse`], acts through the API and
//! reads what arrives. "Nothing arrives" is shown with a control event: a later action
//! whose event must arrive, and must be the next one. Events of one process are handled in
//! the order of the actions, so an event that should not have come would come before it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::both_databases;
use crate::helpers::{
    PASSWORD, TestApp, UNKNOWN_ID, assert_problem, assert_problem_status, eventually, id_of,
    json_created, post_path, timestamp,
};
use crate::sse::{DELIVERY, EVENT_WAIT, STREAM, SseEvent, SseStream, TICKETS, stream_request};

const NOTIFICATIONS: &str = "/api/v1/me/notifications";
const SCHEDULED: &str = "/api/v1/scheduled-posts";

/// How soon a stream of a revoked token must end.
const REVOCATION: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `POST /stream/tickets` with `token`, which must answer 201; returns the body.
async fn ticket(app: &TestApp, token: &str) -> Value {
    let response = app
        .request(Method::POST, TICKETS, Some(token))
        .send()
        .await
        .unwrap();
    json_created(response, "POST /stream/tickets").await
}

/// The ticket string of a new ticket of `token`.
async fn ticket_of(app: &TestApp, token: &str) -> String {
    ticket(app, token).await["ticket"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `GET /stream` with `request`, which must be refused: the response.
async fn refused(request: reqwest::RequestBuilder, what: &str) -> reqwest::Response {
    match SseStream::try_start(request, None).await {
        Ok(_) => panic!("{what}: the stream opened"),
        Err(response) => response,
    }
}

/// `GET /stream?query` without a token.
fn stream_with_query(app: &TestApp, query: &[(&str, &str)]) -> reqwest::RequestBuilder {
    app.client.get(app.url(STREAM)).query(query)
}

/// The post `id` as `token` reads it (`GET /posts/{id}`).
async fn post_as(app: &TestApp, id: &str, token: &str) -> Value {
    app.get_ok(&post_path(id), Some(token)).await
}

/// The notification `id` as its recipient lists it (`GET /me/notifications`).
async fn listed_notification(app: &TestApp, token: &str, id: &str) -> Value {
    app.list_items(NOTIFICATIONS, Some(token))
        .await
        .into_iter()
        .find(|item| item["id"] == id)
        .unwrap_or_else(|| panic!("notification {id} is listed"))
}

/// Asserts a `notification` event of `type` by `actor`, and that it says what the
/// notification list says of it.
async fn assert_notification(
    app: &TestApp,
    token: &str,
    event: &SseEvent,
    kind: &str,
    actor: &str,
) {
    assert_eq!(event.event, "notification", "{event:?}");
    assert_eq!(event.data["type"], kind, "{event:?}");
    assert_eq!(event.data["account"]["username"], actor, "{event:?}");
    assert_eq!(
        event.data["id"],
        event.id.as_str(),
        "the event id is the notification's"
    );
    assert_eq!(event.data["read"], false, "{event:?}");
    assert_eq!(
        event.data,
        listed_notification(app, token, &event.id).await,
        "the event's notification is the listed one"
    );
}

/// `post` events' contents, for messages.
fn describe(events: &[SseEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event.event.as_str() {
            "notification" => format!("notification {}", event.data["type"]),
            name => format!("{name} {}", event.data["content"]),
        })
        .collect()
}

/// Reads `count` events within [`EVENT_WAIT`].
async fn read_events(stream: &mut SseStream, count: usize, what: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    for n in 0..count {
        let event = stream.next_event(EVENT_WAIT).await.unwrap_or_else(|| {
            panic!(
                "{what}: event {n} of {count} did not come; got {:?}",
                describe(&events)
            )
        });
        events.push(event);
    }
    events
}

/// Schedules `content` for `by` after the app's now; must answer 201.
async fn schedule(app: &TestApp, token: &str, content: &str, by: Duration) -> Value {
    let publish_at = app.state.clock.now() + chrono::TimeDelta::from_std(by).unwrap();
    let body = json!({
        "content": content,
        "publish_at": publish_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    json_created(
        app.post_json(SCHEDULED, &body, Some(token)).await,
        "schedule",
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

/// A post of a followed account reaches the stream within a second, as the Post its reader
/// would fetch; the stream is plain `text/event-stream`, not compressed, not buffered.
async fn a_followed_accounts_post_arrives_at_once_as_the_post(app: TestApp) {
    let [alice, bob] = app.users(&["alice", "bob"]).await.try_into().unwrap();
    app.follow(&alice, "bob").await;
    let request = stream_request(&app.client, &app.address, Some(&alice))
        .header("Accept-Encoding", "gzip, deflate, br, zstd");
    let mut stream = SseStream::start(request, None).await;
    assert_eq!(stream.status, StatusCode::OK);
    assert!(
        stream.headers.get("content-encoding").is_none(),
        "the stream is not compressed: {:?}",
        stream.headers
    );
    assert!(
        stream.headers.get("content-length").is_none(),
        "the stream is not a buffered body: {:?}",
        stream.headers
    );

    let sent = Instant::now();
    let post = app.create_post(&bob, "Hello #stream").await;
    let event = stream.expect_within("post", DELIVERY, "bob's post").await;
    assert!(
        sent.elapsed() <= DELIVERY,
        "within a second: {:?}",
        sent.elapsed()
    );
    assert_eq!(event.id, id_of(&post), "a post event's id is the post's");
    let data = &event.data;
    assert_eq!(data["id"], post["id"]);
    assert_eq!(data["author"]["username"], "bob");
    assert_eq!(data["content"], "Hello #stream");
    assert_eq!(data["visibility"], "public");
    assert_eq!(data["tags"], json!(["stream"]));
    assert_eq!(data["liked"], false, "the reader has not liked it: {data}");
    assert_eq!(
        *data,
        post_as(&app, &id_of(&post), &alice).await,
        "the event's Post is the one its reader fetches"
    );
    assert!(!stream.is_closed());

    // A post created again under the same `Idempotency-Key` is one post: one event.
    for _ in 0..2 {
        let response = app
            .request(Method::POST, crate::helpers::POSTS, Some(&bob))
            .header("Idempotency-Key", "stream-once")
            .json(&json!({"content": "only once"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    app.create_post(&bob, "after the retry").await;
    stream
        .expect_post("post", "only once", "the keyed post")
        .await;
    stream
        .expect_post(
            "post",
            "after the retry",
            "a replayed request sends no second event",
        )
        .await;
}

/// When an author deletes their account, their posts are deleted: the streams that got
/// them get `post.delete`.
async fn an_account_deletion_deletes_its_posts_from_the_streams(app: TestApp) {
    let [alice, bob, carol] = app
        .users(&["alice", "bob", "carol"])
        .await
        .try_into()
        .unwrap();
    app.follow(&alice, "bob").await;
    app.follow(&alice, "carol").await;
    let mut stream = SseStream::open(&app, &alice, None).await;
    let post = app.create_post(&bob, "bob's last post").await;
    stream
        .expect_post("post", "bob's last post", "bob's post")
        .await;

    app.delete_account(&bob).await;
    assert_eq!(
        app.get(&post_path(&id_of(&post)), Some(&alice))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "the post is gone with the account"
    );
    app.create_post(&carol, "carol control").await;
    let event = stream
        .next_event(EVENT_WAIT)
        .await
        .expect("an event after the account deletion");
    assert_eq!(
        (event.event.as_str(), &event.data),
        ("post.delete", &json!({"id": post["id"]})),
        "the deleted account's post is deleted from the stream: {event:?}"
    );
    stream
        .expect_post("post", "carol control", "then the control post")
        .await;
}

/// Who gets a `post`: the author and their followers who may see it, not others; a mention
/// by someone you do not follow is a notification, not a post.
async fn the_feed_rules_decide_who_gets_a_post(app: TestApp) {
    let [alice, bob, carol, dave] = app
        .users(&["alice", "bob", "carol", "dave"])
        .await
        .try_into()
        .unwrap();
    app.follow(&alice, "bob").await;
    let mut alice_stream = SseStream::open(&app, &alice, None).await;
    let mut bob_stream = SseStream::open(&app, &bob, None).await;
    let mut carol_stream = SseStream::open(&app, &carol, None).await;

    app.create_post(&dave, "dave public").await;
    let mention = app.create_post(&dave, "hello @carol").await;
    app.create_post_as(&bob, "bob followers @carol", "followers")
        .await;
    app.create_post(&carol, "carol own").await;
    app.create_post(&alice, "alice own").await;
    app.create_post(&bob, "bob control").await;

    // Alice follows bob only: his followers-only post, her own, his control.
    let event = alice_stream
        .expect_post(
            "post",
            "bob followers @carol",
            "a follower gets a followers-only post",
        )
        .await;
    assert_eq!(event.data["visibility"], "followers");
    assert_eq!(event.data["author"]["username"], "bob");
    alice_stream
        .expect_post("post", "alice own", "one's own post")
        .await;
    alice_stream
        .expect_post(
            "post",
            "bob control",
            "nothing of dave's or carol's came before",
        )
        .await;

    // Bob: his own posts.
    bob_stream
        .expect_post(
            "post",
            "bob followers @carol",
            "the author gets his own post",
        )
        .await;
    bob_stream
        .expect_post(
            "post",
            "bob control",
            "nothing of dave's, carol's or alice's came before",
        )
        .await;

    // Carol follows nobody: the mention, as a notification, then her own post.
    let event = carol_stream
        .expect("notification", "dave's mention of carol")
        .await;
    assert_notification(&app, &carol, &event, "mention", "dave").await;
    assert_eq!(event.data["post"]["id"], mention["id"]);
    carol_stream
        .expect_post(
            "post",
            "carol own",
            "no post of dave's, nor bob's followers-only post or its mention",
        )
        .await;
}

/// A locked account's posts reach its followers, not those whose request is pending; the
/// requests and their acceptance are notifications.
async fn a_locked_accounts_posts_reach_only_its_followers(app: TestApp) {
    let [alice, carol, dave] = app
        .users(&["alice", "carol", "dave"])
        .await
        .try_into()
        .unwrap();
    app.set_locked(&carol, true).await;
    let mut alice_stream = SseStream::open(&app, &alice, None).await;
    let mut carol_stream = SseStream::open(&app, &carol, None).await;
    let mut dave_stream = SseStream::open(&app, &dave, None).await;

    app.request_follow(&alice, "carol").await;
    let event = carol_stream.expect("notification", "alice's request").await;
    assert_notification(&app, &carol, &event, "follow_request", "alice").await;
    app.accept_request(&carol, "alice").await;
    let event = alice_stream.expect("notification", "carol accepted").await;
    assert_notification(&app, &alice, &event, "follow_accepted", "carol").await;
    let event = carol_stream
        .expect("notification", "an accepted request is a follow")
        .await;
    assert_notification(&app, &carol, &event, "follow", "alice").await;
    app.request_follow(&dave, "carol").await;
    let event = carol_stream.expect("notification", "dave's request").await;
    assert_notification(&app, &carol, &event, "follow_request", "dave").await;

    app.create_post(&carol, "carol locked").await;
    app.create_post(&dave, "dave control").await;
    let event = alice_stream
        .expect_post("post", "carol locked", "a follower of a locked account")
        .await;
    assert_eq!(event.data["visibility"], "followers");
    carol_stream
        .expect_post("post", "carol locked", "the locked author")
        .await;
    dave_stream
        .expect_post(
            "post",
            "dave control",
            "a pending request does not see carol's post",
        )
        .await;
}

/// Nobody gets the posts of someone they mute, nor across a block either way; a muted
/// account's likes are not notified; once unmuted, posts come again.
async fn muted_and_blocked_accounts_do_not_reach(app: TestApp) {
    let [alice, bob, carol, dave, erin] = app
        .users(&["alice", "bob", "carol", "dave", "erin"])
        .await
        .try_into()
        .unwrap();
    for followee in ["bob", "carol", "dave", "erin"] {
        app.follow(&alice, followee).await;
    }
    for follower in [&bob, &carol] {
        app.follow(follower, "alice").await;
        app.follow(follower, "dave").await;
    }
    app.mute(&alice, "erin").await;
    app.block(&alice, "bob").await;
    app.block(&carol, "alice").await;
    let mut alice_stream = SseStream::open(&app, &alice, None).await;
    let mut bob_stream = SseStream::open(&app, &bob, None).await;
    let mut carol_stream = SseStream::open(&app, &carol, None).await;

    app.create_post(&erin, "erin muted").await;
    app.create_post(&bob, "bob blocked").await;
    app.create_post(&carol, "carol blocking").await;
    let alice_post = app.create_post(&alice, "alice blocker").await;
    app.like(&erin, &id_of(&alice_post)).await;
    app.create_post(&dave, "dave control").await;

    alice_stream
        .expect_post(
            "post",
            "alice blocker",
            "nothing of erin (muted), bob (blocked) or carol (blocking)",
        )
        .await;
    alice_stream
        .expect_post(
            "post",
            "dave control",
            "no like notification from erin (muted)",
        )
        .await;
    bob_stream
        .expect_post("post", "bob blocked", "bob's own post")
        .await;
    bob_stream
        .expect_post("post", "dave control", "nothing of alice, who blocks bob")
        .await;
    carol_stream
        .expect_post("post", "carol blocking", "carol's own post")
        .await;
    carol_stream
        .expect_post(
            "post",
            "dave control",
            "nothing of alice, whom carol blocks",
        )
        .await;

    app.unmute(&alice, "erin").await;
    app.create_post(&erin, "erin back").await;
    alice_stream
        .expect_post("post", "erin back", "unmuted, erin's posts come again")
        .await;
}

/// Editing a post sends `post.update` (the Post, `liked` per reader), deleting it
/// `post.delete` with its id, to those who got it; not to others.
async fn edits_and_deletions_reach_as_post_update_and_post_delete(app: TestApp) {
    let [alice, bob, carol, dave] = app
        .users(&["alice", "bob", "carol", "dave"])
        .await
        .try_into()
        .unwrap();
    app.follow(&alice, "carol").await;
    app.follow(&bob, "carol").await;
    let mut alice_stream = SseStream::open(&app, &alice, None).await;
    let mut bob_stream = SseStream::open(&app, &bob, None).await;
    let mut dave_stream = SseStream::open(&app, &dave, None).await;

    let post = app.create_post(&carol, "first version").await;
    let id = id_of(&post);
    alice_stream
        .expect_post("post", "first version", "new")
        .await;
    bob_stream.expect_post("post", "first version", "new").await;
    app.like(&alice, &id).await;

    let response = app
        .patch_post(&carol, &id, &json!({"content": "second version"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let update = alice_stream
        .expect_post("post.update", "second version", "the edit")
        .await;
    assert_eq!(update.data["id"], id.as_str());
    assert_ne!(update.id, id, "an update has an id of its own");
    assert_eq!(
        update.data["liked"], true,
        "alice liked it: {:?}",
        update.data
    );
    assert_eq!(update.data["like_count"], 1);
    assert!(update.data["edited_at"].is_string(), "{:?}", update.data);
    assert_eq!(update.data, post_as(&app, &id, &alice).await);
    let update = bob_stream
        .expect_post("post.update", "second version", "the edit")
        .await;
    assert_eq!(
        update.data["liked"], false,
        "bob did not like it: {:?}",
        update.data
    );
    assert_eq!(update.data, post_as(&app, &id, &bob).await);

    app.set_visibility(&carol, &id, "followers").await;
    for stream in [&mut alice_stream, &mut bob_stream] {
        let update = stream.expect("post.update", "the visibility change").await;
        assert_eq!(update.data["visibility"], "followers");
        assert_eq!(update.data["content"], "second version");
    }

    app.delete_post(&carol, &id).await;
    for stream in [&mut alice_stream, &mut bob_stream] {
        let deleted = stream.expect("post.delete", "the deletion").await;
        assert_eq!(
            deleted.data,
            json!({"id": id}),
            "post.delete says the id only"
        );
        assert_ne!(deleted.id, id, "a deletion has an id of its own");
    }

    app.create_post(&dave, "dave control").await;
    dave_stream
        .expect_post(
            "post",
            "dave control",
            "a non-follower gets no post, update or delete",
        )
        .await;
    alice_stream
        .expect_no_event(Duration::from_millis(100), "dave is not followed")
        .await;
}

/// Follows, likes, comments and mentions reach the recipient as `notification` events, each
/// the Notification the list shows.
async fn notifications_arrive_as_notification_events(app: TestApp) {
    let [alice, bob] = app.users(&["alice", "bob"]).await.try_into().unwrap();
    let mut stream = SseStream::open(&app, &alice, None).await;

    app.follow(&bob, "alice").await;
    let event = stream.expect("notification", "bob follows alice").await;
    assert_notification(&app, &alice, &event, "follow", "bob").await;
    assert_eq!(event.data["post"], Value::Null);
    assert_eq!(event.data["comment"], Value::Null);

    let post = app.create_post(&alice, "alice writes").await;
    let id = id_of(&post);
    stream
        .expect_post("post", "alice writes", "her own post")
        .await;

    app.like(&bob, &id).await;
    let event = stream.expect("notification", "bob likes it").await;
    assert_notification(&app, &alice, &event, "like", "bob").await;
    assert_eq!(event.data["post"]["id"], id.as_str());

    let comment = app.comment(&bob, &id, "nice one").await;
    let event = stream.expect("notification", "bob comments").await;
    assert_notification(&app, &alice, &event, "comment", "bob").await;
    assert_eq!(event.data["post"]["id"], id.as_str());
    assert_eq!(event.data["comment"]["id"], comment["id"]);
    assert_eq!(event.data["comment"]["content"], "nice one");

    let mention = app.create_post(&bob, "thinking of @alice").await;
    let event = stream.expect("notification", "bob mentions alice").await;
    assert_notification(&app, &alice, &event, "mention", "bob").await;
    assert_eq!(event.data["post"]["id"], mention["id"]);
    assert_eq!(event.data["comment"], Value::Null);

    let in_comment = app
        .comment(&bob, &id_of(&mention), "as I said, @alice")
        .await;
    let event = stream
        .expect("notification", "bob mentions alice in a comment")
        .await;
    assert_notification(&app, &alice, &event, "mention", "bob").await;
    assert_eq!(event.data["post"]["id"], mention["id"]);
    assert_eq!(event.data["comment"]["id"], in_comment["id"]);

    // Alice does not follow bob: his post itself is not hers to get.
    app.create_post(&alice, "alice control").await;
    stream
        .expect_post("post", "alice control", "no post event for the mention")
        .await;
}

/// A scheduled post, once published, arrives as a `post` to its author and followers; the
/// author also gets `published`, and those it mentions `mention`.
async fn a_published_schedule_arrives_as_a_post(app: TestApp) {
    let [alice, bob, carol] = app
        .users(&["alice", "bob", "carol"])
        .await
        .try_into()
        .unwrap();
    app.follow(&bob, "alice").await;
    schedule(
        &app,
        &alice,
        "scheduled hello @carol",
        Duration::from_secs(3600),
    )
    .await;
    let mut alice_stream = SseStream::open(&app, &alice, None).await;
    let mut bob_stream = SseStream::open(&app, &bob, None).await;
    let mut carol_stream = SseStream::open(&app, &carol, None).await;

    app.advance(Duration::from_secs(3601));
    assert_eq!(app.publish_due().await, 1);

    let post = alice_stream
        .expect_post(
            "post",
            "scheduled hello @carol",
            "the author's published post",
        )
        .await;
    assert_eq!(post.data["author"]["username"], "alice");
    assert_eq!(post.data["id"], post.id.as_str());
    let published = alice_stream
        .expect("notification", "the author's published notification")
        .await;
    assert_notification(&app, &alice, &published, "published", "alice").await;
    assert_eq!(published.data["post"]["id"], post.id.as_str());

    let event = bob_stream
        .expect_post("post", "scheduled hello @carol", "a follower")
        .await;
    assert_eq!(event.id, post.id);
    assert_eq!(event.data, post_as(&app, &post.id, &bob).await);

    let mention = carol_stream
        .expect("notification", "the mention, for a non-follower")
        .await;
    assert_notification(&app, &carol, &mention, "mention", "alice").await;
    app.create_post(&carol, "carol control").await;
    carol_stream
        .expect_post("post", "carol control", "no post event for a non-follower")
        .await;
}

/// Reconnecting with `Last-Event-ID` (or `?last_event_id=` with a ticket) replays the
/// `post` and `notification` events after it, in order, without edits and deletions and
/// without duplicates; then live events continue.
async fn reconnecting_replays_what_was_missed_in_order(app: TestApp) {
    let [alice, bob, carol, dave] = app
        .users(&["alice", "bob", "carol", "dave"])
        .await
        .try_into()
        .unwrap();
    app.follow(&alice, "bob").await;

    let mut first = SseStream::open(&app, &alice, None).await;
    let b1 = app.create_post(&bob, "b1").await;
    let a1 = app.create_post(&alice, "a1").await;
    let response = app
        .patch_post(&bob, &id_of(&b1), &json!({"content": "b1 edited"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = read_events(&mut first, 3, "before disconnecting").await;
    assert_eq!(
        describe(&seen),
        ["post \"b1\"", "post \"a1\"", "post.update \"b1 edited\""]
    );
    let (b1_event, update_event) = (seen[0].id.clone(), seen[2].id.clone());
    drop(first);

    // While alice is away.
    let b2 = app.create_post(&bob, "b2").await;
    app.follow(&carol, "alice").await;
    let response = app
        .patch_post(&bob, &id_of(&b2), &json!({"content": "b2 edited"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let b3 = app.create_post(&bob, "b3").await;
    app.delete_post(&bob, &id_of(&b3)).await;
    app.create_post(&dave, "not followed").await;
    app.like(&carol, &id_of(&a1)).await;

    // From the last event seen: what came after, oldest first.
    let mut from_update = SseStream::open(&app, &alice, Some(&update_event)).await;
    let replayed = read_events(&mut from_update, 3, "replay after the update").await;
    assert_eq!(
        describe(&replayed),
        [
            "post \"b2 edited\"",
            "notification \"follow\"",
            "notification \"like\""
        ],
        "replayed: new posts and notifications only, as they are now"
    );
    assert_eq!(replayed[0].id, id_of(&b2));
    assert_notification(&app, &alice, &replayed[1], "follow", "carol").await;
    assert_notification(&app, &alice, &replayed[2], "like", "carol").await;
    let last = replayed[2].id.clone();

    // From an earlier event, with a ticket: alice's own post is replayed too.
    let ticket = ticket_of(&app, &alice).await;
    let mut from_b1 = SseStream::open_with_ticket(&app, &ticket, Some(&b1_event)).await;
    let replayed_again = read_events(&mut from_b1, 4, "replay after b1").await;
    assert_eq!(
        describe(&replayed_again),
        [
            "post \"a1\"",
            "post \"b2 edited\"",
            "notification \"follow\"",
            "notification \"like\""
        ]
    );

    // From the very last event: nothing to replay.
    let mut up_to_date = SseStream::open(&app, &alice, Some(&last)).await;

    // Then live events, once each.
    app.create_post(&bob, "b4").await;
    for stream in [&mut from_update, &mut from_b1, &mut up_to_date] {
        stream
            .expect_post("post", "b4", "the live event after the replay")
            .await;
    }
    app.create_post(&alice, "a2").await;
    for stream in [&mut from_update, &mut from_b1, &mut up_to_date] {
        stream
            .expect_post("post", "a2", "one more live event, no duplicate before it")
            .await;
    }
}

/// A replay longer than the server's pages (posts and notifications interleaved) misses
/// nothing and keeps the order.
async fn a_long_replay_misses_nothing(app: TestApp) {
    let [alice, bob] = app.users(&["alice", "bob"]).await.try_into().unwrap();
    app.follow(&alice, "bob").await;
    let mut stream = SseStream::open(&app, &alice, None).await;
    app.create_post(&bob, "start").await;
    let start = stream.expect_post("post", "start", "the start").await;
    drop(stream);

    let mut expected = Vec::new();
    for n in 0..130 {
        if n % 4 == 0 {
            let post = app.create_post(&bob, &format!("post {n} for @alice")).await;
            expected.push(format!("post \"post {n} for @alice\""));
            expected.push("notification \"mention\"".to_owned());
            assert!(!id_of(&post).is_empty());
        } else {
            app.create_post(&bob, &format!("post {n}")).await;
            expected.push(format!("post \"post {n}\""));
        }
    }
    let mut stream = SseStream::open(&app, &alice, Some(&start.id)).await;
    let replayed = read_events(&mut stream, expected.len(), "the long replay").await;
    assert_eq!(describe(&replayed), expected);
    app.create_post(&bob, "live").await;
    stream
        .expect_post(
            "post",
            "live",
            "live after the long replay, nothing more before",
        )
        .await;
}

/// A replay reaches back 24 hours: a `Last-Event-ID` older than that replays from 24 hours
/// ago (here: nothing), and live events still come.
async fn a_replay_reaches_back_24_hours(app: TestApp) {
    let [alice, bob] = app.users(&["alice", "bob"]).await.try_into().unwrap();
    app.follow(&alice, "bob").await;
    let mut stream = SseStream::open(&app, &alice, None).await;
    app.create_post(&bob, "b0").await;
    let b0 = stream.expect_post("post", "b0", "b0").await;
    drop(stream);
    app.create_post(&bob, "b1").await;

    // Just under a day later, b1 is still replayed.
    app.advance(Duration::from_secs(24 * 3600 - 60));
    let mut stream = SseStream::open(&app, &alice, Some(&b0.id)).await;
    stream
        .expect_post("post", "b1", "b1 is less than a day old")
        .await;
    drop(stream);

    // Just over a day later, it is not.
    app.advance(Duration::from_secs(120));
    let mut stream = SseStream::open(&app, &alice, Some(&b0.id)).await;
    app.create_post(&bob, "b2").await;
    stream
        .expect_post("post", "b2", "b1 is more than a day old: not replayed")
        .await;
}

/// A `Last-Event-ID` (or `?last_event_id=`) that is not an event id is a 400.
async fn a_malformed_last_event_id_is_refused(app: TestApp) {
    let alice = app.user("alice").await;
    for bad in ["not-an-id", "12345", "019acc05-7c21-7f3e-a4d8"] {
        let request =
            stream_request(&app.client, &app.address, Some(&alice)).header("Last-Event-ID", bad);
        let response = refused(request, bad).await;
        assert_problem(response, 400, "invalid_last_event_id").await;
        let request = stream_request(&app.client, &app.address, Some(&alice))
            .query(&[("last_event_id", bad)]);
        let response = refused(request, bad).await;
        assert_problem(response, 400, "invalid_last_event_id").await;
    }
    // A well-formed id nothing has is fine: there is just nothing after it to replay.
    let mut stream = SseStream::open(&app, &alice, Some(UNKNOWN_ID)).await;
    app.create_post(&alice, "still works").await;
    stream
        .expect_post("post", "still works", "after an unknown but valid id")
        .await;
}

/// Tickets: 201 with the ticket, its expiry 60 s later and the stream's URL; one use; not a
/// token; expired after 60 s. Tokens are not accepted in the query; no credentials is 401.
async fn a_ticket_opens_one_stream_once(app: TestApp) {
    let [alice, bob] = app.users(&["alice", "bob"]).await.try_into().unwrap();
    app.follow(&alice, "bob").await;

    let response = app
        .request(Method::POST, TICKETS, None)
        .send()
        .await
        .unwrap();
    assert_problem_status(response, 401, "a ticket without a token").await;

    let now = app.state.clock.now();
    let response = app
        .request(Method::POST, TICKETS, Some(&alice))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, app.url(STREAM), "Location: where to use it");
    let body: Value = response.json().await.unwrap();
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["expires_at", "ticket"], "{body}");
    assert_eq!(
        timestamp(&body["expires_at"]),
        now + chrono::TimeDelta::seconds(60),
        "valid for 60 s: {body}"
    );
    let ticket = body["ticket"].as_str().unwrap().to_owned();

    // Not a token: neither on the stream nor elsewhere.
    let response = refused(
        stream_request(&app.client, &app.address, Some(&ticket)),
        "ticket as a bearer token",
    )
    .await;
    assert_problem_status(response, 401, "a ticket is no token").await;
    let response = app.get("/api/v1/me", Some(&ticket)).await;
    assert_problem_status(response, 401, "a ticket is no token elsewhere").await;

    // The stream of the ticket is alice's.
    let mut stream = SseStream::open_with_ticket(&app, &ticket, None).await;
    app.create_post(&bob, "for alice").await;
    stream
        .expect_post("post", "for alice", "the ticket's stream is alice's")
        .await;

    // Once only; unknown tickets and tokens in the query are refused; nothing is 401.
    let response = refused(
        stream_with_query(&app, &[("ticket", &ticket)]),
        "second use",
    )
    .await;
    assert_problem_status(response, 401, "a used ticket").await;
    let response = refused(
        stream_with_query(&app, &[("ticket", crate::helpers::UNKNOWN_TOKEN)]),
        "unknown ticket",
    )
    .await;
    assert_problem_status(response, 401, "an unknown ticket").await;
    for name in ["access_token", "token", "bearer"] {
        let response = refused(stream_with_query(&app, &[(name, &alice)]), name).await;
        assert_problem_status(response, 401, "a token in the query").await;
    }
    let response = refused(stream_with_query(&app, &[]), "no credentials").await;
    assert_problem_status(response, 401, "no credentials").await;

    // Of simultaneous uses of one ticket, one opens a stream.
    let contested = ticket_of(&app, &alice).await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let request = stream_with_query(&app, &[("ticket", &contested)]);
        attempts.spawn(async move { SseStream::try_start(request, None).await });
    }
    let mut opened = Vec::new();
    let mut statuses = Vec::new();
    while let Some(attempt) = attempts.join_next().await {
        match attempt.unwrap() {
            Ok(stream) => opened.push(stream),
            Err(response) => statuses.push(response.status()),
        }
    }
    assert_eq!(opened.len(), 1, "one use of a ticket: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    drop(opened);

    // A revoked token opens no stream.
    let revoked = app.token("alice@example.com", PASSWORD).await;
    app.logout(&revoked).await;
    let response = refused(
        stream_request(&app.client, &app.address, Some(&revoked)),
        "revoked token",
    )
    .await;
    assert_problem_status(response, 401, "a revoked token").await;

    // Valid for 60 s, not longer.
    let fresh = ticket_of(&app, &alice).await;
    app.advance(Duration::from_secs(59));
    let _within = SseStream::open_with_ticket(&app, &fresh, None).await;
    let stale = ticket_of(&app, &alice).await;
    app.advance(Duration::from_secs(61));
    let response = refused(stream_with_query(&app, &[("ticket", &stale)]), "expired").await;
    assert_problem_status(response, 401, "an expired ticket").await;

    // A ticket of a token revoked since is no good either.
    let other = app.token("alice@example.com", PASSWORD).await;
    let orphan = ticket_of(&app, &other).await;
    app.logout(&other).await;
    let response = refused(stream_with_query(&app, &[("ticket", &orphan)]), "revoked").await;
    assert_problem_status(response, 401, "the ticket of a revoked token").await;
}

/// A stream ends within 5 s of its token being revoked: by logout (a ticket's stream
/// belongs to the token that made the ticket), by a password change (other tokens), by
/// deleting the account. Streams of other tokens stay open.
async fn revoked_tokens_close_their_streams(app: TestApp) {
    let [alice_1, bob_1, carol] = app
        .users(&["alice", "bob", "carol"])
        .await
        .try_into()
        .unwrap();
    let alice_2 = app.token("alice@example.com", PASSWORD).await;
    let bob_2 = app.token("bob@example.com", PASSWORD).await;
    let ticket = ticket_of(&app, &alice_1).await;
    let mut alice_ticket_stream = SseStream::open_with_ticket(&app, &ticket, None).await;
    let mut alice_2_stream = SseStream::open(&app, &alice_2, None).await;
    let mut bob_1_stream = SseStream::open(&app, &bob_1, None).await;
    let mut bob_2_stream = SseStream::open(&app, &bob_2, None).await;
    let mut carol_stream = SseStream::open(&app, &carol, None).await;

    app.create_post(&alice_2, "before").await;
    alice_ticket_stream
        .expect_post("post", "before", "the ticket's stream is open")
        .await;
    alice_2_stream.expect_post("post", "before", "open").await;

    let revoked = Instant::now();
    app.logout(&alice_1).await;
    let response = app
        .post_json(
            "/api/v1/auth/password",
            &json!({"current_password": PASSWORD, "new_password": "a brand new password"}),
            Some(&bob_2),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "password change");
    app.delete_account(&carol).await;

    for (stream, what) in [
        (
            &mut alice_ticket_stream,
            "the ticket stream of a logged-out token",
        ),
        (
            &mut bob_1_stream,
            "the stream of a token revoked by a password change",
        ),
        (&mut carol_stream, "the stream of a deleted account"),
    ] {
        let left = REVOCATION.saturating_sub(revoked.elapsed());
        assert!(stream.wait_closed(left).await, "{what} ends within 5 s");
    }

    // The sweep that closed those kept these: they still get events.
    app.create_post(&alice_2, "after").await;
    alice_2_stream
        .expect_post("post", "after", "alice's other token's stream stays")
        .await;
    app.create_post(&bob_2, "bob after").await;
    bob_2_stream
        .expect_post("post", "bob after", "the password changer's stream stays")
        .await;
}

/// An account holds at most 8 streams: the 9th is a 429 with `Retry-After`; every one of
/// the 8 gets the account's events; once one is closed, another may open.
async fn an_account_holds_at_most_8_streams(app: TestApp) {
    let [alice, bob] = app.users(&["alice", "bob"]).await.try_into().unwrap();
    let mut streams = Vec::new();
    for _ in 0..8 {
        streams.push(SseStream::open(&app, &alice, None).await);
    }
    let response = refused(
        stream_request(&app.client, &app.address, Some(&alice)),
        "a 9th stream",
    )
    .await;
    let retry_after = response
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse::<u64>()
        .expect("Retry-After in seconds");
    assert!(retry_after > 0);
    assert_problem(response, 429, "too_many_streams").await;
    // A ticket does not get around it.
    let ticket = ticket_of(&app, &alice).await;
    let response = refused(
        stream_with_query(&app, &[("ticket", &ticket)]),
        "9th by ticket",
    )
    .await;
    assert_problem(response, 429, "too_many_streams").await;
    // Another account is not concerned.
    let _bob_stream = SseStream::open(&app, &bob, None).await;

    app.create_post(&alice, "to all eight").await;
    for stream in &mut streams {
        stream
            .expect_post("post", "to all eight", "every open stream gets the event")
            .await;
    }

    drop(streams.pop());
    let ninth = eventually(
        Duration::from_secs(3),
        "a stream opens once one of the 8 is closed",
        async || {
            SseStream::try_start(
                stream_request(&app.client, &app.address, Some(&alice)),
                None,
            )
            .await
            .ok()
        },
    )
    .await;
    streams.push(ninth);
    let response = refused(
        stream_request(&app.client, &app.address, Some(&alice)),
        "8 open again",
    )
    .await;
    assert_problem(response, 429, "too_many_streams").await;
}

both_databases! {
    a_followed_accounts_post_arrives_at_once_as_the_post,
    an_account_deletion_deletes_its_posts_from_the_streams,
    the_feed_rules_decide_who_gets_a_post,
    a_locked_accounts_posts_reach_only_its_followers,
    muted_and_blocked_accounts_do_not_reach,
    edits_and_deletions_reach_as_post_update_and_post_delete,
    notifications_arrive_as_notification_events,
    a_published_schedule_arrives_as_a_post,
    reconnecting_replays_what_was_missed_in_order,
    a_long_replay_misses_nothing,
    a_replay_reaches_back_24_hours,
    a_malformed_last_event_id_is_refused,
    a_ticket_opens_one_stream_once,
    revoked_tokens_close_their_streams,
    an_account_holds_at_most_8_streams,
}

/// An idle stream gets a comment line at least every 30 s (the server sends `: ping`
/// every 15 s), and no event. On SQLite only: it takes 15 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_gets_a_ping_comment() {
    let app = TestApp::sqlite().await;
    let alice = app.user("alice").await;
    let mut stream = SseStream::open(&app, &alice, None).await;
    let opened = Instant::now();
    let comment = stream
        .next_comment(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| {
            panic!(
                "a comment line within 30 s (closed: {})",
                stream.is_closed()
            )
        });
    assert_eq!(comment.trim(), "ping", "the comment line is `: ping`");
    assert!(
        opened.elapsed() <= Duration::from_secs(30),
        "{:?}",
        opened.elapsed()
    );
    assert!(
        stream.received.is_empty(),
        "no event: {:?}",
        stream.received
    );
    // The stream goes on after it.
    app.create_post(&alice, "after the ping").await;
    stream
        .expect_post("post", "after the ping", "events after a ping")
        .await;
}
