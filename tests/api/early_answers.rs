//! Requests answered before their body is read (a 401 without a token, a 415 for form data
//! sent to a JSON endpoint, a 413 announced by `Content-Length`): the answer must always
//! reach the client, and the connection must stay usable, however much body follows.
//!
//! These speak HTTP/1.1 over a raw socket, so that the body is really still arriving when
//! the server answers, and the same connection is then used for a second request.

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_databases;
use crate::helpers::TestApp;

/// An answer read off the socket.
struct RawResponse {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Opens a connection to the app.
async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connected")
}

/// Sends a request head, then `body_len` bytes of body in chunks, then reads the answer.
async fn send(
    stream: &mut TcpStream,
    method_and_path: &str,
    headers: &[(&str, &str)],
    body_len: usize,
) -> RawResponse {
    let mut head = format!("{method_and_path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let chunk = vec![b'a'; 16 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let size = chunk.len().min(body_len - sent);
        stream
            .write_all(&chunk[..size])
            .await
            .expect("the server keeps reading the body it does not need");
        sent += size;
    }
    read_response(stream).await
}

/// Reads one response (with a `Content-Length`) off the connection.
async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buffer = Vec::new();
    let mut byte = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream
            .read(&mut byte)
            .await
            .expect("an answer, not a reset");
        assert!(
            read > 0,
            "the server closed the connection without answering"
        );
        buffer.extend_from_slice(&byte[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    let content_type = header("content-type");
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = stream
            .read(&mut byte)
            .await
            .expect("the rest of the answer");
        assert!(read > 0, "the answer was cut short");
        body.extend_from_slice(&byte[..read]);
    }
    RawResponse {
        status,
        content_type,
        body,
    }
}

fn assert_problem(response: &RawResponse, status: u16, code: &str) {
    assert_eq!(response.status, status);
    assert_eq!(response.content_type, "application/problem+json");
    let problem: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(problem["code"], code);
}

/// After an early answer, the same connection serves the next request.
async fn assert_still_serving(stream: &mut TcpStream) {
    let response = send(stream, "GET /healthz", &[], 0).await;
    assert_eq!(response.status, StatusCode::OK.as_u16());
}

async fn form_data_sent_to_json_endpoints_always_gets_its_415(app: TestApp) {
    let token = app.user("alice").await;
    let bearer = format!("Bearer {token}");
    for path in ["POST /api/v1/posts", "POST /api/v1/scheduled-posts"] {
        for round in 0..5 {
            let mut stream = connect(&app).await;
            let headers = [
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ];
            let response = send(&mut stream, path, &headers, 200_000 + round).await;
            assert_problem(&response, 415, "unsupported_media_type");
            assert_still_serving(&mut stream).await;
        }
    }
}

async fn a_body_over_the_limit_gets_its_413(app: TestApp) {
    let token = app.user("alice").await;
    let bearer = format!("Bearer {token}");
    let mut stream = connect(&app).await;
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let response = send(&mut stream, "POST /api/v1/posts", &headers, 1024 * 1024 + 1).await;
    assert_problem(&response, 413, "payload_too_large");
    assert_still_serving(&mut stream).await;
}

async fn a_body_sent_without_a_token_gets_its_401(app: TestApp) {
    let mut stream = connect(&app).await;
    let headers = [("Content-Type", "application/json")];
    let response = send(&mut stream, "POST /api/v1/posts", &headers, 300_000).await;
    assert_problem(&response, 401, "unauthorized");
    assert_still_serving(&mut stream).await;
}

both_databases!(
    form_data_sent_to_json_endpoints_always_gets_its_415,
    a_body_over_the_limit_gets_its_413,
    a_body_sent_without_a_token_gets_its_401,
);
