//! Scheduled posts: the `/scheduled-posts` endpoints (create with its rules, list, read,
//! edit, cancel, `Idempotency-Key`), the media a schedule reserves, and the publisher that
//! turns due schedules into posts — once, at the right moment, after a restart, on the real
//! clock, and with two server processes sharing one PostgreSQL database.
//!
//! Most scenarios move the manual clock and run publishing passes
//! (`publisher::publish_due`) instead of waiting; the background publisher of the running
//! app reads the same clock, so whichever pass publishes a schedule, the outcome is the same.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, DurationRound, FixedOffset, SecondsFormat, TimeDelta, Utc};
use reqwest::{Method, Response, StatusCode};
use roost::clock::{Clock as _, ManualClock};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::both_databases;
use crate::helpers::{
    POSTS, TestApp, UNKNOWN_TOKEN, assert_problem, assert_refused_field, contents, eventually,
    holds_for, id_of, json_created, json_ok, media_id, media_ids_of, post_path, timestamp,
};

const SCHEDULED: &str = "/api/v1/scheduled-posts";
const MY_POSTS: &str = "/api/v1/me/posts";
const FEED: &str = "/api/v1/feed";

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The application's now (its manual clock, or the real one).
fn now(app: &TestApp) -> DateTime<Utc> {
    app.state.clock.now()
}

/// `by` after the application's now.
fn after(app: &TestApp, by: Duration) -> DateTime<Utc> {
    now(app) + TimeDelta::from_std(by).unwrap()
}

