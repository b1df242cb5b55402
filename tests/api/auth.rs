//! Accounts and sessions: register, login, logout, logout-all, password change, `/me`.

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::{Method, Response, StatusCode};
use roost::clock::Clock;
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{PASSWORD, TestApp, UNKNOWN_TOKEN, assert_problem, error_fields, timestamp};

const REGISTER: &str = "/api/v1/auth/register";
const LOGIN: &str = "/api/v1/auth/login";
const LOGOUT: &str = "/api/v1/auth/logout";
const LOGOUT_ALL: &str = "/api/v1/auth/logout-all";
const PASSWORD_CHANGE: &str = "/api/v1/auth/password";
const ME: &str = "/api/v1/me";
const NEW_PASSWORD: &str = "staple battery horse";

// ---------------------------------------------------------------------------------------
// Small helpers for this file.
// ---------------------------------------------------------------------------------------

/// A POST with a raw body and, optionally, a content type.
async fn post_raw(app: &TestApp, path: &str, content_type: Option<&str>, body: &str) -> Response {
    let mut request = app.request(Method::POST, path, None);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.body(body.to_owned()).send().await.unwrap()
}

/// A POST without a body, as logout and logout-all are called.
async fn post_empty(app: &TestApp, path: &str, token: Option<&str>) -> Response {
    app.request(Method::POST, path, token).send().await.unwrap()
}

/// `GET /me` with an `Authorization` header of exactly `value`.
async fn me_with_authorization(app: &TestApp, value: &str) -> Response {
    app.request(Method::GET, ME, None)
        .header("authorization", value)
        .send()
        .await
        .unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get(ME, Some(token)).await.status()
}

/// Asserts `token` is refused as revoked, expired or unknown.
async fn assert_token_refused(app: &TestApp, token: &str) {
    assert_problem(app.get(ME, Some(token)).await, 401, "invalid_token").await;
}

async fn change_password(app: &TestApp, token: Option<&str>, current: &str, new: &str) -> Response {
    app.post_json(
        PASSWORD_CHANGE,
        &json!({"current_password": current, "new_password": new}),
        token,
    )
    .await
}

/// Logs in `attempts` times with a wrong password, each one an ordinary 401.
async fn fail_logins(app: &TestApp, email: &str, attempts: usize) {
    for attempt in 1..=attempts {
        let response = app.login(email, "wrong password!").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "failed attempt {attempt} for {email}"
        );
    }
}

/// The `Retry-After` of a 429, in whole seconds.
fn retry_after(response: &Response) -> u64 {
    let value = response
        .headers()
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap();
    value
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is whole seconds: {value:?}"))
}

/// Asserts a login attempt is throttled and returns its `Retry-After`.
async fn assert_throttled(response: Response) -> u64 {
    let seconds = retry_after(&response);
    assert!(
        (1..=900).contains(&seconds),
        "Retry-After {seconds} within the 15-minute window"
    );
    assert_problem(response, 429, "too_many_failed_logins").await;
    seconds
}

/// Asserts `me` is the Me object of a newly registered account, field by field.
fn assert_new_me(app: &TestApp, me: &Value, email: &str, username: &str) {
    let mut keys: Vec<&str> = me
        .as_object()
        .expect("Me is an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "avatar_url",
            "bio",
            "blocked_by",
            "blocking",
            "created_at",
            "display_name",
            "email",
            "followed_by",
            "followers_count",
            "following",
            "following_count",
            "id",
            "location",
            "locked",
            "muting",
            "posts_count",
            "requested",
            "username",
            "website",
        ],
        "exactly the fields of Me: {me}"
    );
    assert!(
        me["id"].as_str().is_some_and(|id| !id.is_empty()),
        "id is a non-empty string: {me}"
    );
    assert_eq!(me["username"], username);
    assert_eq!(me["email"], email);
    for field in ["display_name", "bio", "location", "website"] {
        assert_eq!(me[field], "", "{field} is an empty string when unset");
    }
    assert_eq!(me["avatar_url"], Value::Null);
    assert_eq!(timestamp(&me["created_at"]), app.clock.now());
    for field in ["followers_count", "following_count", "posts_count"] {
        assert_eq!(me[field], 0, "{field}");
    }
    assert_eq!(me["following"], Value::Null);
    assert_eq!(me["followed_by"], Value::Null);
}

/// Registers with a raw JSON body and returns the validation problem's field names.
async fn rejected_fields(app: &TestApp, body: Value) -> Vec<String> {
    let response = app.post_json(REGISTER, &body, None).await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    error_fields(&problem)
}

/// A registration that was refused must leave no account behind.
async fn assert_no_account(app: &TestApp, email: &str, password: &str) {
    let response = app.login(email, password).await;
    assert_problem(response, 401, "invalid_credentials").await;
}

// ---------------------------------------------------------------------------------------
// Register
// ---------------------------------------------------------------------------------------

