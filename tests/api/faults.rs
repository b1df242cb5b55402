//! Faults: the database going away and coming back, and SQLite lock contention.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{TestApp, assert_problem, eventually};

/// A TCP relay to PostgreSQL that the test can cut (closing every connection and refusing
/// new ones, as a stopped server does) and restore.
struct Relay {
    address: std::net::SocketAddr,
    up: watch::Sender<bool>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let state = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut up = state.subscribe();
                if !*up.borrow() {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = up.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { address, up }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

/// `postgres://user@host:port/db` with the host and port replaced by `address`.
fn through(url: &str, address: std::net::SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (format!("{credentials}@"), host_port),
        None => (String::new(), authority),
    };
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    (
        format!("{scheme}://{credentials}{address}/{path}"),
        host_port,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_gives_quick_503s_and_recovery_without_restart() {
    let Some(owner) = TestApp::postgres().await else {
        return;
    };
    let (_, target) = through(&owner.database_url, "127.0.0.1:1".parse().unwrap());
    let relay = Relay::start(target).await;
    let (relayed_url, _) = through(&owner.database_url, relay.address);
    let app = TestApp::start_on(&relayed_url, &owner.media_dir, &[], None).await;
    let token = app.user("ann").await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);

    relay.cut();
    let started = Instant::now();
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert!(me.headers().contains_key("retry-after"));
    assert_problem(me, 503, "service_unavailable").await;
    let post = app
        .post_json("/api/v1/posts", &json!({"content": "lost?"}), Some(&token))
        .await;
    assert_problem(post, 503, "service_unavailable").await;
    // Failing fast: well within a client's patience, not a hang.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );

    relay.restore();
    eventually(
        Duration::from_secs(20),
        "ready again once the database is back",
        async || (app.get("/readyz", None).await.status() == StatusCode::OK).then_some(()),
    )
    .await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
    let created = app
        .post_json("/api/v1/posts", &json!({"content": "back"}), Some(&token))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // The write refused during the outage left nothing behind.
    let posts: Value = app
        .get("/api/v1/users/ann/posts", None)
        .await
        .json()
        .await
        .unwrap();
    let contents: Vec<&str> = posts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["back"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_wait_out_another_writer_instead_of_failing() {
    let app = TestApp::sqlite().await;
    let token = app.user("ann").await;
    // Another process holds SQLite's write lock for a while.
    // One connection, so that BEGIN and COMMIT run on the same one.
    let mut options = sea_orm::ConnectOptions::new(app.database_url.clone());
    options.max_connections(1).min_connections(1);
    let other = Database::connect(options).await.unwrap();
    let holder = Arc::new(other);
    holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
    let release = {
        let holder = Arc::clone(&holder);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            holder.execute_unprepared("COMMIT").await.unwrap();
        })
    };
    let mut writes = tokio::task::JoinSet::new();
    for n in 0..4 {
        let request = app
            .request(reqwest::Method::POST, "/api/v1/posts", Some(&token))
            .json(&json!({"content": format!("during the lock {n}")}));
        writes.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = writes.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::CREATED);
    }
    release.await.unwrap();
}

/// A pool with one connection, held by someone else: requests wait at most the acquire
/// timeout, then get a 503 instead of hanging; the pool serves again once it is released.
async fn an_exhausted_pool_answers_503_quickly(app: TestApp) {
    let token = app.user("ann").await;
    let held = sea_orm::TransactionTrait::begin(&app.state.db)
        .await
        .unwrap();
    let started = Instant::now();
    let response = app.get("/api/v1/me", Some(&token)).await;
    let waited = started.elapsed();
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503, "service_unavailable").await;
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
    held.rollback().await.unwrap();
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
}

const ONE_CONNECTION: &[(&str, &str)] = &[
    ("ROOST_DATABASE_MAX_CONNECTIONS", "1"),
    ("ROOST_DATABASE_ACQUIRE_TIMEOUT_SECS", "1"),
];

crate::both_databases_with!(ONE_CONNECTION; an_exhausted_pool_answers_503_quickly);
