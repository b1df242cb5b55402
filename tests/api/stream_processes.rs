//! The stream across two server processes sharing one PostgreSQL database, and the binary
//! ending its streams on SIGTERM.
//!
//! Each test spawns the real binary (`roost serve`) on `127.0.0.1:0` with JSON logs and
//! reads the bound address from its `serving` line. A [`Server`] kills its process when
//! dropped (also when the test panics), and a [`FreshDatabase`] drops its database.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::helpers::PASSWORD;
use crate::sse::{DELIVERY, SseStream, stream_request};

/// How long a revoked token's stream may stay open.
const REVOCATION: Duration = Duration::from_secs(5);

/// A running `roost serve`; killed when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:port`.
    address: String,
    /// Its last log lines, printed when a test fails.
    log: Arc<Mutex<VecDeque<String>>>,
    name: &'static str,
}

impl Server {
    /// Spawns the binary on `database_url` and waits for its `serving` log line.
    fn spawn(name: &'static str, database_url: &str, media_dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roost"))
            .arg("serve")
            .env("ROOST_DATABASE_URL", database_url)
            .env("ROOST_MEDIA_DIR", media_dir)
            .env("ROOST_BIND", "127.0.0.1:0")
            .env("ROOST_MASTODON_BIND", "127.0.0.1:0")
            .env("ROOST_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("ROOST_RATE_LIMITS", "off")
            .env("ROOST_ARGON2_MEMORY_KIB", "64")
            .env("ROOST_ARGON2_ITERATIONS", "1")
            .env_remove("ROOST_PUBLIC_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the roost binary starts");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(address) = serving_address(&line) {
                        address_sender.send(address).ok();
                    }
                    remember(&log, line);
                }
            });
        }
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    remember(&log, line);
                }
            });
        }
        let mut server = Self {
            child,
            address: String::new(),
            log,
            name,
        };
        match address_receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => server.address = format!("http://{address}"),
            Err(_) => panic!("{name} did not log `serving` within 30 s: {:?}", server.log),
        }
        server
    }

    /// Sends SIGTERM.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to `within` for the process to exit; its status if it did.
    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log.lock().unwrap();
            eprintln!("--- last log lines of {} ---", self.name);
            for line in log.iter() {
                eprintln!("{line}");
            }
        }
    }
}

fn remember(log: &Mutex<VecDeque<String>>, line: String) {
    let mut log = log.lock().unwrap();
    if log.len() == 200 {
        log.pop_front();
    }
    log.push_back(line);
}

/// The address of a JSON `serving` log line.
fn serving_address(line: &str) -> Option<String> {
    let value: Value = serde_json::from_str(line).ok()?;
    let fields = if value.get("message").is_some() {
        &value
    } else {
        value.get("fields")?
    };
    (fields["message"] == "serving").then(|| fields["address"].as_str().map(str::to_owned))?
}