/// RFC 3339 in UTC with a `Z`, with as many fractional digits as needed.
fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// RFC 3339 with the offset `hours` east of UTC.
fn rfc3339_at_offset(time: DateTime<Utc>, hours: i32) -> String {
    time.with_timezone(&FixedOffset::east_opt(hours * 3600).unwrap())
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn schedule_path(id: &str) -> String {
    format!("{SCHEDULED}/{id}")
}

/// `POST /scheduled-posts` with `body`.
async fn send_schedule(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    app.post_json(SCHEDULED, body, token).await
}

/// `POST /scheduled-posts` with an `Idempotency-Key`.
async fn send_keyed(app: &TestApp, token: &str, key: &str, body: &Value) -> Response {
    app.request(Method::POST, SCHEDULED, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Schedules `content` (no media) for `publish_at`; must answer 201. Returns the schedule.
async fn schedule(app: &TestApp, token: &str, content: &str, publish_at: DateTime<Utc>) -> Value {
    schedule_with(app, token, content, &[], publish_at).await
}

/// Schedules `content` with `media_ids` for `publish_at`; must answer 201.
async fn schedule_with(
    app: &TestApp,
    token: &str,
    content: &str,
    media_ids: &[&str],
    publish_at: DateTime<Utc>,
) -> Value {
    let body =
        json!({"content": content, "media_ids": media_ids, "publish_at": rfc3339(publish_at)});
    json_created(
        send_schedule(app, Some(token), &body).await,
        &body.to_string(),
    )
    .await
}

async fn get_schedule(app: &TestApp, token: Option<&str>, id: &str) -> Response {
    app.get(&schedule_path(id), token).await
}

async fn patch_schedule(app: &TestApp, token: Option<&str>, id: &str, body: &Value) -> Response {
    app.request(Method::PATCH, &schedule_path(id), token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `PATCH /scheduled-posts/{id}` that must answer 200; returns the schedule.
async fn patch_ok(app: &TestApp, token: &str, id: &str, body: &Value) -> Value {
    json_ok(
        patch_schedule(app, Some(token), id, body).await,
        &format!("PATCH {id} {body}"),
    )
    .await
}

async fn cancel(app: &TestApp, token: Option<&str>, id: &str) -> Response {
    app.request(Method::DELETE, &schedule_path(id), token)
        .send()
        .await
        .unwrap()
}

/// The contents of one's schedules (first page of up to 100), in list order.
async fn scheduled_contents(app: &TestApp, token: &str) -> Vec<String> {
    app.list_contents(SCHEDULED, Some(token)).await
}

/// The schedule `id` no longer exists for `token`: read, edit and cancel are 404.
async fn assert_no_schedule(app: &TestApp, token: &str, id: &str) {
    assert_problem(get_schedule(app, Some(token), id).await, 404, "not_found").await;
    let response = patch_schedule(app, Some(token), id, &json!({"content": "x"})).await;
    assert_problem(response, 404, "not_found").await;
    assert_problem(cancel(app, Some(token), id).await, 404, "not_found").await;
}

/// The posts of `GET /me/posts` (first page of up to 100), newest first.
async fn my_posts(app: &TestApp, token: &str) -> Vec<Value> {
    app.get_ok(&format!("{MY_POSTS}?limit=100"), Some(token))
        .await["items"]
        .as_array()
        .expect("a list")
        .clone()
}

// ---------------------------------------------------------------------------------------
// Create
// ---------------------------------------------------------------------------------------

async fn creating_a_schedule_answers_201_with_its_location_and_the_schedule(app: TestApp) {
    let alice = app.user("alice").await;
    let publish_at = after(&app, DAY + Duration::from_millis(1234));
    let response = send_schedule(
        &app,
        Some(&alice),
        &json!({
            "content": "  Launch day! #Rust #launch, #RUST and #café \n\t",
            "publish_at": rfc3339_at_offset(publish_at, 2),
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let schedule: Value = response.json().await.unwrap();

    let mut fields: Vec<&str> = schedule
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "content",
            "created_at",
            "id",
            "media",
            "publish_at",
            "tags",
            "visibility"
        ]
    );
    let id = id_of(&schedule);
    assert!(!id.is_empty());
    assert_eq!(
        schedule["content"],
        "Launch day! #Rust #launch, #RUST and #café"
    );
    assert_eq!(schedule["tags"], json!(["rust", "launch", "café"]));
    assert_eq!(schedule["media"], json!([]));
    assert_eq!(
        timestamp(&schedule["publish_at"]),
        publish_at,
        "publish_at is the same instant, in UTC: {schedule}"
    );
    assert_eq!(timestamp(&schedule["created_at"]), now(&app));

    assert_eq!(
        location,
        app.url(&schedule_path(&id)),
        "Location is absolute"
    );
    let fetched = json_ok(
        app.client
            .get(&location)
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
        &location,
    )
    .await;
    assert_eq!(fetched, schedule, "the Location serves the same schedule");

    // Not a post yet, anywhere.
    assert!(my_posts(&app, &alice).await.is_empty());
    assert!(app.list_contents(POSTS, None).await.is_empty());
    assert_eq!(app.posts_count("alice").await, 0);
    assert_eq!(
        app.get_ok("/api/v1/tags/launch", None).await["post_count"],
        0
    );
}

async fn every_scheduled_post_endpoint_needs_a_token(app: TestApp) {
    let alice = app.user("alice").await;
    let schedule = schedule(&app, &alice, "mine", after(&app, HOUR)).await;
    let id = id_of(&schedule);
    let body = json!({"content": "theirs", "publish_at": rfc3339(after(&app, HOUR))});
    for token in [None, Some(UNKNOWN_TOKEN)] {
        let code = if token.is_none() {
            "unauthorized"
        } else {
            "invalid_token"
        };
        let responses = [
            send_schedule(&app, token, &body).await,
            app.get(SCHEDULED, token).await,
            get_schedule(&app, token, &id).await,
            patch_schedule(&app, token, &id, &json!({"content": "theirs"})).await,
            cancel(&app, token, &id).await,
        ];
        for response in responses {
            let what = format!("{} {}", response.url(), code);
            let challenge = response.headers()["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
            assert_problem(response, 401, code).await;
        }
    }
    assert_eq!(scheduled_contents(&app, &alice).await, ["mine"]);
    assert_eq!(
        app.get_ok(&schedule_path(&id), Some(&alice)).await,
        schedule
    );
}

async fn publish_at_must_be_rfc3339_in_the_future_and_within_a_year(app: TestApp) {
    let alice = app.user("alice").await;
    let current = now(&app);
    let year = TimeDelta::days(365);
    let refused: Vec<(String, Value)> = vec![
        (
            "a minute ago".into(),
            json!(rfc3339(current - TimeDelta::minutes(1))),
        ),
        ("now".into(), json!(rfc3339(current))),
        (
            "now, at another offset".into(),
            json!(rfc3339_at_offset(current, -7)),
        ),
        (
            "a year and a second ahead".into(),
            json!(rfc3339(current + year + TimeDelta::seconds(1))),
        ),
        ("two years ahead".into(), json!(rfc3339(current + year * 2))),
        ("a word".into(), json!("tomorrow")),
        (
            "no offset".into(),
            json!(
                (current + TimeDelta::days(1))
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
            ),
        ),
        (
            "a date only".into(),
            json!(
                (current + TimeDelta::days(1))
                    .format("%Y-%m-%d")
                    .to_string()
            ),
        ),
        ("empty".into(), json!("")),
        (
            "a number".into(),
            json!((current + TimeDelta::days(1)).timestamp()),
        ),
        ("null".into(), Value::Null),
    ];
    for (what, publish_at) in refused {
        let body = json!({"content": what, "publish_at": publish_at});
        let response = send_schedule(&app, Some(&alice), &body).await;
        assert_refused_field(response, "publish_at", &what).await;
    }
    let response = send_schedule(&app, Some(&alice), &json!({"content": "no time"})).await;
    assert_refused_field(response, "publish_at", "missing").await;
    assert!(scheduled_contents(&app, &alice).await.is_empty());

    // The bounds themselves: a second ahead, and exactly 365 days ahead.
    let soon = schedule(
        &app,
        &alice,
        "a second ahead",
        current + TimeDelta::seconds(1),
    )
    .await;
    assert_eq!(
        timestamp(&soon["publish_at"]),
        current + TimeDelta::seconds(1)
    );
    let far = schedule(&app, &alice, "a year ahead", current + year).await;
    assert_eq!(timestamp(&far["publish_at"]), current + year);
    // Any offset is accepted; the answer is in UTC.
    let offset = current + TimeDelta::hours(5);
    let body = json!({"content": "west", "publish_at": rfc3339_at_offset(offset, -5)});
    let west = json_created(send_schedule(&app, Some(&alice), &body).await, "west").await;
    assert_eq!(timestamp(&west["publish_at"]), offset);
    assert_eq!(
        scheduled_contents(&app, &alice).await,
        ["a second ahead", "west", "a year ahead"]
    );
}

async fn schedule_content_follows_the_post_rules(app: TestApp) {
    let alice = app.user("alice").await;
    let publish_at = json!(rfc3339(after(&app, HOUR)));
    let refused = [
        ("empty", json!("")),
        ("blank", json!("   \n\t ")),
        ("501 characters", json!("x".repeat(501))),
        ("a NUL", json!("a\u{0}b")),
        ("a number", json!(42)),
        ("null", Value::Null),
    ];
    for (what, content) in refused {
        let body = json!({"content": content, "publish_at": publish_at});
        let response = send_schedule(&app, Some(&alice), &body).await;
        assert_refused_field(response, "content", what).await;
    }
    let response = send_schedule(&app, Some(&alice), &json!({"publish_at": publish_at})).await;
    assert_refused_field(response, "content", "missing").await;
    assert!(scheduled_contents(&app, &alice).await.is_empty());

    // 500 characters (Unicode scalar values, not bytes) after trimming are fine.
    let long = "é".repeat(500);
    let body = json!({"content": format!("  {long}  "), "publish_at": publish_at});
    let accepted = json_created(send_schedule(&app, Some(&alice), &body).await, "500 é").await;
    assert_eq!(accepted["content"], long.as_str());
    // Empty content is allowed when media is attached.
    let media = app.upload_image(&alice).await;
    let body = json!({"content": "  ", "media_ids": [media_id(&media)], "publish_at": publish_at});
    let picture = json_created(send_schedule(&app, Some(&alice), &body).await, "media only").await;
    assert_eq!(picture["content"], "");
    assert_eq!(picture["tags"], json!([]));
    assert_eq!(picture["media"], json!([media]));
    assert_eq!(scheduled_contents(&app, &alice).await.len(), 2);
}

async fn schedule_media_ids_are_checked_and_a_refusal_reserves_nothing(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut free = Vec::new();
    for _ in 0..5 {
        free.push(app.upload_image(&alice).await);
    }
    let ids: Vec<&str> = free.iter().map(media_id).collect();
    let bobs = app.upload_image(&bob).await;
    let on_a_post = app.upload_image(&alice).await;
    app.create_post_with_media(&alice, &[media_id(&on_a_post)])
        .await;

    let unknown = uuid::Uuid::now_v7().to_string();
    let refused: Vec<(&str, Vec<&str>)> = vec![
        ("five media", ids.clone()),
        ("someone else's", vec![ids[0], media_id(&bobs)]),
        ("attached to a post", vec![ids[0], media_id(&on_a_post)]),
        ("unknown", vec![ids[0], unknown.as_str()]),
        ("not an id", vec![ids[0], "not-a-media-id"]),
        ("twice", vec![ids[0], ids[1], ids[0]]),
    ];
    let publish_at = rfc3339(after(&app, HOUR));
    for (what, media_ids) in refused {
        let body = json!({"content": what, "media_ids": media_ids, "publish_at": publish_at});
        let response = send_schedule(&app, Some(&alice), &body).await;
        assert_refused_field(response, "media_ids", what).await;
    }
    let body = json!({"content": "wrong type", "media_ids": "abc", "publish_at": publish_at});
    let response = send_schedule(&app, Some(&alice), &body).await;
    assert_refused_field(response, "media_ids", "a string").await;
    assert!(scheduled_contents(&app, &alice).await.is_empty());

    // None of the refused requests reserved anything: four of them go into one schedule,
    // in the order given.
    let chosen = [ids[3], ids[0], ids[2], ids[1]];
    let reserved = schedule_with(&app, &alice, "four", &chosen, after(&app, HOUR)).await;
    assert_eq!(media_ids_of(&reserved), chosen);
    let by_id: BTreeMap<&str, &Value> = free.iter().map(|m| (media_id(m), m)).collect();
    let expected: Vec<Value> = chosen.iter().map(|id| by_id[id].clone()).collect();
    assert_eq!(reserved["media"], json!(expected), "full Media objects");
    // And the fifth is still free.
    app.create_post_with_media(&alice, &[ids[4]]).await;
    // Bob cannot use alice's media either.
    let body = json!({"content": "bob", "media_ids": [ids[4]], "publish_at": publish_at});
    let response = send_schedule(&app, Some(&bob), &body).await;
    assert_refused_field(response, "media_ids", "bob with alice's").await;
}

async fn an_idempotency_key_replays_the_first_schedule(app: TestApp) {
    let alice = app.user("alice").await;
    let media = app.upload_image(&alice).await;
    let publish_at = after(&app, 3 * HOUR);
    let body = json!({"content": "once #scheduled", "media_ids": [media_id(&media)], "publish_at": rfc3339(publish_at)});
    let response = send_keyed(&app, &alice, "plan-1", &body).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let first = json_created(response, "first").await;
    assert_eq!(location, app.url(&schedule_path(&id_of(&first))));
    // The same body again, also with the same instant written at another offset.
    let same_instant = json!({"content": "once #scheduled", "media_ids": [media_id(&media)], "publish_at": rfc3339_at_offset(publish_at, 9)});
    for again in [&body, &body, &same_instant] {
        let response = send_keyed(&app, &alice, "plan-1", again).await;
        assert_eq!(
            response.headers()["location"].to_str().unwrap(),
            location,
            "same Location"
        );
        let replayed = json_created(response, "replay").await;
        assert_eq!(replayed, first, "the same schedule");
    }
    assert_eq!(scheduled_contents(&app, &alice).await, ["once #scheduled"]);

    // The same key with another body.
    let others = [
        json!({"content": "twice #scheduled", "media_ids": [media_id(&media)], "publish_at": rfc3339(publish_at)}),
        json!({"content": "once #scheduled", "publish_at": rfc3339(publish_at)}),
        json!({"content": "once #scheduled", "media_ids": [media_id(&media)], "publish_at": rfc3339(publish_at + TimeDelta::seconds(1))}),
    ];
    for other in &others {
        let response = send_keyed(&app, &alice, "plan-1", other).await;
        assert_problem(response, 422, "idempotency_key_reused").await;
    }
    assert_eq!(scheduled_contents(&app, &alice).await, ["once #scheduled"]);

    // Another key is another schedule.
    let body = json!({"content": "twice", "publish_at": rfc3339(publish_at)});
    let second = json_created(send_keyed(&app, &alice, "plan-2", &body).await, "plan-2").await;
    assert_ne!(second["id"], first["id"]);
    // A key is one request, whatever it created: a post's key cannot create a schedule, nor
    // a schedule's key a post.
    let response = app
        .request(Method::POST, POSTS, Some(&alice))
        .header("Idempotency-Key", "post-key")
        .json(&json!({"content": "a post"}))
        .send()
        .await
        .unwrap();
    json_created(response, "keyed post").await;
    let response = send_keyed(&app, &alice, "post-key", &body).await;
    assert_problem(response, 422, "idempotency_key_reused").await;
    let response = app
        .request(Method::POST, POSTS, Some(&alice))
        .header("Idempotency-Key", "plan-2")
        .json(&json!({"content": "twice"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "idempotency_key_reused").await;
    assert_eq!(scheduled_contents(&app, &alice).await.len(), 2);
    assert_eq!(app.posts_count("alice").await, 1);
    let response = send_keyed(&app, &alice, &"k".repeat(256), &body).await;
    assert_problem(response, 400, "invalid_idempotency_key").await;
}

async fn parallel_retries_with_one_key_create_one_schedule(app: TestApp) {
    let alice = app.user("alice").await;
    let body = json!({"content": "raced", "publish_at": rfc3339(after(&app, HOUR))});
    let mut set = JoinSet::new();
    for _ in 0..10 {
        let request = app
            .request(Method::POST, SCHEDULED, Some(&alice))
            .header("Idempotency-Key", "parallel")
            .json(&body);
        set.spawn(async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        });
    }
    let mut ids = BTreeSet::new();
    while let Some(result) = set.join_next().await {
        let (status, text) = result.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let schedule: Value = serde_json::from_str(&text).unwrap();
        ids.insert(id_of(&schedule));
    }
    assert_eq!(ids.len(), 1, "one and the same schedule: {ids:?}");
    assert_eq!(scheduled_contents(&app, &alice).await, ["raced"]);
}

/// The statuses the OpenAPI document lists for `method path`.
fn documented_statuses(method: &str, path: &str) -> Vec<u16> {
    let document = serde_json::to_value(roost::docs::openapi()).unwrap();
    document["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is documented"))
        .keys()
        .map(|status| status.parse().unwrap())
        .collect()
}

/// A keyed retry after the schedule was cancelled cannot replay it. The server may start
/// afresh (as `POST /posts` does once its post is deleted) or refuse, but it answers with a
/// status its OpenAPI document lists for the operation, and creates at most one schedule.
async fn a_keyed_retry_after_cancelling_answers_a_documented_status(app: TestApp) {
    let alice = app.user("alice").await;
    let body = json!({"content": "on and off", "publish_at": rfc3339(after(&app, HOUR))});
    let first = json_created(send_keyed(&app, &alice, "retry", &body).await, "first").await;
    let response = cancel(&app, Some(&alice), &id_of(&first)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = send_keyed(&app, &alice, "retry", &body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    let documented = documented_statuses("post", "/api/v1/scheduled-posts");
    assert!(
        documented.contains(&status.as_u16()),
        "a keyed retry after cancelling answered {status} ({text}); POST /scheduled-posts \
         documents only {documented:?}"
    );
    let listed = scheduled_contents(&app, &alice).await;
    if status == StatusCode::CREATED {
        let again: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(
            again["id"], first["id"],
            "the cancelled schedule is not back"
        );
        assert_eq!(listed, ["on and off"]);
    } else {
        assert!(listed.is_empty(), "{status}: {listed:?}");
    }
}

/// Creates a schedule for `publish_at` with `key`. Unless it is refused (422 on
/// `publish_at`), it must read back as it was answered: the create response, `GET` and an
/// `Idempotency-Key` replay (which must be "the first response again") agree. Returns the
/// schedule, if created.
async fn assert_reads_back_as_answered(
    app: &TestApp,
    token: &str,
    key: &str,
    publish_at: &str,
) -> Option<Value> {
    let body = json!({"content": format!("at {publish_at}"), "publish_at": publish_at});
    let response = send_keyed(app, token, key, &body).await;
    if response.status() == StatusCode::UNPROCESSABLE_ENTITY {
        assert_refused_field(response, "publish_at", publish_at).await;
        return None;
    }
    let first = json_created(response, publish_at).await;
    let fetched = app
        .get_ok(&schedule_path(&id_of(&first)), Some(token))
        .await;
    assert_eq!(
        fetched["publish_at"], first["publish_at"],
        "publish_at {publish_at}: GET disagrees with the create response"
    );
    let replayed = json_created(send_keyed(app, token, key, &body).await, "replay").await;
    assert_eq!(
        replayed, first,
        "publish_at {publish_at}: the replay is the first response again"
    );
    Some(first)
}

/// Both databases store microseconds: a `publish_at` with finer digits may be refused or
/// cut to microseconds, but never answered with digits that are not kept.
async fn a_sub_microsecond_publish_at_reads_back_as_it_was_answered(app: TestApp) {
    let alice = app.user("alice").await;
    let day = (now(&app) + TimeDelta::days(10)).format("%Y-%m-%d");
    for (i, publish_at) in [
        format!("{day}T12:00:00.123456789Z"),
        format!("{day}T12:00:00.1234565+02:00"),
    ]
    .iter()
    .enumerate()
    {
        let key = format!("precise-{i}");
        if let Some(first) = assert_reads_back_as_answered(&app, &alice, &key, publish_at).await {
            let asked = DateTime::parse_from_rfc3339(publish_at)
                .unwrap()
                .with_timezone(&Utc);
            let answered = timestamp(&first["publish_at"]);
            assert!(
                (answered - asked).abs() < TimeDelta::microseconds(1),
                "{publish_at} answered as {answered}"
            );
        }
    }
}

/// A leap second (`:60`, which RFC 3339 syntax allows, though no leap second is scheduled)
/// may be refused or taken as the next second, but must read back as it was answered.
async fn a_leap_second_publish_at_reads_back_as_it_was_answered(app: TestApp) {
    let alice = app.user("alice").await;
    let day = (now(&app) + TimeDelta::days(10)).format("%Y-%m-%d");
    for (i, publish_at) in [
        format!("{day}T23:59:60Z"),
        format!("{day}T23:59:60.5+01:00"),
    ]
    .iter()
    .enumerate()
    {
        assert_reads_back_as_answered(&app, &alice, &format!("leap-{i}"), publish_at).await;
    }
}

both_databases!(
    creating_a_schedule_answers_201_with_its_location_and_the_schedule,
    a_sub_microsecond_publish_at_reads_back_as_it_was_answered,
    a_leap_second_publish_at_reads_back_as_it_was_answered,
    every_scheduled_post_endpoint_needs_a_token,
    publish_at_must_be_rfc3339_in_the_future_and_within_a_year,
    schedule_content_follows_the_post_rules,
    schedule_media_ids_are_checked_and_a_refusal_reserves_nothing,
    an_idempotency_key_replays_the_first_schedule,
    parallel_retries_with_one_key_create_one_schedule,
    a_keyed_retry_after_cancelling_answers_a_documented_status,
);

// ---------------------------------------------------------------------------------------
// Media reservation
// ---------------------------------------------------------------------------------------

async fn reserved_media_is_released_by_cancelling_and_replaced_by_editing(app: TestApp) {
    let alice = app.user("alice").await;
    let mut uploads = Vec::new();
    for _ in 0..4 {
        uploads.push(app.upload_image(&alice).await);
    }
    let [m1, m2, m3, m4] = [0, 1, 2, 3].map(|i| media_id(&uploads[i]));
    let first = schedule_with(&app, &alice, "first", &[m1, m2], after(&app, HOUR)).await;
    let first_id = id_of(&first);
    assert_eq!(media_ids_of(&first), [m1, m2]);

    // Reserved: neither a post nor another schedule can have it.
    app.assert_not_attachable(&alice, &[m1], "m1 is reserved")
        .await;
    app.assert_not_attachable(&alice, &[m3, m2], "m2 is reserved")
        .await;
    let body =
        json!({"content": "second", "media_ids": [m2], "publish_at": rfc3339(after(&app, HOUR))});
    let response = send_schedule(&app, Some(&alice), &body).await;
    assert_refused_field(response, "media_ids", "m2 for a second schedule").await;

    // Editing the media releases the old ones and reserves the new, in the order given.
    let edited = patch_ok(&app, &alice, &first_id, &json!({"media_ids": [m3, m1]})).await;
    assert_eq!(media_ids_of(&edited), [m3, m1]);
    assert_eq!(edited["content"], "first");
    assert_eq!(
        media_ids_of(&app.get_ok(&schedule_path(&first_id), Some(&alice)).await),
        [m3, m1]
    );
    app.assert_not_attachable(&alice, &[m3], "m3 is now reserved")
        .await;
    let post = app.create_post_with_media(&alice, &[m2]).await;
    assert_eq!(media_ids_of(&post), [m2]);

    // A refused edit keeps the reservation as it was: m2 is on a post now.
    let response = patch_schedule(
        &app,
        Some(&alice),
        &first_id,
        &json!({"media_ids": [m4, m2]}),
    )
    .await;
    assert_refused_field(response, "media_ids", "m2 is on a post").await;
    let unchanged = app.get_ok(&schedule_path(&first_id), Some(&alice)).await;
    assert_eq!(unchanged, edited, "a refused edit changes nothing");
    app.assert_not_attachable(&alice, &[m1], "m1 is still reserved")
        .await;
    let other = schedule_with(&app, &alice, "other", &[m4], after(&app, 2 * HOUR)).await;
    assert_eq!(
        media_ids_of(&other),
        [m4],
        "m4 was not reserved by the refused edit"
    );

    // Taking the media away from a schedule without content is refused: the post would be
    // empty.
    let bare = patch_ok(&app, &alice, &id_of(&other), &json!({"content": " "})).await;
    assert_eq!(
        bare["content"], "",
        "empty content is fine while media is attached"
    );
    let response = patch_schedule(
        &app,
        Some(&alice),
        &id_of(&other),
        &json!({"media_ids": []}),
    )
    .await;
    assert_refused_field(response, "content", "no content and no media").await;
    assert_eq!(
        app.get_ok(&schedule_path(&id_of(&other)), Some(&alice))
            .await,
        bare
    );

    // Cancelling releases the media: they can go on a post, or on another schedule.
    assert_eq!(
        cancel(&app, Some(&alice), &first_id).await.status(),
        StatusCode::NO_CONTENT
    );
    let post = app.create_post_with_media(&alice, &[m1]).await;
    assert_eq!(media_ids_of(&post), [m1]);
    let again = schedule_with(&app, &alice, "again", &[m3], after(&app, HOUR)).await;
    assert_eq!(media_ids_of(&again), [m3]);
    assert_eq!(
        cancel(&app, Some(&alice), &id_of(&other)).await.status(),
        StatusCode::NO_CONTENT
    );
    let post = app.create_post_with_media(&alice, &[m4]).await;
    assert_eq!(media_ids_of(&post), [m4]);
}

async fn reserved_media_outlives_the_cleanup_and_is_published_in_order(app: TestApp) {
    let alice = app.user("alice").await;
    let mut uploads = Vec::new();
    for _ in 0..5 {
        uploads.push(app.upload_image(&alice).await);
    }
    let [m1, m2, m3, never, released] = [0, 1, 2, 3, 4].map(|i| media_id(&uploads[i]));
    let publish_at = after(&app, 2 * DAY);
    let album = schedule_with(&app, &alice, "Album #photos", &[m3, m1, m2], publish_at).await;
    let to_cancel = schedule_with(&app, &alice, "", &[released], publish_at).await;

    // A day and an hour later the clean-up deletes only the upload nobody reserved.
    app.advance(DAY + HOUR);
    let removed = roost::media::cleanup::run_once(&app.state).await.unwrap();
    assert_eq!(removed, 1, "only the never-used upload is cleaned up");
    app.assert_files(&uploads[3], false).await;
    for media in &album["media"].as_array().unwrap().clone() {
        app.assert_files(media, true).await;
    }
    app.assert_files(&uploads[4], true).await;
    let fetched = app
        .get_ok(&schedule_path(&id_of(&album)), Some(&alice))
        .await;
    assert_eq!(fetched, album, "the schedule still has its media");
    app.assert_not_attachable(&alice, &[never], "the cleaned-up upload is gone")
        .await;

    // Cancelled after a day, the released upload is as old as any unattached one: cleaned up.
    assert_eq!(
        cancel(&app, Some(&alice), &id_of(&to_cancel))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        roost::media::cleanup::run_once(&app.state).await.unwrap(),
        1
    );
    app.assert_files(&uploads[4], false).await;

    // Published a day later: the post carries the media, in the schedule's order.
    app.advance(DAY);
    app.publish_due().await;
    let posts = my_posts(&app, &alice).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["content"], "Album #photos");
    assert_eq!(media_ids_of(&posts[0]), [m3, m1, m2]);
    assert_eq!(posts[0]["media"], album["media"], "the same Media objects");
    assert_eq!(
        roost::media::cleanup::run_once(&app.state).await.unwrap(),
        0
    );
    for media in posts[0]["media"].as_array().unwrap() {
        app.assert_files(media, true).await;
    }
    // On a post now, they stay attached to it.
    app.assert_not_attachable(&alice, &[m1], "m1 is on the published post")
        .await;
}

both_databases!(
    reserved_media_is_released_by_cancelling_and_replaced_by_editing,
    reserved_media_outlives_the_cleanup_and_is_published_in_order,
);

// ---------------------------------------------------------------------------------------
// List, read, edit, cancel
// ---------------------------------------------------------------------------------------

async fn schedules_are_listed_soonest_first_and_only_to_their_author(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let base = after(&app, HOUR);
    let ms = TimeDelta::milliseconds;
    // Created in this order; three share one publish_at (the page boundary falls among them).
    let plan = [
        ("c4", base + TimeDelta::hours(3) + ms(250)),
        ("t1", base),
        ("c6", base + TimeDelta::days(30)),
        ("t2", base),
        ("c5", base + TimeDelta::hours(3) + ms(500)),
        ("t3", base),
        ("c7", base + TimeDelta::days(300)),
        ("c3", base + ms(1)),
    ];
    let mut created = BTreeMap::new();
    for (content, publish_at) in plan {
        let schedule = schedule(&app, &alice, content, publish_at).await;
        created.insert(content.to_owned(), schedule);
    }
    schedule(&app, &bob, "bob's", base - TimeDelta::minutes(30)).await;

    let soonest_first = ["t1", "t2", "t3", "c3", "c4", "c5", "c6", "c7"];
    let page = app
        .get_ok(&format!("{SCHEDULED}?limit=100"), Some(&alice))
        .await;
    assert_eq!(contents(&page), soonest_first);
    assert_eq!(page["next_cursor"], Value::Null);
    for item in page["items"].as_array().unwrap() {
        assert_eq!(
            item,
            &created[item["content"].as_str().unwrap()],
            "list item"
        );
    }
    let expected: Vec<Vec<String>> = soonest_first
        .chunks(2)
        .map(|chunk| chunk.iter().map(|c| (*c).to_owned()).collect())
        .collect();
    assert_eq!(
        app.walk(&format!("{SCHEDULED}?limit=2"), Some(&alice), 2, contents)
            .await,
        expected
    );
    assert_eq!(
        app.walk(&format!("{SCHEDULED}?limit=3"), Some(&alice), 3, contents)
            .await
            .concat(),
        soonest_first
    );
    assert_eq!(scheduled_contents(&app, &bob).await, ["bob's"]);
    let carol = app.user("carol").await;
    assert_eq!(
        app.get_ok(SCHEDULED, Some(&carol)).await,
        json!({"items": [], "next_cursor": null})
    );
    // Published posts are not scheduled: alice's own post does not show up.
    app.create_post(&alice, "a post").await;
    assert_eq!(scheduled_contents(&app, &alice).await, soonest_first);
}

async fn the_schedule_list_refuses_bad_limits_and_cursors(app: TestApp) {
    use base64::Engine as _;
    let b64 = |raw: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let alice = app.user("alice").await;
    schedule(&app, &alice, "one", after(&app, HOUR)).await;
    schedule(&app, &alice, "two", after(&app, 2 * HOUR)).await;
    for limit in ["0", "101", "-1", "abc", ""] {
        let response = app
            .get(&format!("{SCHEDULED}?limit={limit}"), Some(&alice))
            .await;
        assert_problem(response, 400, "invalid_limit").await;
    }
    let id = uuid::Uuid::now_v7().to_string();
    let at = rfc3339(now(&app));
    for cursor in [
        "garbage".to_owned(),
        b64(&format!("1|{id}")),
        b64(&format!("1|not-a-time|{id}")),
        b64(&format!("1|{at}|not-a-uuid")),
        b64(&format!("1|{at}|{id}|x")),
        b64(&format!("2|{at}|{id}")),
    ] {
        let response = app
            .get(&format!("{SCHEDULED}?cursor={cursor}"), Some(&alice))
            .await;
        assert_problem(response, 400, "invalid_cursor").await;
    }
    let page = app
        .get_ok(&format!("{SCHEDULED}?limit=1"), Some(&alice))
        .await;
    assert_eq!(contents(&page), ["one"]);
    assert!(page["next_cursor"].is_string());
}

async fn a_schedule_is_readable_only_by_its_author(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let schedule = schedule(&app, &alice, "private plans", after(&app, HOUR)).await;
    let id = id_of(&schedule);
    assert_eq!(
        app.get_ok(&schedule_path(&id), Some(&alice)).await,
        schedule
    );
    assert_problem(get_schedule(&app, Some(&bob), &id).await, 404, "not_found").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for other in [unknown.as_str(), "not-an-id", "123", "%20"] {
        let response = get_schedule(&app, Some(&alice), other).await;
        assert_problem(response, 404, "not_found").await;
    }
    // Nor is it a post.
    let response = app.get(&post_path(&id), None).await;
    assert_problem(response, 404, "not_found").await;
}

async fn the_author_can_edit_a_schedule(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let original = schedule(&app, &alice, "first #One", after(&app, HOUR)).await;
    let id = id_of(&original);

    let edited = patch_ok(
        &app,
        &alice,
        &id,
        &json!({"content": "  second #Two #two\n"}),
    )
    .await;
    assert_eq!(edited["id"], original["id"]);
    assert_eq!(edited["content"], "second #Two #two");
    assert_eq!(edited["tags"], json!(["two"]));
    assert_eq!(edited["publish_at"], original["publish_at"]);
    assert_eq!(edited["created_at"], original["created_at"]);

    let later = after(&app, 5 * HOUR + Duration::from_micros(250));
    let moved = patch_ok(
        &app,
        &alice,
        &id,
        &json!({"publish_at": rfc3339_at_offset(later, -5)}),
    )
    .await;
    assert_eq!(timestamp(&moved["publish_at"]), later, "{moved}");
    assert_eq!(moved["content"], "second #Two #two");

    let media = app.upload_image(&alice).await;
    let with_media = patch_ok(&app, &alice, &id, &json!({"media_ids": [media_id(&media)]})).await;
    assert_eq!(with_media["media"], json!([media]));
    assert_eq!(with_media["content"], "second #Two #two");
    assert_eq!(timestamp(&with_media["publish_at"]), later);

    let all = patch_ok(
        &app,
        &alice,
        &id,
        &json!({"content": "third", "media_ids": [], "publish_at": rfc3339(after(&app, 2 * HOUR))}),
    )
    .await;
    assert_eq!(all["content"], "third");
    assert_eq!(all["media"], json!([]));
    assert_eq!(timestamp(&all["publish_at"]), after(&app, 2 * HOUR));
    assert_eq!(all["created_at"], original["created_at"]);
    let unchanged = patch_ok(&app, &alice, &id, &json!({})).await;
    assert_eq!(unchanged, all, "an empty edit changes nothing");
    assert_eq!(app.get_ok(&schedule_path(&id), Some(&alice)).await, all);
    assert_eq!(scheduled_contents(&app, &alice).await, ["third"]);

    // Refused edits change nothing.
    let current = now(&app);
    let refused = [
        ("content", json!({"content": ""})),
        ("content", json!({"content": " \n "})),
        ("content", json!({"content": "x".repeat(501)})),
        ("content", json!({"content": 42})),
        (
            "publish_at",
            json!({"publish_at": rfc3339(current - TimeDelta::seconds(1))}),
        ),
        ("publish_at", json!({"publish_at": rfc3339(current)})),
        (
            "publish_at",
            json!({"publish_at": rfc3339(current + TimeDelta::days(366))}),
        ),
        ("publish_at", json!({"publish_at": "soon"})),
        (
            "publish_at",
            json!({"content": "fine", "publish_at": "soon"}),
        ),
        ("media_ids", json!({"media_ids": ["not-an-id"]})),
        (
            "media_ids",
            json!({"content": "fine", "media_ids": [uuid::Uuid::now_v7().to_string()]}),
        ),
    ];
    for (field, body) in refused {
        let response = patch_schedule(&app, Some(&alice), &id, &body).await;
        assert_refused_field(response, field, &body.to_string()).await;
        assert_eq!(
            app.get_ok(&schedule_path(&id), Some(&alice)).await,
            all,
            "after {body}"
        );
    }
    // Someone else's schedule, or none, is not found.
    let unknown = uuid::Uuid::now_v7().to_string();
    for (token, target) in [
        (&bob, id.as_str()),
        (&alice, unknown.as_str()),
        (&alice, "nope"),
    ] {
        let response = patch_schedule(&app, Some(token), target, &json!({"content": "mine"})).await;
        assert_problem(response, 404, "not_found").await;
    }
    assert_eq!(app.get_ok(&schedule_path(&id), Some(&alice)).await, all);
}

async fn the_author_can_cancel_a_schedule_once(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let doomed = schedule(&app, &alice, "doomed", after(&app, HOUR)).await;
    let kept = schedule(&app, &alice, "kept", after(&app, 2 * HOUR)).await;

    let response = cancel(&app, Some(&bob), &id_of(&kept)).await;
    assert_problem(response, 404, "not_found").await;
    assert_eq!(scheduled_contents(&app, &alice).await, ["doomed", "kept"]);

    let response = cancel(&app, Some(&alice), &id_of(&doomed)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());
    assert_no_schedule(&app, &alice, &id_of(&doomed)).await;
    assert_eq!(scheduled_contents(&app, &alice).await, ["kept"]);
    for other in ["not-an-id".to_owned(), uuid::Uuid::now_v7().to_string()] {
        assert_problem(cancel(&app, Some(&alice), &other).await, 404, "not_found").await;
    }
    // A cancelled schedule is never published.
    app.advance(3 * HOUR);
    app.publish_due().await;
    assert_eq!(app.list_contents(MY_POSTS, Some(&alice)).await, ["kept"]);
}

both_databases!(
    schedules_are_listed_soonest_first_and_only_to_their_author,
    the_schedule_list_refuses_bad_limits_and_cursors,
    a_schedule_is_readable_only_by_its_author,
    the_author_can_edit_a_schedule,
    the_author_can_cancel_a_schedule_once,
);

// ---------------------------------------------------------------------------------------
// Publishing (manual clock)
// ---------------------------------------------------------------------------------------

async fn a_due_schedule_is_published_once_as_a_post_by_its_author(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    app.follow(&bob, "alice").await;
    let m1 = app.upload_image(&alice).await;
    let m2 = app.upload_image(&alice).await;
    let publish_at = after(&app, HOUR);
    let scheduled = schedule_with(
        &app,
        &alice,
        " Hello #World from the past ",
        &[media_id(&m2), media_id(&m1)],
        publish_at,
    )
    .await;
    let id = id_of(&scheduled);

    // Not due: nothing happens, however often the publisher runs.
    assert_eq!(app.publish_due().await, 0);
    app.advance(HOUR - SECOND);
    assert_eq!(app.publish_due().await, 0);
    let early = app.create_post(&alice, "an ordinary post").await;
    assert_eq!(
        app.list_contents(FEED, Some(&bob)).await,
        ["an ordinary post"]
    );
    assert_eq!(
        app.get_ok("/api/v1/tags/world", None).await["post_count"],
        0
    );
    assert_eq!(app.posts_count("alice").await, 1);
    assert_eq!(scheduled_contents(&app, &alice).await.len(), 1);

    // Past due: one pass publishes it, with the publishing moment as its created_at.
    app.advance(7 * MINUTE);
    let published_at = now(&app);
    app.publish_due().await;
    let posts = my_posts(&app, &alice).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    let post = &posts[0];
    assert_eq!(post["content"], "Hello #World from the past");
    assert_eq!(post["tags"], json!(["world"]));
    assert_eq!(
        post["media"], scheduled["media"],
        "the reserved media, in order"
    );
    assert_eq!(media_ids_of(post), [media_id(&m2), media_id(&m1)]);
    assert_eq!(post["author"]["username"], "alice");
    assert_eq!(post["like_count"], 0);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["edited_at"], Value::Null);
    let created_at = timestamp(&post["created_at"]);
    assert_eq!(
        created_at, published_at,
        "created_at is the publishing moment"
    );
    assert_ne!(created_at, publish_at);
    assert_ne!(created_at, timestamp(&scheduled["created_at"]));
    assert_eq!(posts[1]["id"], early["id"], "newer than the ordinary post");
    let post_id = id_of(post);
    assert_eq!(
        app.get_ok(&post_path(&post_id), None).await["content"],
        post["content"]
    );

    // Everywhere a post shows up.
    let both = ["Hello #World from the past", "an ordinary post"];
    assert_eq!(app.list_contents(FEED, Some(&bob)).await, both);
    assert_eq!(app.list_contents(FEED, Some(&alice)).await, both);
    assert!(app.list_contents(FEED, Some(&carol)).await.is_empty());
    assert_eq!(app.list_contents(POSTS, None).await, both);
    assert_eq!(
        app.list_contents("/api/v1/users/alice/posts", None).await,
        both
    );
    assert_eq!(
        app.list_contents("/api/v1/tags/world/posts", None).await,
        ["Hello #World from the past"]
    );
    assert_eq!(
        app.get_ok("/api/v1/tags/world", None).await["post_count"],
        1
    );
    assert_eq!(app.posts_count("alice").await, 2);

    // The schedule is gone.
    assert!(scheduled_contents(&app, &alice).await.is_empty());
    assert_no_schedule(&app, &alice, &id).await;

    // Exactly once: later passes publish nothing.
    assert_eq!(app.publish_due().await, 0);
    app.advance(DAY);
    assert_eq!(app.publish_due().await, 0);
    assert_eq!(my_posts(&app, &alice).await.len(), 2);
    assert_eq!(app.posts_count("alice").await, 2);
    assert_eq!(
        app.get_ok("/api/v1/tags/world", None).await["post_count"],
        1
    );
}

async fn only_due_schedules_are_published_each_at_its_time(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let start = now(&app);
    schedule(&app, &alice, "at ten", start + TimeDelta::minutes(10)).await;
    schedule(&app, &bob, "at twenty", start + TimeDelta::minutes(20)).await;
    schedule(&app, &alice, "at thirty", start + TimeDelta::minutes(30)).await;

    // One microsecond early is early; the exact moment is due.
    app.advance(10 * MINUTE - Duration::from_micros(1));
    assert_eq!(app.publish_due().await, 0);
    assert!(app.list_contents(POSTS, None).await.is_empty());
    app.advance(Duration::from_micros(1));
    app.publish_due().await;
    assert_eq!(app.list_contents(POSTS, None).await, ["at ten"]);
    let posts = my_posts(&app, &alice).await;
    assert_eq!(
        timestamp(&posts[0]["created_at"]),
        start + TimeDelta::minutes(10)
    );

    app.advance(15 * MINUTE);
    app.publish_due().await;
    assert_eq!(
        app.list_contents(POSTS, None).await,
        ["at twenty", "at ten"]
    );
    assert_eq!(app.list_contents(MY_POSTS, Some(&bob)).await, ["at twenty"]);
    assert_eq!(scheduled_contents(&app, &alice).await, ["at thirty"]);
    assert!(scheduled_contents(&app, &bob).await.is_empty());

    app.advance(HOUR);
    app.publish_due().await;
    assert_eq!(
        app.list_contents(POSTS, None).await,
        ["at thirty", "at twenty", "at ten"]
    );
    assert_eq!(app.posts_count("alice").await, 2);
    assert_eq!(app.posts_count("bob").await, 1);
}

async fn edits_and_cancellations_before_due_shape_what_is_published(app: TestApp) {
    let alice = app.user("alice").await;
    let start = now(&app);
    let at = |minutes: i64| start + TimeDelta::minutes(minutes);
    let postponed = schedule(&app, &alice, "draft", at(60)).await;
    let cancelled = schedule(&app, &alice, "cancel me", at(60)).await;
    let brought_forward = schedule(&app, &alice, "brought forward", at(180)).await;
    schedule(&app, &alice, "untouched", at(60)).await;

    patch_ok(
        &app,
        &alice,
        &id_of(&postponed),
        &json!({"content": "final #Edited", "publish_at": rfc3339(at(120))}),
    )
    .await;
    assert_eq!(
        cancel(&app, Some(&alice), &id_of(&cancelled))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    patch_ok(
        &app,
        &alice,
        &id_of(&brought_forward),
        &json!({"publish_at": rfc3339(at(30))}),
    )
    .await;
    assert_eq!(
        scheduled_contents(&app, &alice).await,
        ["brought forward", "untouched", "final #Edited"]
    );

    app.advance(31 * MINUTE);
    app.publish_due().await;
    assert_eq!(
        app.list_contents(MY_POSTS, Some(&alice)).await,
        ["brought forward"]
    );

    // At the old time of the postponed one, only the untouched one is due.
    app.advance(30 * MINUTE);
    app.publish_due().await;
    assert_eq!(
        app.list_contents(MY_POSTS, Some(&alice)).await,
        ["untouched", "brought forward"]
    );
    assert_eq!(scheduled_contents(&app, &alice).await, ["final #Edited"]);

    app.advance(HOUR);
    app.publish_due().await;
    let posts = my_posts(&app, &alice).await;
    assert_eq!(posts[0]["content"], "final #Edited");
    assert_eq!(posts[0]["tags"], json!(["edited"]));
    assert_eq!(timestamp(&posts[0]["created_at"]), at(121));

    app.advance(20 * DAY);
    app.publish_due().await;
    assert_eq!(
        app.list_contents(POSTS, None).await,
        ["final #Edited", "untouched", "brought forward"]
    );
    assert!(scheduled_contents(&app, &alice).await.is_empty());
    assert_eq!(app.posts_count("alice").await, 3);
}

async fn deleting_an_account_removes_its_schedules(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&bob, "alice").await;
    let media = app.upload_image(&alice).await;
    schedule_with(
        &app,
        &alice,
        "alice with media",
        &[media_id(&media)],
        after(&app, HOUR),
    )
    .await;
    schedule(&app, &alice, "alice plain", after(&app, HOUR)).await;
    schedule(&app, &bob, "bob's", after(&app, HOUR)).await;

    app.delete_account(&alice).await;
    app.assert_files(&media, false).await;

    app.advance(2 * HOUR);
    app.publish_due().await;
    assert_eq!(app.list_contents(POSTS, None).await, ["bob's"]);
    assert_eq!(app.list_contents(FEED, Some(&bob)).await, ["bob's"]);
    app.advance(DAY);
    assert_eq!(app.publish_due().await, 0);
    assert_eq!(app.list_contents(POSTS, None).await, ["bob's"]);
    let response = app.get("/api/v1/users/alice", None).await;
    assert_problem(response, 404, "not_found").await;
}

async fn more_due_schedules_than_one_batch_are_all_published(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut expected = BTreeSet::new();
    for i in 0..57 {
        let (token, name) = if i % 3 == 0 {
            (&bob, "bob")
        } else {
            (&alice, "alice")
        };
        let content = format!("{name} {i:02}");
        schedule(
            &app,
            token,
            &content,
            after(&app, MINUTE + SECOND * (i % 5)),
        )
        .await;
        expected.insert(content);
    }
    app.advance(10 * MINUTE);
    app.publish_due().await;
    let page = app.get_ok(&format!("{POSTS}?limit=100"), None).await;
    let published: Vec<String> = contents(&page);
    assert_eq!(published.len(), 57, "every due schedule is published");
    assert_eq!(published.into_iter().collect::<BTreeSet<_>>(), expected);
    assert_eq!(app.posts_count("alice").await, 38);
    assert_eq!(app.posts_count("bob").await, 19);
    assert!(scheduled_contents(&app, &alice).await.is_empty());
    assert!(scheduled_contents(&app, &bob).await.is_empty());
    assert_eq!(app.publish_due().await, 0);
}

/// Edits and cancellations racing the publisher are all or nothing: an edit that answered
/// 200 is what gets published, one that answered 404 changed nothing; a cancellation that
/// answered 204 leaves no post, one that answered 404 found it published. Each round sends
/// edits and cancellations of due schedules, all at once, while publishing passes run back
/// to back.
async fn edits_and_cancellations_racing_the_publisher_are_all_or_nothing(app: TestApp) {
    const EDITS: usize = 8;
    const CANCELS: usize = 4;
    let alice = app.user("alice").await;
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for round in 0..6u64 {
        let mut edits = Vec::new();
        for i in 0..EDITS {
            let old = format!("edit {round}.{i}");
            let schedule = schedule(&app, &alice, &old, after(&app, MINUTE)).await;
            edits.push((id_of(&schedule), old, format!("edited {round}.{i}")));
        }
        let mut cancels = Vec::new();
        for i in 0..CANCELS {
            let content = format!("cancel {round}.{i}");
            let schedule = schedule(&app, &alice, &content, after(&app, MINUTE)).await;
            cancels.push((id_of(&schedule), content));
        }
        app.advance(2 * MINUTE);

        let done = AtomicBool::new(false);
        let publishing = async {
            // Started 0 to 2 ms after the requests, so that the rounds meet them at
            // different points.
            tokio::time::sleep(Duration::from_millis(round % 3)).await;
            while !done.load(Ordering::Relaxed) {
                roost::scheduler::publisher::publish_due(&app.state)
                    .await
                    .expect("a publishing pass");
            }
        };
        let requests = async {
            let mut set = JoinSet::new();
            for (index, (id, _, new)) in edits.iter().enumerate() {
                let request = app
                    .request(Method::PATCH, &schedule_path(id), Some(&alice))
                    .json(&json!({"content": new}));
                set.spawn(async move { (index, request.send().await.unwrap().status()) });
            }
            for (index, (id, _)) in cancels.iter().enumerate() {
                let request = app.request(Method::DELETE, &schedule_path(id), Some(&alice));
                set.spawn(async move { (EDITS + index, request.send().await.unwrap().status()) });
            }
            let mut statuses = vec![StatusCode::IM_A_TEAPOT; EDITS + CANCELS];
            while let Some(answer) = set.join_next().await {
                let (index, status) = answer.unwrap();
                statuses[index] = status;
            }
            done.store(true, Ordering::Relaxed);
            statuses
        };
        let ((), statuses) = tokio::join!(publishing, requests);
        // Whatever the passes skipped (rows the requests held) is published now.
        app.publish_due().await;
        let published: BTreeSet<String> = app
            .list_contents(MY_POSTS, Some(&alice))
            .await
            .into_iter()
            .collect();
        for ((_, old, new), status) in edits.iter().zip(&statuses) {
            let (kept, lost, outcome) = match *status {
                StatusCode::OK => (new, old, "edit 200"),
                StatusCode::NOT_FOUND => (old, new, "edit 404"),
                status => panic!("{old}: the edit answered {status}"),
            };
            assert!(
                published.contains(kept) && !published.contains(lost),
                "the edit of {old:?} into {new:?} answered {status}, yet {:?} was published",
                if published.contains(old) { old } else { new }
            );
            *outcomes.entry(outcome).or_default() += 1;
        }
        for ((_, content), status) in cancels.iter().zip(&statuses[EDITS..]) {
            let outcome = match *status {
                StatusCode::NO_CONTENT => "cancel 204",
                StatusCode::NOT_FOUND => "cancel 404",
                status => panic!("{content}: the cancellation answered {status}"),
            };
            assert_eq!(
                published.contains(content),
                *status == StatusCode::NOT_FOUND,
                "the cancellation of {content:?} answered {status}; published: {}",
                published.contains(content)
            );
            *outcomes.entry(outcome).or_default() += 1;
        }
        assert!(scheduled_contents(&app, &alice).await.is_empty());
    }
    let posts = my_posts(&app, &alice).await.len() as i64;
    assert_eq!(app.posts_count("alice").await, posts, "{outcomes:?}");
}

both_databases!(
    a_due_schedule_is_published_once_as_a_post_by_its_author,
    more_due_schedules_than_one_batch_are_all_published,
    edits_and_cancellations_racing_the_publisher_are_all_or_nothing,
    only_due_schedules_are_published_each_at_its_time,
    edits_and_cancellations_before_due_shape_what_is_published,
    deleting_an_account_removes_its_schedules,
);

// ---------------------------------------------------------------------------------------
// The running publisher: restarts, the real clock, several processes
// ---------------------------------------------------------------------------------------

async fn overdue_schedules_are_published_promptly_after_a_restart(app: TestApp) {
    let mut app = app;
    let alice = app.user("alice").await;
    let media = app.upload_image(&alice).await;
    schedule(&app, &alice, "overdue one", after(&app, 10 * MINUTE)).await;
    schedule_with(
        &app,
        &alice,
        "overdue two #restart",
        &[media_id(&media)],
        after(&app, 20 * MINUTE),
    )
    .await;
    let future = schedule(&app, &alice, "still ahead", after(&app, DAY)).await;
    app.stop().await;

    // The server comes back an hour later. Its periodic re-check is an hour away, so only
    // the pass it makes at start can publish them within the 5 seconds allowed here.
    let restart_at = app.clock.now() + TimeDelta::hours(1);
    let clock = Arc::new(ManualClock::new(restart_at));
    let second = TestApp::start_on(
        &app.database_url,
        &app.media_dir,
        &[("ROOST_SCHEDULER_RECHECK_SECS", "3600")],
        Some(clock),
    )
    .await;
    let posts = eventually(
        5 * SECOND,
        "the overdue schedules are published after the restart",
        async || {
            let posts = my_posts(&second, &alice).await;
            (posts.len() >= 2).then_some(posts)
        },
    )
    .await;
    let mut published: Vec<&str> = posts
        .iter()
        .map(|p| p["content"].as_str().unwrap())
        .collect();
    published.sort_unstable();
    assert_eq!(
        published,
        ["overdue one", "overdue two #restart"],
        "published within 5 s of the restart"
    );
    for post in &posts {
        assert_eq!(timestamp(&post["created_at"]), restart_at, "{post}");
        if post["content"] == "overdue two #restart" {
            // The same upload (its URLs name the new server's address).
            assert_eq!(media_ids_of(post), [media_id(&media)]);
            second.assert_files(&post["media"][0], true).await;
            assert_eq!(post["tags"], json!(["restart"]));
        }
    }
    let page = second.get_ok(SCHEDULED, Some(&alice)).await;
    assert_eq!(page["items"], json!([future]), "the future one waits");
    assert_eq!(second.posts_count("alice").await, 2);
}

both_databases!(overdue_schedules_are_published_promptly_after_a_restart);

/// Polls `GET /me/posts` until `content` shows up, at the latest 2 s after `publish_at`
/// (real clock); asserts it did, and that its `created_at` lies within those 2 s. Returns
/// the post.
async fn assert_published_on_time(
    app: &TestApp,
    token: &str,
    content: &str,
    publish_at: DateTime<Utc>,
) -> Value {
    let deadline = publish_at + TimeDelta::seconds(2);
    // Looked for until the deadline, and once more right after it.
    let within = (deadline - Utc::now()).to_std().unwrap_or_default() + LOOK_AGAIN;
    let post = eventually(
        within,
        &format!("{content:?} due {publish_at} is published by {deadline}"),
        async || {
            my_posts(app, token)
                .await
                .into_iter()
                .find(|post| post["content"] == content)
        },
    )
    .await;
    let created_at = timestamp(&post["created_at"]);
    assert!(
        created_at >= publish_at,
        "{content:?} due {publish_at} was published early, at {created_at}"
    );
    assert!(
        created_at <= deadline,
        "{content:?} due {publish_at} was published at {created_at}"
    );
    post
}

/// How long after a real-time deadline a post is still looked for once: the time one
/// request takes, not a grace period (`created_at` must still be within the deadline).
const LOOK_AGAIN: Duration = Duration::from_millis(50);

/// The real milliseconds-precise now plus `millis`.
fn real_time_in(millis: i64) -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap()
        + TimeDelta::milliseconds(millis)
}

/// On the real clock, without any help from the test: a schedule created for 1.5 s ahead,
/// then one moved from tomorrow to 1.5 s ahead, are each published within 2 s of their
/// time. (The publisher re-checks every 5 s by default: only a prompt reaction to the
/// create and to the edit meets the 2 s.)
async fn schedules_are_published_on_time_by_the_running_server(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&bob, "alice").await;

    let created_for = real_time_in(1500);
    schedule(&app, &alice, "created for soon", created_for).await;
    assert!(
        my_posts(&app, &alice).await.is_empty(),
        "not before its time"
    );
    assert_published_on_time(&app, &alice, "created for soon", created_for).await;

    let moved = schedule(&app, &alice, "moved to soon", real_time_in(DAY_MILLIS)).await;
    let moved_to = real_time_in(1500);
    patch_ok(
        &app,
        &alice,
        &id_of(&moved),
        &json!({"publish_at": rfc3339(moved_to)}),
    )
    .await;
    assert_published_on_time(&app, &alice, "moved to soon", moved_to).await;

    assert_eq!(
        app.list_contents(FEED, Some(&bob)).await,
        ["moved to soon", "created for soon"]
    );
    assert!(scheduled_contents(&app, &alice).await.is_empty());
    assert_eq!(app.posts_count("alice").await, 2);
}

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

mod schedules_are_published_on_time_by_the_running_server {
    use crate::helpers::TestApp;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::schedules_are_published_on_time_by_the_running_server(
            TestApp::sqlite_realtime().await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = TestApp::postgres_realtime().await {
            super::schedules_are_published_on_time_by_the_running_server(app).await;
        }
    }
}

/// A number from one row of SQL.
async fn count(app: &TestApp, sql: &str) -> i64 {
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect(sql)
        .expect("a row");
    row.try_get::<i64>("", "n").expect(sql)
}

/// PostgreSQL only: two server processes (two applications, each with its own publisher, on
/// the real clock) share one database; 50 schedules of several users fall due within the
/// same second. Each is published exactly once, on time, and none is left over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_database_publish_each_schedule_once() {
    let Some(first) = TestApp::postgres_realtime().await else {
        return;
    };
    let second = TestApp::start_on(&first.database_url, &first.media_dir, &[], None).await;
    let servers = [&first, &second];
    let names = ["ana", "ben", "cat", "dan", "eve"];
    let mut tokens = Vec::new();
    for (i, name) in names.iter().enumerate() {
        tokens.push(servers[i % 2].user(name).await);
    }

    // Due within one second, starting at the whole second 2 to 3 s ahead.
    let due = (Utc::now() + TimeDelta::seconds(3))
        .duration_trunc(TimeDelta::seconds(1))
        .unwrap();
    let mut publish_at = BTreeMap::new();
    let mut set = JoinSet::new();
    for i in 0..50 {
        let at = due + TimeDelta::milliseconds(19 * i);
        let content = format!("post {i:02} of {}", names[i as usize % names.len()]);
        publish_at.insert(content.clone(), at);
        // Alternate between the servers, so that both publishers know of due work.
        let request = servers[i as usize % 2]
            .request(
                Method::POST,
                SCHEDULED,
                Some(&tokens[i as usize % names.len()]),
            )
            .json(&json!({"content": content, "publish_at": rfc3339(at)}));
        set.spawn(async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        });
    }
    while let Some(result) = set.join_next().await {
        let (status, text) = result.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{text}");
    }
    assert!(
        Utc::now() < due,
        "the 50 schedules were created before they fell due"
    );
    assert_eq!(
        count(&first, "SELECT COUNT(*) AS n FROM scheduled_posts").await,
        50
    );

    // Everything is due by due + 1 s and must be published 2 s later; a further second is
    // allowed for any duplicate to show. The test goes on as soon as all 50 are published,
    // and fails as soon as a 51st post appears.
    let settled = due + TimeDelta::seconds(4);
    let until_settled = || (settled - Utc::now()).to_std().unwrap_or_default();
    let posts = async || count(&first, "SELECT COUNT(*) AS n FROM posts").await;
    eventually(
        until_settled(),
        "all 50 schedules are published",
        async || {
            let published = posts().await;
            assert!(published <= 50, "{published} posts of 50 schedules");
            (published == 50).then_some(())
        },
    )
    .await;
    holds_for(
        until_settled(),
        "no schedule is published twice",
        async || posts().await == 50,
    )
    .await;
    assert_eq!(count(&first, "SELECT COUNT(*) AS n FROM posts").await, 50);
    assert_eq!(
        count(&first, "SELECT COUNT(DISTINCT content) AS n FROM posts").await,
        50
    );
    assert_eq!(
        count(&first, "SELECT COUNT(*) AS n FROM scheduled_posts").await,
        0
    );

    let page = second.get_ok(&format!("{POSTS}?limit=100"), None).await;
    let posts = page["items"].as_array().unwrap();
    assert_eq!(posts.len(), 50);
    assert_eq!(page["next_cursor"], Value::Null);
    let published: BTreeSet<String> = contents(&page).into_iter().collect();
    let expected: BTreeSet<String> = publish_at.keys().cloned().collect();
    assert_eq!(published, expected, "each schedule once, no duplicates");
    for post in posts {
        let content = post["content"].as_str().unwrap();
        let due_at = publish_at[content];
        let created_at = timestamp(&post["created_at"]);
        assert!(
            created_at >= due_at && created_at - due_at <= TimeDelta::seconds(2),
            "{content:?} due {due_at} was published at {created_at}"
        );
        let author = names[content[5..7].parse::<usize>().unwrap() % names.len()];
        assert_eq!(post["author"]["username"], author, "{content}");
    }
    for (i, name) in names.iter().enumerate() {
        assert_eq!(first.posts_count(name).await, 10, "{name}");
        assert!(
            scheduled_contents(servers[i % 2], &tokens[i])
                .await
                .is_empty()
        );
    }
}
