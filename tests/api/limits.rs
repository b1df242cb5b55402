//! Abuse and overload: per-client request budgets (429 with `Retry-After` and
//! `RateLimit-*`), the client address behind trusted proxies, load shedding (503), request
//! and header deadlines, header size caps, security headers and CORS.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{PASSWORD, TestApp, assert_problem, eventually};
use crate::{both_databases, both_databases_with};

/// Small budgets, and no exemption for loopback (the tests' own address).
const LIMITED: &[(&str, &str)] = &[
    ("ROOST_RATE_LIMIT_EXEMPT", ""),
    ("ROOST_RATE_LIMIT_READ", "3"),
    ("ROOST_RATE_LIMIT_WRITE", "2"),
    ("ROOST_RATE_LIMIT_REGISTER", "3"),
];

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

async fn a_spent_read_budget_is_refused_with_429_and_the_wait(app: TestApp) {
    for remaining in ["2", "1", "0"] {
        let response = app.get("/api/v1/posts", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            header(&response, "ratelimit-remaining").as_deref(),
            Some(remaining)
        );
        assert_eq!(
            header(&response, "x-ratelimit-remaining").as_deref(),
            Some(remaining)
        );
        let reset: u64 = header(&response, "ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        assert!(reset <= 60, "reset {reset}");
    }
    let refused = app.get("/api/v1/posts", None).await;
    let retry_after: u64 = header(&refused, "retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    // A budget of 3 a minute gives a request back every 20 s.
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        header(&refused, "ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(
        header(&refused, "x-ratelimit-reset"),
        Some(retry_after.to_string())
    );
    assert_problem(refused, 429, "rate_limited").await;
}

async fn reads_writes_and_health_probes_are_budgeted_apart(app: TestApp) {
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/posts", None).await.status(), 200);
    }
    assert_eq!(app.get("/api/v1/posts", None).await.status(), 429);
    // Logins have a budget of their own: a login with a wrong password is still answered.
    let login = app.login("nobody@example.com", "wrong password").await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    // The probes are never budgeted and carry no budget headers.
    for _ in 0..10 {
        let response = app.get("/healthz", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, "ratelimit-limit").is_none());
    }
}

async fn each_token_has_its_own_budget(app: TestApp) {
    // Registration is budgeted per address: 3 a minute here.
    let first = app.user("first").await;
    let second = app.user("second").await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/me", Some(&first)).await.status(), 200);
    }
    assert_problem(
        app.get("/api/v1/me", Some(&first)).await,
        429,
        "rate_limited",
    )
    .await;
    // Another user at the same address still has a whole budget.
    let response = app.get("/api/v1/me", Some(&second)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("2")
    );
}

