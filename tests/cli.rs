//! The command-line contract: `roost openapi`, `roost migrate`, and `roost serve` stopping
//! cleanly on SIGTERM and SIGINT.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn roost() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roost"));
    command
        .env_remove("ROOST_DATABASE_URL")
        .env("ROOST_ARGON2_MEMORY_KIB", "64")
        .env("ROOST_ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn");
    command
}

#[test]
fn openapi_prints_the_served_document() {
    let output = roost().arg("openapi").output().unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::to_value(roost::docs::openapi()).unwrap()
    );
}

#[test]
fn migrate_creates_the_sqlite_file_and_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/roost.db");
    let status = roost()
        .arg("migrate")
        .env("ROOST_DATABASE_URL", format!("sqlite://{}", path.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(path.exists());
    // Applying again is a no-op, not an error.
    let status = roost()
        .arg("migrate")
        .env("ROOST_DATABASE_URL", format!("sqlite://{}", path.display()))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn invalid_configuration_is_refused_at_start() {
    let output = roost()
        .env("ROOST_BIND", "not-an-address")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ROOST_BIND"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `roost` (no subcommand: serve is the default) and waits until it answers.
fn start_server(dir: &std::path::Path) -> (Child, u16) {
    start_server_on(&format!("sqlite://{}", dir.join("roost.db").display()), dir)
}

/// As [`start_server`], on the database at `database_url`.
fn start_server_on(database_url: &str, dir: &std::path::Path) -> (Child, u16) {
    let port = free_port();
    let mut child = roost()
        .env("ROOST_DATABASE_URL", database_url)
        .env("ROOST_MEDIA_DIR", dir.join("media"))
        .env("ROOST_BIND", format!("127.0.0.1:{port}"))
        .env("ROOST_MASTODON_BIND", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if healthz(port).is_some() {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

fn healthz(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn stops_cleanly_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = start_server(dir.path());
    assert!(healthz(port).unwrap().starts_with("HTTP/1.1 200"));
    send_signal(&child, signal);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status after {signal}: {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(healthz(port).is_none(), "nothing listens after shutdown");
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigterm() {
    stops_cleanly_on("TERM");
}

#[cfg(unix)]
#[test]
fn serve_stops_cleanly_on_sigint() {
    stops_cleanly_on("INT");
}

/// Writers post as fast as they can while the server receives SIGTERM; every post the
/// server acknowledged (201) must be there after a restart.
async fn no_acknowledged_write_is_lost_on_sigterm(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = start_server_on(database_url, dir.path());
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let credentials = serde_json::json!({
        "email": "writer@example.com", "password": "correct horse battery", "username": "writer"
    });
    let registered = client
        .post(format!("{base}/auth/register"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let login: serde_json::Value = client
        .post(format!("{base}/auth/login"))
        .json(&credentials)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();

    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let refused = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u16>::new()));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (acknowledged, refused) = (acknowledged.clone(), refused.clone());
        writers.spawn(async move {
            for n in 0.. {
                let sent = client
                    .post(format!("{base}/posts"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"content": format!("writer {writer} post {n}")}))
                    .send()
                    .await;
                // Once the server stops accepting, requests fail to connect: stop.
                let Ok(response) = sent else { break };
                if response.status() == 201 {
                    let body: serde_json::Value = response.json().await.unwrap();
                    acknowledged
                        .lock()
                        .unwrap()
                        .push(body["id"].as_str().unwrap().to_owned());
                } else {
                    refused.lock().unwrap().push(response.status().as_u16());
                }
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 50 {
        assert!(Instant::now() < deadline, "writers made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    send_signal(&child, "TERM");
    tokio::time::timeout(Duration::from_secs(30), async {
        while writers.join_next().await.is_some() {}
    })
    .await
    .expect("writers stop once the server has gone");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(
        refused.lock().unwrap().iter().all(|status| *status < 500),
        "server errors during shutdown: {:?}",
        refused.lock().unwrap()
    );

    let (mut child, port) = start_server_on(database_url, dir.path());
    let ids = acknowledged.lock().unwrap().clone();
    for id in &ids {
        let response = client
            .get(format!("http://127.0.0.1:{port}/api/v1/posts/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged post {id} is missing");
    }
    send_signal(&child, "TERM");
    child.wait().unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_on_sigterm_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    no_acknowledged_write_is_lost_on_sigterm(&format!(
        "sqlite://{}",
        dir.path().join("roost.db").display()
    ))
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_on_sigterm_postgres() {
    use sea_orm::{ConnectionTrait, Database};
    let Ok(admin_url) = std::env::var("ROOST_TEST_POSTGRES_URL") else {
        return;
    };
    let name = format!("roost_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    no_acknowledged_write_is_lost_on_sigterm(&format!("{base}/{name}")).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
}