async fn register_then_login_then_me(app: TestApp) {
    let response = app.register("Alice@Example.com", "Alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["username"], "alice");

    let token = app.token("ALICE@example.com", PASSWORD).await;
    let response = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched, me);
}

async fn register_answers_201_with_the_full_me_object(app: TestApp) {
    let response = app.register("alice@example.com", "alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let me: Value = response.json().await.unwrap();
    assert_new_me(&app, &me, "alice@example.com", "alice");
}

async fn register_sets_an_absolute_location_to_the_profile(app: TestApp) {
    let response = app.register("alice@example.com", "Alice_9", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response
        .headers()
        .get("location")
        .expect("Location header")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(location, app.url("/api/v1/users/alice_9"));
}

async fn register_never_returns_the_password(app: TestApp) {
    let response = app.register("alice@example.com", "alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!text.to_lowercase().contains("password"), "{text}");
    assert!(!text.contains("$argon2"), "{text}");
}

async fn register_lower_cases_email_and_username(app: TestApp) {
    let response = app
        .register("Mixed.Case@Example.COM", "MiXeD_Case", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["email"], "mixed.case@example.com");
    assert_eq!(me["username"], "mixed_case");
}

async fn register_refuses_a_taken_email_in_any_case(app: TestApp) {
    app.user("alice").await;
    let response = app.register("ALICE@Example.Com", "other", PASSWORD).await;
    let problem = assert_problem(response, 409, "email_taken").await;
    assert_eq!(error_fields(&problem), ["email"]);
    // The clash created nothing: the second username is still free.
    let response = app.register("other@example.com", "other", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn register_refuses_a_taken_username_in_any_case(app: TestApp) {
    app.user("alice").await;
    let response = app.register("other@example.com", "ALICE", PASSWORD).await;
    let problem = assert_problem(response, 409, "username_taken").await;
    assert_eq!(error_fields(&problem), ["username"]);
    assert_no_account(&app, "other@example.com", PASSWORD).await;
}

async fn register_refuses_invalid_emails(app: TestApp) {
    let too_long = format!("{}@example.com", "a".repeat(250));
    for email in [
        "",
        "not-an-email",
        "alice@",
        "@example.com",
        "alice@@example.com",
        "al ice@example.com",
        too_long.as_str(),
    ] {
        let fields = rejected_fields(
            &app,
            json!({"email": email, "username": "alice", "password": PASSWORD}),
        )
        .await;
        assert_eq!(fields, ["email"], "{email:?}");
    }
}

async fn register_refuses_usernames_too_short_too_long_or_with_other_characters(app: TestApp) {
    let too_long = "a".repeat(31);
    for username in [
        "",
        "ab",
        too_long.as_str(),
        "al-ice",
        "al ice",
        "al.ice",
        "ålice",
        "alice!",
    ] {
        let fields = rejected_fields(
            &app,
            json!({"email": "alice@example.com", "username": username, "password": PASSWORD}),
        )
        .await;
        assert_eq!(fields, ["username"], "{username:?}");
    }
    assert_no_account(&app, "alice@example.com", PASSWORD).await;
}

async fn register_accepts_usernames_of_3_and_30_characters(app: TestApp) {
    let response = app.register("short@example.com", "a_1", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let longest = "z".repeat(30);
    let response = app.register("long@example.com", &longest, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn register_refuses_passwords_under_8_or_over_128_characters(app: TestApp) {
    let too_long = "x".repeat(129);
    // Seven two-byte characters are 14 bytes, but only 7 characters.
    let seven_accented = "é".repeat(7);
    for password in ["", "1234567", seven_accented.as_str(), too_long.as_str()] {
        let fields = rejected_fields(
            &app,
            json!({"email": "alice@example.com", "username": "alice", "password": password}),
        )
        .await;
        assert_eq!(
            fields,
            ["password"],
            "{} characters",
            password.chars().count()
        );
    }
    assert_no_account(&app, "alice@example.com", &too_long).await;
}

async fn register_counts_password_length_in_characters_not_bytes(app: TestApp) {
    // 8 characters (16 bytes) is long enough; 128 characters (256 bytes) is not too long.
    let eight = "é".repeat(8);
    let response = app.register("eight@example.com", "eight", &eight).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let widest = "ü".repeat(128);
    let response = app.register("wide@example.com", "wide", &widest).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    app.token("eight@example.com", &eight).await;
    app.token("wide@example.com", &widest).await;
}

async fn register_names_each_missing_field(app: TestApp) {
    let complete = json!({"email": "alice@example.com", "username": "alice", "password": PASSWORD});
    for missing in ["email", "username", "password"] {
        let mut body = complete.clone();
        body.as_object_mut().unwrap().remove(missing);
        let fields = rejected_fields(&app, body).await;
        assert_eq!(fields, [missing], "without {missing}");
    }
    assert_no_account(&app, "alice@example.com", PASSWORD).await;
}

async fn register_names_fields_of_the_wrong_json_type(app: TestApp) {
    let cases = [
        (
            json!({"email": 5, "username": "alice", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "alice@example.com", "username": ["alice"], "password": PASSWORD}),
            "username",
        ),
        (
            json!({"email": "alice@example.com", "username": "alice", "password": 12345678}),
            "password",
        ),
        (
            json!({"email": null, "username": "alice", "password": PASSWORD}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let fields = rejected_fields(&app, body.clone()).await;
        assert_eq!(fields, [field], "{body}");
    }
    assert_no_account(&app, "alice@example.com", PASSWORD).await;
}

async fn register_refuses_a_json_body_that_is_not_an_object(app: TestApp) {
    for body in [
        json!([{"email": "alice@example.com", "username": "alice", "password": PASSWORD}]),
        json!("alice@example.com"),
        json!(null),
    ] {
        let response = app.post_json(REGISTER, &body, None).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert!(!error_fields(&problem).is_empty(), "{problem}");
    }
    assert_no_account(&app, "alice@example.com", PASSWORD).await;
}

async fn register_lists_every_invalid_field_at_once(app: TestApp) {
    let mut fields = rejected_fields(
        &app,
        json!({"email": "nope", "username": "a!", "password": "short"}),
    )
    .await;
    fields.sort();
    assert_eq!(fields, ["email", "password", "username"]);
}

async fn register_refuses_malformed_json_with_400(app: TestApp) {
    for body in [
        "{\"email\": \"alice@example.com\", ",
        "{email: 'alice@example.com'}",
        "",
    ] {
        let response = post_raw(&app, REGISTER, Some("application/json"), body).await;
        assert_problem(response, 400, "malformed_json").await;
    }
}

async fn register_refuses_bodies_that_are_not_json_with_415(app: TestApp) {
    let form = "email=alice%40example.com&username=alice&password=correct+horse+battery";
    let response = post_raw(
        &app,
        REGISTER,
        Some("application/x-www-form-urlencoded"),
        form,
    )
    .await;
    assert_problem(response, 415, "unsupported_media_type").await;

    let json_text =
        json!({"email": "alice@example.com", "username": "alice", "password": PASSWORD})
            .to_string();
    let response = post_raw(&app, REGISTER, None, &json_text).await;
    assert_problem(response, 415, "unsupported_media_type").await;

    let response = post_raw(&app, REGISTER, Some("text/plain"), &json_text).await;
    assert_problem(response, 415, "unsupported_media_type").await;

    assert_no_account(&app, "alice@example.com", PASSWORD).await;
}

async fn a_rejected_registration_creates_nothing(app: TestApp) {
    // Valid email and password, invalid username: nothing may be stored.
    let fields = rejected_fields(
        &app,
        json!({"email": "alice@example.com", "username": "x", "password": PASSWORD}),
    )
    .await;
    assert_eq!(fields, ["username"]);
    assert_no_account(&app, "alice@example.com", PASSWORD).await;
    // And the email is still free.
    let response = app.register("alice@example.com", "alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn registering_the_same_email_in_parallel_creates_one_account(app: TestApp) {
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..10 {
        let client = app.client.clone();
        let url = app.url(REGISTER);
        attempts.spawn(async move {
            client
                .post(url)
                .json(&json!({
                    "email": "race@example.com",
                    "username": format!("racer_{i}"),
                    "password": PASSWORD,
                }))
                .send()
                .await
                .unwrap()
        });
    }
    let mut created = 0;
    while let Some(response) = attempts.join_next().await {
        let response = response.unwrap();
        if response.status() == StatusCode::CREATED {
            created += 1;
        } else {
            let problem = assert_problem(response, 409, "email_taken").await;
            assert_eq!(error_fields(&problem), ["email"]);
        }
    }
    assert_eq!(created, 1, "exactly one registration wins");
    app.token("race@example.com", PASSWORD).await;
}

async fn registering_the_same_username_in_parallel_creates_one_account(app: TestApp) {
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..10 {
        let client = app.client.clone();
        let url = app.url(REGISTER);
        attempts.spawn(async move {
            client
                .post(url)
                .json(&json!({
                    "email": format!("racer{i}@example.com"),
                    "username": "racer",
                    "password": PASSWORD,
                }))
                .send()
                .await
                .unwrap()
        });
    }
    let mut created = 0;
    while let Some(response) = attempts.join_next().await {
        let response = response.unwrap();
        if response.status() == StatusCode::CREATED {
            created += 1;
        } else {
            let problem = assert_problem(response, 409, "username_taken").await;
            assert_eq!(error_fields(&problem), ["username"]);
        }
    }
    assert_eq!(created, 1, "exactly one registration wins");
}

// ---------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------

async fn login_answers_a_bearer_token_valid_for_30_days_and_the_me_object(app: TestApp) {
    let response = app.register("alice@example.com", "alice", PASSWORD).await;
    let me: Value = response.json().await.unwrap();

    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().expect("token is a string");
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe token: {token}"
    );
    assert_eq!(body["token_type"], "Bearer");
    let expected = app.clock.now() + TimeDelta::days(30);
    let expires_at = timestamp(&body["expires_at"]);
    assert!(
        (expires_at - expected).abs() <= TimeDelta::seconds(1),
        "expires_at {expires_at} is 30 days after {}",
        app.clock.now()
    );
    assert_eq!(body["user"], me);
    let text = body.to_string();
    assert!(!text.contains(PASSWORD), "{text}");
    assert_eq!(me_status(&app, token).await, StatusCode::OK);
}

async fn login_ignores_the_case_of_the_email(app: TestApp) {
    app.register("alice@example.com", "alice", PASSWORD).await;
    for email in [
        "ALICE@EXAMPLE.COM",
        "Alice@Example.com",
        "alice@EXAMPLE.com",
    ] {
        let response = app.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "{email}");
    }
}

async fn login_with_an_unknown_email_or_a_wrong_password_is_the_same_401(app: TestApp) {
    app.user("alice").await;
    let wrong_password = app.login("alice@example.com", "not the password").await;
    let unknown_email = app.login("nobody@example.com", PASSWORD).await;
    for response in [&wrong_password, &unknown_email] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let wrong_password = assert_problem(wrong_password, 401, "invalid_credentials").await;
    let unknown_email = assert_problem(unknown_email, 401, "invalid_credentials").await;
    assert_eq!(wrong_password, unknown_email);
}

async fn login_with_the_right_password_in_the_wrong_case_fails(app: TestApp) {
    app.user("alice").await;
    let response = app
        .login("alice@example.com", &PASSWORD.to_uppercase())
        .await;
    assert_problem(response, 401, "invalid_credentials").await;
}

async fn each_login_is_a_new_independent_session(app: TestApp) {
    let first = app.user("alice").await;
    let second = app.token("alice@example.com", PASSWORD).await;
    assert_ne!(first, second);
    assert_eq!(me_status(&app, &first).await, StatusCode::OK);
    assert_eq!(me_status(&app, &second).await, StatusCode::OK);
}

async fn login_refuses_malformed_bodies(app: TestApp) {
    let response = post_raw(&app, LOGIN, Some("application/json"), "{\"email\": ").await;
    assert_problem(response, 400, "malformed_json").await;

    let response = post_raw(
        &app,
        LOGIN,
        Some("application/x-www-form-urlencoded"),
        "email=alice%40example.com&password=correct+horse+battery",
    )
    .await;
    assert_problem(response, 415, "unsupported_media_type").await;

    let response = app
        .post_json(LOGIN, &json!({"email": "alice@example.com"}), None)
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["password"]);

    let response = app
        .post_json(LOGIN, &json!({"email": 42, "password": PASSWORD}), None)
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["email"]);
}

// ---------------------------------------------------------------------------------------
// Failed-login throttle
// ---------------------------------------------------------------------------------------

async fn ten_failed_logins_block_even_the_right_password(app: TestApp) {
    app.user("alice").await;
    fail_logins(&app, "alice@example.com", 10).await;
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_throttled(response).await;
}

async fn nine_failed_logins_do_not_block(app: TestApp) {
    app.user("alice").await;
    fail_logins(&app, "alice@example.com", 9).await;
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn the_throttle_applies_to_an_email_without_an_account(app: TestApp) {
    fail_logins(&app, "ghost@example.com", 10).await;
    let response = app.login("ghost@example.com", PASSWORD).await;
    assert_throttled(response).await;
}

async fn the_throttle_counts_an_email_in_any_case(app: TestApp) {
    app.user("alice").await;
    for email in ["ALICE@example.com", "Alice@Example.com"] {
        fail_logins(&app, email, 5).await;
    }
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_throttled(response).await;
}

async fn the_throttle_leaves_other_emails_alone(app: TestApp) {
    app.user("alice").await;
    app.user("bob").await;
    fail_logins(&app, "alice@example.com", 10).await;
    assert_throttled(app.login("alice@example.com", PASSWORD).await).await;
    let response = app.login("bob@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn the_throttle_lifts_after_15_minutes(app: TestApp) {
    app.user("alice").await;
    fail_logins(&app, "alice@example.com", 10).await;
    assert_throttled(app.login("alice@example.com", PASSWORD).await).await;

    app.advance(Duration::from_secs(5 * 60));
    let waited = assert_throttled(app.login("alice@example.com", PASSWORD).await).await;
    assert!(waited <= 600, "Retry-After {waited} counts down");

    app.advance(Duration::from_secs(10 * 60 + 1));
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_throttled_account_can_log_in_after_retry_after(app: TestApp) {
    app.user("alice").await;
    fail_logins(&app, "alice@example.com", 10).await;
    let seconds = assert_throttled(app.login("alice@example.com", PASSWORD).await).await;
    app.advance(Duration::from_secs(seconds));
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn wrong_current_passwords_count_towards_the_throttle(app: TestApp) {
    let token = app.user("alice").await;
    for _ in 0..10 {
        let response = change_password(&app, Some(&token), "not the password", NEW_PASSWORD).await;
        assert_problem(response, 403, "invalid_password").await;
    }
    assert_throttled(app.login("alice@example.com", PASSWORD).await).await;
}

async fn three_failures_block_when_configured_so(app: TestApp) {
    app.user("alice").await;
    app.user("bob").await;
    fail_logins(&app, "alice@example.com", 3).await;
    assert_throttled(app.login("alice@example.com", PASSWORD).await).await;
    // Two failures stay under the configured limit.
    fail_logins(&app, "bob@example.com", 2).await;
    let response = app.login("bob@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

const THREE_FAILURES: &[(&str, &str)] = &[("ROOST_LOGIN_MAX_FAILURES", "3")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_failures_block_when_configured_so_on_sqlite() {
    three_failures_block_when_configured_so(TestApp::sqlite_with(THREE_FAILURES).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_failures_block_when_configured_so_on_postgres() {
    if let Some(app) = TestApp::postgres_with(THREE_FAILURES).await {
        three_failures_block_when_configured_so(app).await;
    }
}

async fn parallel_failed_logins_cannot_exceed_the_limit(app: TestApp) {
    // Guesses sent at once must not slip past the limit before their failures are counted.
    app.user("alice").await;
    let mut attempts = tokio::task::JoinSet::new();
    for guess in 0..30 {
        let client = app.client.clone();
        let url = app.url(LOGIN);
        attempts.spawn(async move {
            client
                .post(url)
                .json(&json!({"email": "alice@example.com", "password": format!("guess {guess}")}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let mut checked = 0;
    while let Some(status) = attempts.join_next().await {
        match status.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        checked <= 10,
        "{checked} passwords were tried in parallel; the limit is 10"
    );
    assert_throttled(app.login("alice@example.com", PASSWORD).await).await;
}

async fn an_account_without_failures_can_log_in_60_times_a_minute(app: TestApp) {
    app.user("alice").await;
    for attempt in 1..=60 {
        let response = app.login("alice@example.com", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "login {attempt}");
    }
}

async fn a_nul_character_in_the_login_email_is_an_ordinary_401(app: TestApp) {
    // No request, however malformed, may produce a 500 (PostgreSQL text cannot hold NUL).
    for email in ["a\u{0}@example.com", "\u{0}"] {
        let response = app.login(email, PASSWORD).await;
        assert_problem(response, 401, "invalid_credentials").await;
    }
}

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

async fn the_token_scheme_works_like_bearer(app: TestApp) {
    let token = app.user("alice").await;
    let response = me_with_authorization(&app, &format!("Token {token}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["username"], "alice");
}

async fn the_bearer_scheme_is_case_insensitive(app: TestApp) {
    let token = app.user("alice").await;
    for scheme in ["bearer", "BEARER", "token"] {
        let response = me_with_authorization(&app, &format!("{scheme} {token}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

async fn a_missing_token_is_401_unauthorized_with_www_authenticate(app: TestApp) {
    let response = app.get(ME, None).await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .expect("WWW-Authenticate header")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_problem(response, 401, "unauthorized").await;
}

async fn garbage_tokens_are_401_invalid_token(app: TestApp) {
    let token = app.user("alice").await;
    let values = [
        "Bearer garbage".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer {token}x"),
        format!("Bearer {}", &token[1..]),
        "Bearer ${jndi:ldap://x}".to_owned(),
        token.clone(),
    ];
    for value in values {
        let response = me_with_authorization(&app, &value).await;
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{value:?}: {challenge}");
        assert_problem(response, 401, "invalid_token").await;
    }
}

async fn another_scheme_is_401_invalid_token(app: TestApp) {
    let token = app.user("alice").await;
    for scheme in ["Basic", "Digest", "Bearer:"] {
        let response = me_with_authorization(&app, &format!("{scheme} {token}")).await;
        assert_problem(response, 401, "invalid_token").await;
    }
}

async fn a_well_formed_but_unknown_token_is_401_invalid_token(app: TestApp) {
    app.user("alice").await;
    assert_token_refused(&app, UNKNOWN_TOKEN).await;
}

async fn tokens_in_the_query_string_are_ignored(app: TestApp) {
    let token = app.user("alice").await;
    for parameter in ["token", "access_token"] {
        let response = app.get(&format!("{ME}?{parameter}={token}"), None).await;
        assert_problem(response, 401, "unauthorized").await;
    }
}

async fn a_token_expires_after_its_ttl(app: TestApp) {
    app.user("alice").await;
    let response = app.login("alice@example.com", PASSWORD).await;
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        timestamp(&body["expires_at"]),
        app.clock.now() + TimeDelta::seconds(60)
    );

    app.advance(Duration::from_secs(59));
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    app.advance(Duration::from_secs(2));
    assert_token_refused(&app, &token).await;
    let response = post_empty(&app, LOGOUT, Some(&token)).await;
    assert_problem(response, 401, "invalid_token").await;
    // Logging in again gives a working token.
    let fresh = app.token("alice@example.com", PASSWORD).await;
    assert_eq!(me_status(&app, &fresh).await, StatusCode::OK);
}

const ONE_MINUTE_TOKENS: &[(&str, &str)] = &[("ROOST_TOKEN_TTL_SECS", "60")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expires_after_its_ttl_on_sqlite() {
    a_token_expires_after_its_ttl(TestApp::sqlite_with(ONE_MINUTE_TOKENS).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expires_after_its_ttl_on_postgres() {
    if let Some(app) = TestApp::postgres_with(ONE_MINUTE_TOKENS).await {
        a_token_expires_after_its_ttl(app).await;
    }
}

/// The reads that check the token inside their own query (a post, pages of posts, `/me`,
/// user search) refuse a dead token exactly as the others do: whether or not the query
/// finds rows, and before any other error of the request.
async fn reads_that_check_the_token_in_their_query_refuse_dead_tokens(app: TestApp) {
    let bob = app.user("bob").await;
    let response = app
        .post_json(
            "/api/v1/posts",
            &json!({"content": "hello #birds"}),
            Some(&bob),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let post_id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.user("alice").await;
    let expiring = app.token("alice@example.com", PASSWORD).await;
    let revoked = app.token("alice@example.com", PASSWORD).await;
    let response = app
        .request(Method::PUT, "/api/v1/me/following/bob", Some(&expiring))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = post_empty(&app, LOGOUT, Some(&revoked)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let reads = [
        // Queries that find rows: the rows report the dead token.
        format!("/api/v1/posts/{post_id}"),
        "/api/v1/feed".to_owned(),
        "/api/v1/posts".to_owned(),
        "/api/v1/posts?q=hello".to_owned(),
        "/api/v1/tags/birds/posts".to_owned(),
        "/api/v1/users/bob/posts".to_owned(),
        "/api/v1/users?q=bob".to_owned(),
        "/api/v1/users".to_owned(),
        ME.to_owned(),
        // Queries that find nothing: the token is looked up on its own.
        "/api/v1/posts/019acc02-0a4d-7e61-9c3b-55e0f2d8a917".to_owned(),
        "/api/v1/tags/nothing/posts".to_owned(),
        "/api/v1/posts?q=nowhere".to_owned(),
        "/api/v1/posts?q=!!!".to_owned(),
        "/api/v1/posts?author=nobody".to_owned(),
        "/api/v1/users?q=nobody".to_owned(),
        // Requests that are wrong in another way as well.
        "/api/v1/posts/not-an-id".to_owned(),
        "/api/v1/feed?cursor=garbage".to_owned(),
        "/api/v1/feed?limit=0".to_owned(),
        "/api/v1/posts?tag=no-such!".to_owned(),
        "/api/v1/tags/no-such!/posts".to_owned(),
        "/api/v1/users?q=".to_owned(),
        "/api/v1/users/nobody/posts".to_owned(),
    ];
    // Live, the expiring token reads (or is refused for the other reason).
    let response = app.get(&reads[0], Some(&expiring)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.get("/api/v1/feed", Some(&expiring)).await;
    let feed: Value = response.json().await.unwrap();
    assert_eq!(feed["items"][0]["id"], json!(post_id));

    app.advance(Duration::from_secs(61));
    for token in [&expiring, &revoked] {
        for path in &reads {
            let response = app.get(path, Some(token)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
            assert_problem(response, 401, "invalid_token").await;
        }
    }
    // Without a token the public ones answer, the others ask for one.
    assert_eq!(app.get(&reads[0], None).await.status(), StatusCode::OK);
    assert_problem(app.get("/api/v1/feed", None).await, 401, "unauthorized").await;
    assert_problem(app.get(ME, None).await, 401, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_that_check_the_token_in_their_query_refuse_dead_tokens_on_sqlite() {
    reads_that_check_the_token_in_their_query_refuse_dead_tokens(
        TestApp::sqlite_with(ONE_MINUTE_TOKENS).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_that_check_the_token_in_their_query_refuse_dead_tokens_on_postgres() {
    if let Some(app) = TestApp::postgres_with(ONE_MINUTE_TOKENS).await {
        reads_that_check_the_token_in_their_query_refuse_dead_tokens(app).await;
    }
}

// ---------------------------------------------------------------------------------------
// Logout and logout-all
// ---------------------------------------------------------------------------------------

async fn logout_revokes_only_the_token_used(app: TestApp) {
    let used = app.user("alice").await;
    let other = app.token("alice@example.com", PASSWORD).await;

    let response = post_empty(&app, LOGOUT, Some(&used)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());

    assert_token_refused(&app, &used).await;
    assert_eq!(me_status(&app, &other).await, StatusCode::OK);
}

async fn logout_with_a_revoked_token_is_401(app: TestApp) {
    let token = app.user("alice").await;
    let response = post_empty(&app, LOGOUT, Some(&token)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = post_empty(&app, LOGOUT, Some(&token)).await;
    assert_problem(response, 401, "invalid_token").await;
}

async fn logout_needs_a_token(app: TestApp) {
    let response = post_empty(&app, LOGOUT, None).await;
    assert_problem(response, 401, "unauthorized").await;
    let response = post_empty(&app, LOGOUT, Some(UNKNOWN_TOKEN)).await;
    assert_problem(response, 401, "invalid_token").await;
}

async fn logout_all_revokes_every_token_of_the_account(app: TestApp) {
    let first = app.user("alice").await;
    let second = app.token("alice@example.com", PASSWORD).await;
    let third = app.token("alice@example.com", PASSWORD).await;

    let response = post_empty(&app, LOGOUT_ALL, Some(&second)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for token in [&first, &second, &third] {
        assert_token_refused(&app, token).await;
    }
    let response = post_empty(&app, LOGOUT_ALL, Some(&second)).await;
    assert_problem(response, 401, "invalid_token").await;
    // The account itself is fine: logging in again works.
    let fresh = app.token("alice@example.com", PASSWORD).await;
    assert_eq!(me_status(&app, &fresh).await, StatusCode::OK);
}

async fn logout_all_leaves_other_accounts_alone(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bob_again = app.token("bob@example.com", PASSWORD).await;

    let response = post_empty(&app, LOGOUT_ALL, Some(&alice)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_status(&app, &bob).await, StatusCode::OK);
    assert_eq!(me_status(&app, &bob_again).await, StatusCode::OK);
}

async fn logout_all_needs_a_token(app: TestApp) {
    let response = post_empty(&app, LOGOUT_ALL, None).await;
    assert_problem(response, 401, "unauthorized").await;
    let response = post_empty(&app, LOGOUT_ALL, Some(UNKNOWN_TOKEN)).await;
    assert_problem(response, 401, "invalid_token").await;
}

// ---------------------------------------------------------------------------------------
// Password change
// ---------------------------------------------------------------------------------------

async fn changing_the_password_replaces_it(app: TestApp) {
    let token = app.user("alice").await;
    let response = change_password(&app, Some(&token), PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());

    let response = app.login("alice@example.com", PASSWORD).await;
    assert_problem(response, 401, "invalid_credentials").await;
    let response = app.login("alice@example.com", NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn changing_the_password_keeps_the_token_used_and_revokes_the_others(app: TestApp) {
    let used = app.user("alice").await;
    let other = app.token("alice@example.com", PASSWORD).await;
    let bob = app.user("bob").await;

    let response = change_password(&app, Some(&used), PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_status(&app, &used).await, StatusCode::OK);
    assert_token_refused(&app, &other).await;
    assert_eq!(me_status(&app, &bob).await, StatusCode::OK);
}

async fn a_wrong_current_password_is_403_and_changes_nothing(app: TestApp) {
    let used = app.user("alice").await;
    let other = app.token("alice@example.com", PASSWORD).await;

    let response = change_password(&app, Some(&used), "not the password", NEW_PASSWORD).await;
    assert_problem(response, 403, "invalid_password").await;

    assert_eq!(me_status(&app, &used).await, StatusCode::OK);
    assert_eq!(me_status(&app, &other).await, StatusCode::OK);
    let response = app.login("alice@example.com", NEW_PASSWORD).await;
    assert_problem(response, 401, "invalid_credentials").await;
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_new_password_breaking_the_length_rule_is_422_and_changes_nothing(app: TestApp) {
    let used = app.user("alice").await;
    let other = app.token("alice@example.com", PASSWORD).await;

    let too_long = "x".repeat(129);
    for new in ["short", "1234567", too_long.as_str()] {
        let response = change_password(&app, Some(&used), PASSWORD, new).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["new_password"]);
        let response = app.login("alice@example.com", new).await;
        assert_problem(response, 401, "invalid_credentials").await;
    }
    assert_eq!(me_status(&app, &other).await, StatusCode::OK);
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_password_change_with_a_missing_field_is_422(app: TestApp) {
    let token = app.user("alice").await;
    let response = app
        .post_json(
            PASSWORD_CHANGE,
            &json!({"new_password": NEW_PASSWORD}),
            Some(&token),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["current_password"]);
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn changing_the_password_needs_a_token(app: TestApp) {
    app.user("alice").await;
    let response = change_password(&app, None, PASSWORD, NEW_PASSWORD).await;
    assert_problem(response, 401, "unauthorized").await;
    let response = change_password(&app, Some(UNKNOWN_TOKEN), PASSWORD, NEW_PASSWORD).await;
    assert_problem(response, 401, "invalid_token").await;
    // Nothing changed.
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// /me
// ---------------------------------------------------------------------------------------

async fn me_needs_a_token(app: TestApp) {
    app.user("alice").await;
    let response = app.get(ME, None).await;
    assert_problem(response, 401, "unauthorized").await;
}

async fn me_returns_what_register_returned(app: TestApp) {
    let response = app.register("Bob@Example.com", "Bob_1", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await.unwrap();
    assert_new_me(&app, &registered, "bob@example.com", "bob_1");

    let token = app.token("bob@example.com", PASSWORD).await;
    let response = app.get(ME, Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me, registered);
}

async fn me_shows_the_account_of_the_token(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let me: Value = app.get(ME, Some(&alice)).await.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    let me: Value = app.get(ME, Some(&bob)).await.json().await.unwrap();
    assert_eq!(me["username"], "bob");
}

both_databases!(
    register_then_login_then_me,
    register_answers_201_with_the_full_me_object,
    register_sets_an_absolute_location_to_the_profile,
    register_never_returns_the_password,
    register_lower_cases_email_and_username,
    register_refuses_a_taken_email_in_any_case,
    register_refuses_a_taken_username_in_any_case,
    register_refuses_invalid_emails,
    register_refuses_usernames_too_short_too_long_or_with_other_characters,
    register_accepts_usernames_of_3_and_30_characters,
    register_refuses_passwords_under_8_or_over_128_characters,
    register_counts_password_length_in_characters_not_bytes,
    register_names_each_missing_field,
    register_names_fields_of_the_wrong_json_type,
    register_refuses_a_json_body_that_is_not_an_object,
    register_lists_every_invalid_field_at_once,
    register_refuses_malformed_json_with_400,
    register_refuses_bodies_that_are_not_json_with_415,
    a_rejected_registration_creates_nothing,
    registering_the_same_email_in_parallel_creates_one_account,
    registering_the_same_username_in_parallel_creates_one_account,
    login_answers_a_bearer_token_valid_for_30_days_and_the_me_object,
    login_ignores_the_case_of_the_email,
    login_with_an_unknown_email_or_a_wrong_password_is_the_same_401,
    login_with_the_right_password_in_the_wrong_case_fails,
    each_login_is_a_new_independent_session,
    login_refuses_malformed_bodies,
    ten_failed_logins_block_even_the_right_password,
    nine_failed_logins_do_not_block,
    the_throttle_applies_to_an_email_without_an_account,
    the_throttle_counts_an_email_in_any_case,
    the_throttle_leaves_other_emails_alone,
    the_throttle_lifts_after_15_minutes,
    a_throttled_account_can_log_in_after_retry_after,
    wrong_current_passwords_count_towards_the_throttle,
    parallel_failed_logins_cannot_exceed_the_limit,
    an_account_without_failures_can_log_in_60_times_a_minute,
    a_nul_character_in_the_login_email_is_an_ordinary_401,
    the_token_scheme_works_like_bearer,
    the_bearer_scheme_is_case_insensitive,
    a_missing_token_is_401_unauthorized_with_www_authenticate,
    garbage_tokens_are_401_invalid_token,
    another_scheme_is_401_invalid_token,
    a_well_formed_but_unknown_token_is_401_invalid_token,
    tokens_in_the_query_string_are_ignored,
    logout_revokes_only_the_token_used,
    logout_with_a_revoked_token_is_401,
    logout_needs_a_token,
    logout_all_revokes_every_token_of_the_account,
    logout_all_leaves_other_accounts_alone,
    logout_all_needs_a_token,
    changing_the_password_replaces_it,
    changing_the_password_keeps_the_token_used_and_revokes_the_others,
    a_wrong_current_password_is_403_and_changes_nothing,
    a_new_password_breaking_the_length_rule_is_422_and_changes_nothing,
    a_password_change_with_a_missing_field_is_422,
    changing_the_password_needs_a_token,
    me_needs_a_token,
    me_returns_what_register_returned,
    me_shows_the_account_of_the_token,
);

// ---------------------------------------------------------------------------------------
// A dead token on the endpoints that need none
// ---------------------------------------------------------------------------------------

/// Register and login need no token, but one that is presented and dead is a 401 there as
/// everywhere else, before the body is looked at, and nothing is created.
async fn register_and_login_refuse_a_presented_dead_token(app: TestApp) {
    let token = app.user("alice").await;
    let response = post_empty(&app, LOGOUT, Some(&token)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let bob = json!({"email": "bob@example.com", "username": "bob", "password": PASSWORD});
    for dead in [token.as_str(), UNKNOWN_TOKEN, "not-a-token"] {
        let response = app.post_json(REGISTER, &bob, Some(dead)).await;
        assert_problem(response, 401, "invalid_token").await;
        let login = json!({"email": "alice@example.com", "password": PASSWORD});
        let response = app.post_json(LOGIN, &login, Some(dead)).await;
        assert_problem(response, 401, "invalid_token").await;
        // A body that is wrong as well still gets the 401 first.
        let response = app
            .request(Method::POST, REGISTER, Some(dead))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=bob")
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "invalid_token").await;
    }
    assert_no_account(&app, "bob@example.com", PASSWORD).await;
    // A live token does not stand in the way.
    let live = app.token("alice@example.com", PASSWORD).await;
    let response = app.post_json(REGISTER, &bob, Some(&live)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let login = json!({"email": "bob@example.com", "password": PASSWORD});
    let response = app.post_json(LOGIN, &login, Some(&live)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

both_databases!(register_and_login_refuse_a_presented_dead_token);