async fn registration_has_a_tight_budget_per_address(app: TestApp) {
    for n in 0..3 {
        let response = app
            .register(
                &format!("user{n}@example.com"),
                &format!("user{n}"),
                PASSWORD,
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let refused = app.register("user9@example.com", "user9", PASSWORD).await;
    assert_problem(refused, 429, "rate_limited").await;
    // Nothing was created by the refused request.
    let lookup = app.get("/api/v1/users/user9", None).await;
    assert_eq!(lookup.status(), StatusCode::NOT_FOUND);
}

async fn loopback_clients_are_exempt_unless_forwarded(app: TestApp) {
    // Default exemption (loopback), with a budget of one read a minute.
    for _ in 0..5 {
        let response = app.get("/api/v1/posts", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, "ratelimit-limit").is_none());
    }
    // A request relayed by a proxy we were not told to trust is budgeted like anyone's.
    let forwarded = || {
        app.request(Method::GET, "/api/v1/posts", None)
            .header("X-Forwarded-For", "198.51.100.7")
            .send()
    };
    assert_eq!(forwarded().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        forwarded().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

const ONE_READ_EXEMPT_LOOPBACK: &[(&str, &str)] = &[("ROOST_RATE_LIMIT_READ", "1")];

async fn behind_a_trusted_proxy_each_forwarded_client_has_a_budget(app: TestApp) {
    let from = |client: &'static str| {
        app.request(Method::GET, "/api/v1/posts", None)
            .header("X-Forwarded-For", client)
            .send()
    };
    assert_eq!(from("198.51.100.1").await.unwrap().status(), 200);
    assert_eq!(from("198.51.100.1").await.unwrap().status(), 429);
    assert_eq!(from("198.51.100.2").await.unwrap().status(), 200);
    // A spoofed leftmost entry does not buy a new budget: the proxy appended the real one.
    assert_eq!(
        from("203.0.113.1, 198.51.100.2").await.unwrap().status(),
        429
    );
}

const TRUSTED_PROXY: &[(&str, &str)] = &[
    ("ROOST_RATE_LIMIT_EXEMPT", ""),
    ("ROOST_RATE_LIMIT_READ", "1"),
    ("ROOST_TRUSTED_PROXIES", "127.0.0.1, ::1"),
];

async fn budgets_off_still_keep_the_failed_login_rule(app: TestApp) {
    for _ in 0..20 {
        assert_eq!(app.get("/api/v1/posts", None).await.status(), 200);
    }
    let response = app.register("ann@example.com", "ann", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for _ in 0..10 {
        let response = app.login("ann@example.com", "not the password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app.login("ann@example.com", PASSWORD).await;
    assert!(header(&locked, "retry-after").is_some());
    assert_problem(locked, 429, "too_many_failed_logins").await;
}

const BUDGETS_OFF: &[(&str, &str)] = &[
    ("ROOST_RATE_LIMITS", "off"),
    ("ROOST_RATE_LIMIT_EXEMPT", ""),
    ("ROOST_RATE_LIMIT_READ", "1"),
];

/// Opens a connection and sends a login whose body never arrives in full, so that a
/// request stays in progress (holding its slot) until the connection is closed.
async fn stalled_request(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: roost\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    stream
}

async fn requests_beyond_capacity_are_shed_with_503(app: TestApp) {
    // Until the stalled request holds the only slot. It may itself be the one shed, when it
    // arrives while a probe holds the slot; then another one is stalled.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (stalled, shed) = loop {
        let stalled = stalled_request(&app).await;
        let response = app.get("/api/v1/posts", None).await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break (stalled, response);
        }
        assert!(Instant::now() < deadline, "the server never shed load");
    };
    assert_eq!(header(&shed, "retry-after").as_deref(), Some("1"));
    assert_problem(shed, 503, "overloaded").await;
    // Health probes still answer, so a load balancer can tell busy from dead.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    // Once the stalled client leaves, service resumes.
    drop(stalled);
    eventually(
        Duration::from_secs(10),
        "service resumes once the stalled client leaves",
        async || (app.get("/api/v1/posts", None).await.status() == StatusCode::OK).then_some(()),
    )
    .await;
}

const ONE_AT_A_TIME: &[(&str, &str)] = &[("ROOST_MAX_CONCURRENT_REQUESTS", "1")];

async fn a_request_that_outlives_its_deadline_gets_503(app: TestApp) {
    let mut stalled = stalled_request(&app).await;
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut answer))
        .await
        .expect("answered before the test's own deadline")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    // The server is otherwise unaffected.
    assert_eq!(
        app.get("/api/v1/posts", None).await.status(),
        StatusCode::OK
    );
}

const ONE_SECOND_DEADLINE: &[(&str, &str)] = &[("ROOST_REQUEST_TIMEOUT_SECS", "1")];

async fn a_client_that_never_finishes_its_headers_is_disconnected(app: TestApp) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /api/v1/posts HTTP/1.1\r\nHost: roost\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buffer))
        .await
        .expect("the server closes the connection");
    // Closed (possibly with a reset), without serving the request.
    assert!(closed.is_err() || !String::from_utf8_lossy(&buffer).contains("200 OK"));
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