/// A database created on `ROOST_TEST_POSTGRES_URL` for one test; dropped when it ends.
struct FreshDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshDatabase {
    /// `None` when `ROOST_TEST_POSTGRES_URL` is unset (the test is skipped, as every
    /// PostgreSQL scenario is).
    async fn create() -> Option<Self> {
        let admin_url = std::env::var("ROOST_TEST_POSTGRES_URL").ok()?;
        let name = format!("roost_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("ROOST_TEST_POSTGRES_URL is unreachable: {error}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = with_database_name(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = db.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// `url` with its database name replaced by `name`.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut result = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// Requests to one server.
struct Api<'a> {
    client: &'a Client,
    server: &'a Server,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server.address)
    }

    /// Registers `username` and returns a token.
    async fn user(&self, username: &str) -> String {
        let email = format!("{username}@example.com");
        let response = self
            .client
            .post(self.url("/auth/register"))
            .json(&json!({"email": email, "username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "register {username}"
        );
        self.login(username).await
    }

    /// A new token of `username`.
    async fn login(&self, username: &str) -> String {
        let email = format!("{username}@example.com");
        let response = self
            .client
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "login {username}");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    async fn post(&self, token: &str, content: &str) -> Value {
        let response = self
            .client
            .post(self.url("/posts"))
            .bearer_auth(token)
            .json(&json!({"content": content}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "post {content}");
        response.json().await.unwrap()
    }

    async fn follow(&self, token: &str, username: &str) {
        let response = self
            .client
            .put(self.url(&format!("/me/following/{username}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "follow {username}"
        );
    }

    async fn like(&self, token: &str, post: &Value) {
        let id = post["id"].as_str().unwrap();
        let response = self
            .client
            .put(self.url(&format!("/posts/{id}/like")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "like {id}");
    }

    async fn logout(&self, token: &str) {
        let response = self
            .client
            .post(self.url("/auth/logout"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "logout");
    }

    async fn stream(&self, token: &str, last_event_id: Option<&str>) -> SseStream {
        SseStream::open_at(self.client, &self.server.address, token, last_event_id).await
    }
}

/// Waits for the next event on `stream`, which must come within the contract's second of
/// `since` and be named `name`.
async fn arrives(stream: &mut SseStream, name: &str, since: Instant, what: &str) -> Value {
    let left = DELIVERY.saturating_sub(since.elapsed());
    let event = stream.next_event(left).await.unwrap_or_else(|| {
        panic!(
            "{what}: no event within 1 s of the action (received so far: {:?})",
            stream.received
        )
    });
    assert_eq!(event.event, name, "{what}: {event:?}");
    event.data
}

/// Whatever process handles an action, its events reach the recipients' streams on every
/// process within a second; a stream on another process than the one revoking its token
/// still ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_server_processes_within_a_second() {
    let Some(database) = FreshDatabase::create().await else {
        return;
    };
    let media = tempfile::tempdir().unwrap();
    // One after the other: the first applies the migrations.
    let server_a = Server::spawn("process A", &database.url, media.path());
    let server_b = Server::spawn("process B", &database.url, media.path());
    let client = Client::new();
    let a = Api {
        client: &client,
        server: &server_a,
    };
    let b = Api {
        client: &client,
        server: &server_b,
    };

    let alice = a.user("alice").await;
    let bob = a.user("bob").await;
    let carol = a.user("carol").await;
    b.follow(&alice, "bob").await;
    let mut alice_on_a = a.stream(&alice, None).await;
    let alice_2 = b.login("alice").await;
    let mut alice_on_b = b.stream(&alice_2, None).await;
    let mut bob_on_b = b.stream(&bob, None).await;

    // An action on B reaches the streams on A and B.
    let sent = Instant::now();
    let post = b.post(&bob, "bob on B").await;
    for (stream, what) in [
        (&mut alice_on_a, "bob's post on B, to alice's stream on A"),
        (&mut alice_on_b, "bob's post on B, to alice's stream on B"),
    ] {
        let data = arrives(stream, "post", sent, what).await;
        assert_eq!(data["id"], post["id"], "{what}");
        assert_eq!(data["liked"], false, "{what}");
    }
    let data = arrives(&mut bob_on_b, "post", sent, "bob's own post").await;
    assert_eq!(data["id"], post["id"]);

    // Alice's own post on A; bob likes it on B, carol follows alice on B.
    let sent = Instant::now();
    let alice_post = a.post(&alice, "alice on A").await;
    for stream in [&mut alice_on_a, &mut alice_on_b] {
        arrives(stream, "post", sent, "alice's own post on A").await;
    }
    let sent = Instant::now();
    b.like(&bob, &alice_post).await;
    for stream in [&mut alice_on_a, &mut alice_on_b] {
        let data = arrives(stream, "notification", sent, "bob's like on B").await;
        assert_eq!(data["type"], "like");
        assert_eq!(data["account"]["username"], "bob");
        assert_eq!(data["post"]["id"], alice_post["id"]);
    }
    let sent = Instant::now();
    b.follow(&carol, "alice").await;
    for stream in [&mut alice_on_a, &mut alice_on_b] {
        let data = arrives(stream, "notification", sent, "carol's follow on B").await;
        assert_eq!(data["type"], "follow");
        assert_eq!(data["account"]["username"], "carol");
    }

    // And the other way: an action on A reaches a stream on B.
    let sent = Instant::now();
    a.follow(&bob, "alice").await;
    for stream in [&mut alice_on_a, &mut alice_on_b] {
        let data = arrives(stream, "notification", sent, "bob's follow on A").await;
        assert_eq!(data["type"], "follow");
        assert_eq!(data["account"]["username"], "bob");
    }
    let sent = Instant::now();
    let post = a.post(&alice, "alice again on A").await;
    let data = arrives(
        &mut bob_on_b,
        "post",
        sent,
        "alice's post on A, to bob on B",
    )
    .await;
    assert_eq!(data["id"], post["id"]);
    for stream in [&mut alice_on_a, &mut alice_on_b] {
        arrives(stream, "post", sent, "alice's own post").await;
    }

    // A replay on B of what A's stream saw.
    let first = alice_on_a.received[0].id.clone();
    let mut replay = b.stream(&alice, Some(&first)).await;
    let mut names = Vec::new();
    for _ in 0..5 {
        let event = replay
            .next_event(Duration::from_secs(5))
            .await
            .expect("a replayed event");
        names.push(event.event);
    }
    assert_eq!(
        names,
        [
            "post",
            "notification",
            "notification",
            "notification",
            "post"
        ],
        "after bob's post: alice's, the like, the two follows, alice's again"
    );

    // Logging out alice's second token on A ends its stream on B.
    let revoked = Instant::now();
    a.logout(&alice_2).await;
    assert!(
        alice_on_b.wait_closed(REVOCATION).await,
        "a stream on B of a token revoked on A ends within 5 s"
    );
    assert!(revoked.elapsed() <= REVOCATION);
    let sent = Instant::now();
    b.post(&bob, "still open").await;
    arrives(&mut alice_on_a, "post", sent, "alice's other stream stays").await;

    drop(server_a);
    drop(server_b);
    drop(database);
}

/// The limit of 8 open streams is the account's, not each process's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_of_8_streams_holds_across_processes() {
    let Some(database) = FreshDatabase::create().await else {
        return;
    };
    let media = tempfile::tempdir().unwrap();
    let server_a = Server::spawn("process A", &database.url, media.path());
    let server_b = Server::spawn("process B", &database.url, media.path());
    let client = Client::new();
    let a = Api {
        client: &client,
        server: &server_a,
    };
    let b = Api {
        client: &client,
        server: &server_b,
    };
    let alice = a.user("alice").await;
    let mut streams = Vec::new();
    for _ in 0..8 {
        streams.push(a.stream(&alice, None).await);
    }
    let ninth = SseStream::try_start(
        stream_request(&client, &server_b.address, Some(&alice)),
        None,
    )
    .await;
    match ninth {
        Ok(_) => {
            panic!("a 9th stream of the account opened on process B while 8 are open on process A")
        }
        Err(response) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert!(response.headers().contains_key("retry-after"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "too_many_streams");
        }
    }
    drop(streams);
    let _ = b;
    drop(server_a);
    drop(server_b);
    drop(database);
}

/// On SIGTERM with a stream open, the stream ends and the binary exits promptly (SQLite).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_streams_and_the_server_exits() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("roost.db").display());
    let mut server = Server::spawn("the server", &database_url, &dir.path().join("media"));
    let client = Client::new();
    let api = Api {
        client: &client,
        server: &server,
    };
    let alice = api.user("alice").await;
    let mut stream = api.stream(&alice, None).await;
    let sent = Instant::now();
    api.post(&alice, "before SIGTERM").await;
    arrives(&mut stream, "post", sent, "the stream works").await;

    server.terminate();
    let terminated = Instant::now();
    assert!(
        stream.wait_closed(Duration::from_secs(5)).await,
        "the stream ends on SIGTERM"
    );
    let status = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(5)));
    let status = status.unwrap_or_else(|| {
        panic!(
            "the server still runs {:?} after SIGTERM with a stream open",
            terminated.elapsed()
        )
    });
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
