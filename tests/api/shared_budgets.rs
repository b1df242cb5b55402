//! Request budgets kept in Redis (`ROOST_REDIS_URL`): shared by two processes on one
//! database, kept in each process again while Redis does not answer, and shared again once
//! it does. Against the Redis server named by `ROOST_TEST_REDIS_URL`; when it is unset these
//! tests do nothing (CI sets it, and fails when that server is unreachable).
//!
//! Each test writes under a key prefix of its own, so tests running at once never share a
//! budget. A Redis that "goes away" is a TCP relay in front of the real server, closed and
//! reopened by the test.

use std::time::Duration;

use reqwest::StatusCode;
use roost::ratelimit::Backend;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::helpers::{DatabaseKind, TestApp, eventually};
use crate::on_both_databases;

/// The Redis server the tests use, or `None` when none is configured.
fn redis_url() -> Option<String> {
    let url = std::env::var("ROOST_TEST_REDIS_URL").ok()?;
    let address = redis_address(&url);
    std::net::TcpStream::connect(&address).unwrap_or_else(|error| {
        panic!("ROOST_TEST_REDIS_URL is set but {address} is unreachable: {error}")
    });
    Some(url)
}

fn redis_address(url: &str) -> String {
    redis::Client::open(url)
        .expect("ROOST_TEST_REDIS_URL is a Redis URL")
        .get_connection_info()
        .addr()
        .to_string()
}

/// Three reads a minute, no exemption for loopback, budgets in the Redis at `url` under a
/// prefix of this test's own.
fn budgets_in(url: &str, prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ROOST_RATE_LIMIT_EXEMPT", String::new()),
        ("ROOST_RATE_LIMIT_READ", "3".into()),
        ("ROOST_REDIS_URL", url.into()),
        ("ROOST_REDIS_KEY_PREFIX", prefix.into()),
    ]
}

fn unique_prefix() -> String {
    format!("roost-test-{}", uuid::Uuid::new_v4().simple())
}

fn borrowed<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

/// A second process on the first one's database and media.
async fn second_app(first: &TestApp, vars: &[(&'static str, String)]) -> TestApp {
    TestApp::start_on(&first.database_url, &first.media_dir, &borrowed(vars), None).await
}

fn backend(app: &TestApp) -> Option<Backend> {
    app.state
        .rate_limiter
        .as_ref()
        .expect("budgets are on")
        .backend()
}

/// Reads the post list and returns the status and `RateLimit-Remaining`.
async fn read(app: &TestApp) -> (StatusCode, Option<String>) {
    let response = app.get("/api/v1/posts", None).await;
    let remaining = response
        .headers()
        .get("ratelimit-remaining")
        .map(|value| value.to_str().unwrap().to_owned());
    (response.status(), remaining)
}

fn allowed(remaining: &str) -> (StatusCode, Option<String>) {
    (StatusCode::OK, Some(remaining.to_owned()))
}

fn refused() -> (StatusCode, Option<String>) {
    (StatusCode::TOO_MANY_REQUESTS, Some("0".to_owned()))
}

async fn two_processes_spend_one_budget(database: DatabaseKind) {
    let Some(url) = redis_url() else { return };
    let vars = budgets_in(&url, &unique_prefix());
    let Some(a) = TestApp::on(database, &vars).await else {
        return;
    };
    let b = second_app(&a, &vars).await;
    assert_eq!(backend(&a), Some(Backend::Redis));
    assert_eq!(backend(&b), Some(Backend::Redis));
    assert_eq!(read(&a).await, allowed("2"));
    assert_eq!(read(&b).await, allowed("1"));
    assert_eq!(read(&a).await, allowed("0"));
    // Three reads in all, whichever process served them: both refuse the fourth.
    assert_eq!(read(&b).await, refused());
    assert_eq!(read(&a).await, refused());
    let response = b.get("/api/v1/posts", None).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "retry after {retry_after}");
    // Another class keeps a budget of its own.
    let register = a
        .register("ann@example.com", "ann", crate::helpers::PASSWORD)
        .await;
    assert_eq!(register.status(), StatusCode::CREATED);
}

async fn without_redis_each_process_keeps_its_own_budget(database: DatabaseKind) {
    let vars = vec![
        ("ROOST_RATE_LIMIT_EXEMPT", String::new()),
        ("ROOST_RATE_LIMIT_READ", "3".into()),
    ];
    let Some(a) = TestApp::on(database, &vars).await else {
        return;
    };
    let b = second_app(&a, &vars).await;
    assert_eq!(backend(&a), None);
    for remaining in ["2", "1", "0"] {
        assert_eq!(read(&a).await, allowed(remaining));
    }
    assert_eq!(read(&a).await, refused());
    // The other process has not seen those reads.
    assert_eq!(read(&b).await, allowed("2"));
}

async fn an_unreachable_redis_leaves_budgets_in_the_process(database: DatabaseKind) {
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", closed.local_addr().unwrap());
    drop(closed);
    let vars = budgets_in(&url, &unique_prefix());
    let Some(app) = TestApp::on(database, &vars).await else {
        return;
    };
    assert_eq!(backend(&app), Some(Backend::Local));
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    for remaining in ["2", "1", "0"] {
        assert_eq!(read(&app).await, allowed(remaining));
    }
    assert_eq!(read(&app).await, refused());
}

/// A TCP relay to the real Redis; closing it drops every connection through it.
struct Relay {
    address: String,
    task: JoinHandle<()>,
}

impl Relay {
    async fn open(listen: &str, target: &str) -> Self {
        let listener = TcpListener::bind(listen).await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let target = target.to_owned();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { address, task }
    }

    fn close(self) {
        self.task.abort();
    }
}

async fn budgets_return_to_redis_when_it_answers_again(database: DatabaseKind) {
    let Some(url) = redis_url() else { return };
    let target = redis_address(&url);
    let relay = Relay::open("127.0.0.1:0", &target).await;
    let relay_address = relay.address.clone();
    let vars = budgets_in(&format!("redis://{relay_address}"), &unique_prefix());
    let Some(app) = TestApp::on(database, &vars).await else {
        return;
    };
    assert_eq!(backend(&app), Some(Backend::Redis));
    assert_eq!(read(&app).await, allowed("2"));

    relay.close();
    // Redis is gone: requests are still answered, charged to this process's budgets, which
    // start whole.
    assert_eq!(read(&app).await, allowed("2"));
    assert_eq!(backend(&app), Some(Backend::Local));
    assert_eq!(read(&app).await, allowed("1"));

    let relay = Relay::open(&relay_address, &target).await;
    eventually(
        Duration::from_secs(10),
        "budgets back in Redis",
        async || (backend(&app) == Some(Backend::Redis)).then_some(()),
    )
    .await;
    // Redis's bucket again, which had one read charged (the local one would be spent).
    assert_eq!(read(&app).await, allowed("1"));
    assert_eq!(read(&app).await, allowed("0"));
    assert_eq!(read(&app).await, refused());
    relay.close();
}

on_both_databases!(
    two_processes_spend_one_budget,
    without_redis_each_process_keeps_its_own_budget,
    an_unreachable_redis_leaves_budgets_in_the_process,
    budgets_return_to_redis_when_it_answers_again,
);