const ONE_SECOND_HEADERS: &[(&str, &str)] = &[("ROOST_HEADER_READ_TIMEOUT_SECS", "1")];

async fn oversized_headers_are_refused_with_431(app: TestApp) {
    let response = app
        .request(Method::GET, "/api/v1/posts", None)
        .header("X-Padding", "a".repeat(40 * 1024))
        .send()
        .await;
    match response {
        Ok(response) => assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        ),
        // The server may close the connection before the client finished sending.
        Err(error) => assert!(!error.is_timeout(), "{error}"),
    }
    let many = (0..80).fold(
        app.request(Method::GET, "/api/v1/posts", None),
        |request, n| request.header(format!("x-extra-{n}"), "1"),
    );
    assert_eq!(
        many.send().await.unwrap().status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

async fn responses_carry_security_headers(app: TestApp) {
    let token = app.user("ann").await;
    let response = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(
        header(&response, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        header(&response, "x-frame-options").as_deref(),
        Some("DENY")
    );
    assert_eq!(
        header(&response, "referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(
        header(&response, "content-security-policy").as_deref(),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    // A user's own view is not for shared caches.
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    // Errors too.
    let missing = app.get("/api/v1/nowhere", None).await;
    assert_eq!(
        header(&missing, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    // The docs page runs its own scripts, so it is not under the API's script ban.
    let docs = app.get("/api/docs", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(header(&docs, "content-security-policy").is_none());
}

async fn cors_is_closed_by_default(app: TestApp) {
    let response = app
        .request(Method::GET, "/api/v1/posts", None)
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "access-control-allow-origin").is_none());
    let preflight = app
        .request(Method::OPTIONS, "/api/v1/posts", None)
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(header(&preflight, "access-control-allow-origin").is_none());
}

async fn cors_opens_to_the_configured_origins_only(app: TestApp) {
    let preflight = app
        .request(Method::OPTIONS, "/api/v1/posts", None)
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let allowed_headers = header(&preflight, "access-control-allow-headers").unwrap();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );
    assert!(header(&preflight, "access-control-allow-credentials").is_none());

    let response = app
        .request(Method::POST, "/api/v1/posts", None)
        .header("Origin", "https://app.example")
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    // Unauthenticated, but the browser may read why, and the headers clients pace by.
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&response, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let exposed = header(&response, "access-control-expose-headers").unwrap();
    assert!(
        exposed.contains("retry-after") && exposed.contains("ratelimit-remaining"),
        "{exposed}"
    );

    let stranger = app
        .request(Method::GET, "/api/v1/posts", None)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(header(&stranger, "access-control-allow-origin").is_none());
}

const CORS_APP: &[(&str, &str)] = &[("ROOST_CORS_ORIGINS", "https://app.example")];

both_databases_with!(LIMITED;
    a_spent_read_budget_is_refused_with_429_and_the_wait,
    reads_writes_and_health_probes_are_budgeted_apart,
    each_token_has_its_own_budget,
    registration_has_a_tight_budget_per_address,
);
both_databases_with!(ONE_READ_EXEMPT_LOOPBACK; loopback_clients_are_exempt_unless_forwarded);
both_databases_with!(TRUSTED_PROXY; behind_a_trusted_proxy_each_forwarded_client_has_a_budget);
both_databases_with!(BUDGETS_OFF; budgets_off_still_keep_the_failed_login_rule);
both_databases_with!(ONE_AT_A_TIME; requests_beyond_capacity_are_shed_with_503);
both_databases_with!(ONE_SECOND_DEADLINE; a_request_that_outlives_its_deadline_gets_503);
both_databases_with!(ONE_SECOND_HEADERS; a_client_that_never_finishes_its_headers_is_disconnected);
both_databases!(
    oversized_headers_are_refused_with_431,
    responses_carry_security_headers,
    cors_is_closed_by_default
);
both_databases_with!(CORS_APP; cors_opens_to_the_configured_origins_only);
