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
    let port = free_port();
    let mut child = roost()
        .env(
            "ROOST_DATABASE_URL",
            format!("sqlite://{}", dir.join("roost.db").display()),
        )
        .env("ROOST_MEDIA_DIR", dir.join("media"))
        .env("ROOST_BIND", format!("127.0.0.1:{port}"))
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

fn stops_cleanly_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = start_server(dir.path());
    assert!(healthz(port).unwrap().starts_with("HTTP/1.1 200"));
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
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
