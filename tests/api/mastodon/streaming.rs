//! The streaming API: the WebSocket at `/api/v1/streaming` (each way of sending the token,
//! `?stream=` and subscribe messages), Server-Sent Events per stream, the events of the
//! home feed, notifications and the public and hashtag timelines, and across processes.
//!
//! "Nothing arrives" is shown with a control event: a later action whose event must
//! arrive, and must be the next one (a process handles events in the order of actions).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::both_databases;
use crate::helpers::{TestApp, UNKNOWN_TOKEN, assert_masto_error, id_of, post_path};

const STREAMING: &str = "/api/v1/streaming";
/// How long a scenario waits for an event it expects.
const EVENT_WAIT: Duration = Duration::from_secs(5);
/// How soon a stream of a revoked token must end.
const REVOCATION: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// A WebSocket client
// ---------------------------------------------------------------------------------------

/// Where a connection sends its token.
#[derive(Clone, Copy)]
enum Token<'a> {
    Header(&'a str),
    Subprotocol(&'a str),
    Query(&'a str),
}

/// One event received over the WebSocket.
#[derive(Debug, Clone)]
struct WsEvent {
    stream: Vec<String>,
    event: String,
    payload: String,
}

impl WsEvent {
    /// The payload as JSON (a Status or a Notification).
    fn entity(&self) -> Value {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|_| panic!("the payload is JSON: {self:?}"))
    }
}

struct Socket {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server accepted.
    protocol: Option<String>,
}

/// Opens the WebSocket of `app` with `query`; the HTTP status when refused.
async fn connect(app: &TestApp, query: &str, token: Token<'_>) -> Result<Socket, StatusCode> {
    let address = app.mastodon_address.replacen("http://", "ws://", 1);
    let mut url = format!("{address}{STREAMING}?{query}");
    if let Token::Query(token) = token {
        url.push_str(&format!("&access_token={token}"));
    }
    let mut request = url.into_client_request().unwrap();
    match token {
        Token::Header(token) => {
            let value = HeaderValue::try_from(format!("Bearer {token}")).unwrap();
            request.headers_mut().insert("authorization", value);
        }
        Token::Subprotocol(token) => {
            let value = HeaderValue::try_from(token).unwrap();
            request
                .headers_mut()
                .insert("sec-websocket-protocol", value);
        }
        Token::Query(_) => {}
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((inner, response)) => Ok(Socket {
            inner,
            protocol: response
                .headers()
                .get("sec-websocket-protocol")
                .map(|value| value.to_str().unwrap().to_owned()),
        }),
        Err(tungstenite::Error::Http(response)) => Err(response.status()),
        Err(error) => panic!("connecting the WebSocket failed: {error}"),
    }
}

/// Opens the WebSocket, which must be accepted.
async fn open(app: &TestApp, query: &str, token: &str) -> Socket {
    connect(app, query, Token::Header(token))
        .await
        .unwrap_or_else(|status| panic!("the WebSocket ?{query} was refused with {status}"))
}

impl Socket {
    /// The next text message within `within`, as JSON; `None` when none came or the
    /// connection ended.
    async fn next_message(&mut self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .ok()??;
            match message.ok()? {
                Message::Text(text) => {
                    return Some(serde_json::from_str(&text).expect("messages are JSON"));
                }
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The next event, which must come within [`EVENT_WAIT`].
    async fn event(&mut self, what: &str) -> WsEvent {
        let message = self
            .next_message(EVENT_WAIT)
            .await
            .unwrap_or_else(|| panic!("{what}: no event came"));
        assert!(message.get("error").is_none(), "{what}: {message}");
        WsEvent {
            stream: serde_json::from_value(message["stream"].clone())
                .unwrap_or_else(|_| panic!("{what}: a stream in {message}")),
            event: message["event"].as_str().unwrap().to_owned(),
            payload: message["payload"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: the payload is a string: {message}"))
                .to_owned(),
        }
    }

    /// The next event: an `update` of a status with `content`.
    async fn update(&mut self, content: &str, what: &str) -> WsEvent {
        let event = self.event(what).await;
        assert_eq!(event.event, "update", "{what}: {event:?}");
        let status = event.entity();
        assert!(
            status["content"].as_str().unwrap().contains(content),
            "{what}: expected {content:?}, got {status}"
        );
        event
    }

    async fn send(&mut self, message: Value) {
        self.inner
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// Whether the server closed the connection within `within`.
    async fn closes_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// A Server-Sent Events client
// ---------------------------------------------------------------------------------------

struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// Opens `GET path`, which must answer 200 with `text/event-stream`.
    async fn open(app: &TestApp, path: &str, token: &str) -> Self {
        let response = app
            .masto(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event as its name and data, which must come within [`EVENT_WAIT`].
    async fn event(&mut self, what: &str) -> (String, String) {
        let deadline = Instant::now() + EVENT_WAIT;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|line| line.strip_prefix(name))
                        .map(|value| value.trim_start().to_owned())
                };
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    return (event, data);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("{what}: no event came"))
                .unwrap()
                .unwrap_or_else(|| panic!("{what}: the stream ended"));
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Actions, through Roost's own API
// ---------------------------------------------------------------------------------------

async fn post_with(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.send_post(Some(token), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "posting {body}");
    response.json().await.unwrap()
}

async fn edit(app: &TestApp, token: &str, id: &str, content: &str) {
    let response = app
        .request(Method::PATCH, &post_path(id), Some(token))
        .json(&json!({ "content": content }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "editing {id}");
}

async fn block(app: &TestApp, token: &str, username: &str) {
    let response = app
        .request(
            Method::PUT,
            &format!("/api/v1/me/blocks/{username}"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "blocking {username}");
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

/// The token works from the `Authorization` header, the subprotocol (echoed back) and
/// `?access_token=`.
async fn each_way_of_sending_the_token_opens_the_socket(app: TestApp) {
    let alice = app.user("alice").await;
    let mut by_header = connect(&app, "stream=user", Token::Header(&alice))
        .await
        .unwrap();
    let mut by_protocol = connect(&app, "stream=user", Token::Subprotocol(&alice))
        .await
        .unwrap();
    assert_eq!(by_protocol.protocol.as_deref(), Some(alice.as_str()));
    let mut by_query = connect(&app, "stream=user", Token::Query(&alice))
        .await
        .unwrap();
    app.create_post(&alice, "Hello, sockets").await;
    for (socket, how) in [
        (&mut by_header, "header"),
        (&mut by_protocol, "subprotocol"),
        (&mut by_query, "query"),
    ] {
        let event = socket.update("Hello, sockets", how).await;
        assert_eq!(event.stream, ["user"]);
    }
}

/// An unknown or missing token is refused before the upgrade, as Mastodon's 401.
async fn an_invalid_token_is_refused(app: TestApp) {
    for token in [
        Token::Header(UNKNOWN_TOKEN),
        Token::Subprotocol(UNKNOWN_TOKEN),
        Token::Query(UNKNOWN_TOKEN),
    ] {
        let refused = connect(&app, "stream=user", token).await.err();
        assert_eq!(refused, Some(StatusCode::UNAUTHORIZED));
    }
    let response = app
        .masto(Method::GET, "/api/v1/streaming/user", Some(UNKNOWN_TOKEN))
        .send()
        .await
        .unwrap();
    let message = assert_masto_error(response, 401, "SSE with an unknown token").await;
    assert_eq!(message, "The access token is invalid");
    let response = app
        .masto(Method::GET, "/api/v1/streaming/public", None)
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 401, "SSE without a token").await;
}

/// `user` carries a followed account's post as `update` (a Status) and a like of your
/// post as a `favourite` notification.
async fn the_user_stream_carries_the_home_feed_and_notifications(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&bob, "alice").await;
    let mut socket = open(&app, "stream=user", &bob).await;

    app.create_post(&alice, "From the river").await;
    let event = socket
        .update("From the river", "a followed account's post")
        .await;
    let status = event.entity();
    assert_eq!(status["account"]["username"], "alice");
    assert_eq!(status["favourited"], false);
    assert!(
        status["id"].as_str().unwrap().parse::<i64>().is_ok(),
        "{status}"
    );

    let mine = app.create_post(&bob, "My own post").await;
    socket.update("My own post", "one's own post").await;
    app.like(&alice, &id_of(&mine)).await;
    let event = socket.event("the like").await;
    assert_eq!(event.event, "notification", "{event:?}");
    assert_eq!(event.stream, ["user"]);
    let notification = event.entity();
    assert_eq!(notification["type"], "favourite");
    assert_eq!(notification["account"]["username"], "alice");
    assert_eq!(notification["status"]["content"], "<p>My own post</p>");
}

/// An edit comes as `status.update`, a deletion as `delete` with the status id.
async fn edits_and_deletions_come_as_status_update_and_delete(app: TestApp) {
    let alice = app.user("alice").await;
    let mut socket = open(&app, "stream=user", &alice).await;
    let post = app.create_post(&alice, "First version").await;
    let created = socket.update("First version", "the post").await.entity();

    edit(&app, &alice, &id_of(&post), "Second version").await;
    let event = socket.event("the edit").await;
    assert_eq!(event.event, "status.update", "{event:?}");
    let edited = event.entity();
    assert_eq!(edited["id"], created["id"]);
    assert!(
        edited["content"]
            .as_str()
            .unwrap()
            .contains("Second version")
    );
    assert!(edited["edited_at"].is_string(), "{edited}");

    app.delete_post(&alice, &id_of(&post)).await;
    let event = socket.event("the deletion").await;
    assert_eq!(event.event, "delete", "{event:?}");
    assert_eq!(event.stream, ["user"]);
    assert_eq!(event.payload, created["id"].as_str().unwrap());
}

/// Streams are followed and left with `subscribe` and `unsubscribe` messages; a stream
/// that does not exist is answered with an error message.
async fn subscribe_and_unsubscribe_messages_choose_the_streams(app: TestApp) {
    let alice = app.user("alice").await;
    let mut socket = open(&app, "", &alice).await;
    socket
        .send(json!({"type": "subscribe", "stream": "user"}))
        .await;
    // A message the server has handled: an error for a stream that does not exist.
    socket
        .send(json!({"type": "subscribe", "stream": "nonsense"}))
        .await;
    let error = socket.next_message(EVENT_WAIT).await.unwrap();
    assert_eq!(
        error,
        json!({"error": "Unknown stream type", "status": 400})
    );
    app.create_post(&alice, "Subscribed").await;
    socket.update("Subscribed", "after subscribing").await;

    socket
        .send(json!({"type": "unsubscribe", "stream": "user"}))
        .await;
    socket
        .send(json!({"type": "subscribe", "stream": "hashtag", "tag": "control"}))
        .await;
    socket
        .send(json!({"type": "subscribe", "stream": "hashtag"}))
        .await;
    let error = socket.next_message(EVENT_WAIT).await.unwrap();
    assert_eq!(error["error"], "No tag for stream provided");
    app.create_post(&alice, "Unsubscribed").await;
    app.create_post(&alice, "The control #control").await;
    let event = socket.update("The control", "the control post").await;
    assert_eq!(event.stream, ["hashtag", "control"]);
}

/// `public` carries strangers' public posts, not followers-only ones, and not those of an
/// account the listener blocks or that blocks them.
async fn the_public_stream_follows_the_public_timeline_rule(app: TestApp) {
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let eve = app.user("eve").await;
    let frank = app.user("frank").await;
    block(&app, &carol, "eve").await;
    block(&app, &frank, "carol").await;
    let mut socket = open(&app, "stream=public", &carol).await;

    app.create_post(&dave, "A public hello").await;
    let event = socket
        .update("A public hello", "a stranger's public post")
        .await;
    assert_eq!(event.stream, ["public"]);
    let status = event.entity();
    assert_eq!(status["visibility"], "public");
    assert!(
        status.get("favourited").is_none(),
        "rendered for everyone: {status}"
    );

    post_with(
        &app,
        &dave,
        json!({"content": "For followers", "visibility": "followers"}),
    )
    .await;
    app.create_post(&eve, "From a blocked account").await;
    app.create_post(&frank, "From an account that blocks").await;
    app.create_post(&dave, "The control").await;
    socket
        .update("The control", "only the control post comes next")
        .await;
}

/// `hashtag` carries the public posts with its tag only, named by it.
async fn the_hashtag_stream_filters_by_tag(app: TestApp) {
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let mut socket = open(&app, "stream=hashtag&tag=Birds", &carol).await;
    let mut local = open(&app, "stream=hashtag:local&tag=birds", &carol).await;
    app.create_post(&dave, "Whiskers #cats").await;
    app.create_post(&dave, "A heron #birds").await;
    let event = socket.update("A heron", "the tagged post").await;
    assert_eq!(event.stream, ["hashtag", "birds"]);
    let event = local.update("A heron", "the tagged post, local").await;
    assert_eq!(event.stream, ["hashtag:local", "birds"]);
}

/// A public post that is deleted is told to the public streams that were sent it.
async fn the_public_stream_is_told_of_deletions(app: TestApp) {
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let mut socket = open(&app, "stream=public:local", &carol).await;
    let post = app.create_post(&dave, "Soon gone").await;
    let status = socket.update("Soon gone", "the public post").await.entity();
    app.delete_post(&dave, &id_of(&post)).await;
    let event = socket.event("the deletion").await;
    assert_eq!(event.event, "delete");
    assert_eq!(event.stream, ["public:local"]);
    assert_eq!(event.payload, status["id"].as_str().unwrap());
}

/// Each SSE path carries its stream's `update` events; `/health` says `OK`.
async fn server_sent_events_carry_updates(app: TestApp) {
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.follow(&bob, "alice").await;
    let mut user = EventStream::open(&app, "/api/v1/streaming/user", &bob).await;
    let mut public = EventStream::open(&app, "/api/v1/streaming/public", &bob).await;
    let mut local = EventStream::open(&app, "/api/v1/streaming/public/local", &bob).await;
    let mut tag = EventStream::open(&app, "/api/v1/streaming/hashtag?tag=birds", &bob).await;
    let mut tag_local =
        EventStream::open(&app, "/api/v1/streaming/hashtag/local?tag=birds", &bob).await;
    let mut notifications =
        EventStream::open(&app, "/api/v1/streaming/user/notification", &alice).await;

    let post = app.create_post(&alice, "Morning #birds").await;
    for (stream, what) in [
        (&mut user, "user"),
        (&mut public, "public"),
        (&mut local, "public/local"),
        (&mut tag, "hashtag"),
        (&mut tag_local, "hashtag/local"),
    ] {
        let (event, data) = stream.event(what).await;
        assert_eq!(event, "update", "{what}");
        let status: Value = serde_json::from_str(&data).unwrap();
        assert!(
            status["content"].as_str().unwrap().contains("Morning"),
            "{what}: {status}"
        );
    }
    app.like(&bob, &id_of(&post)).await;
    let (event, data) = notifications.event("user/notification").await;
    assert_eq!(event, "notification");
    let notification: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(notification["type"], "favourite");

    let response = app
        .masto(Method::GET, "/api/v1/streaming/health", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(response.text().await.unwrap(), "OK");

    let response = app
        .masto(Method::GET, "/api/v1/streaming/nonsense", Some(&bob))
        .send()
        .await
        .unwrap();
    let message = assert_masto_error(response, 400, "an unknown stream").await;
    assert_eq!(message, "Unknown stream type");
}

/// Revoking the token closes its WebSocket.
async fn a_revoked_token_closes_the_socket(app: TestApp) {
    let alice = app.user("alice").await;
    let mut socket = open(&app, "stream=user", &alice).await;
    app.logout(&alice).await;
    assert!(
        socket.closes_within(REVOCATION).await,
        "the socket is closed within {REVOCATION:?}"
    );
}

/// A ping is answered with a pong carrying its data.
async fn pings_are_answered(app: TestApp) {
    let alice = app.user("alice").await;
    let mut socket = open(&app, "stream=user", &alice).await;
    socket
        .inner
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.inner.next())
            .await
            .expect("a pong within the wait")
            .expect("the socket stays open")
            .unwrap();
        if let Message::Pong(data) = message {
            assert_eq!(&data[..], b"are you there");
            break;
        }
    }
}

/// Shutting the server down closes each socket with `1001 going away`.
async fn shutdown_closes_sockets_as_going_away(mut app: TestApp) {
    let alice = app.user("alice").await;
    let mut socket = open(&app, "stream=user", &alice).await;
    app.stop().await;
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.inner.next())
            .await
            .expect("a close frame within the wait")
            .expect("a close frame before the end")
            .unwrap();
        if let Message::Close(frame) = message {
            let frame = frame.expect("a close code");
            assert_eq!(u16::from(frame.code), 1001);
            break;
        }
    }
}

/// A plain request to the WebSocket's path (not an upgrade) is a 404, which tells a client
/// looking for the streaming server that it is on this host.
async fn a_plain_request_to_the_socket_path_is_not_found(app: TestApp) {
    let alice = app.user("alice").await;
    let response = app
        .masto(Method::GET, STREAMING, Some(&alice))
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 404, "GET /api/v1/streaming").await;
}

both_databases!(
    each_way_of_sending_the_token_opens_the_socket,
    an_invalid_token_is_refused,
    the_user_stream_carries_the_home_feed_and_notifications,
    edits_and_deletions_come_as_status_update_and_delete,
    subscribe_and_unsubscribe_messages_choose_the_streams,
    the_public_stream_follows_the_public_timeline_rule,
    the_hashtag_stream_filters_by_tag,
    the_public_stream_is_told_of_deletions,
    server_sent_events_carry_updates,
    a_revoked_token_closes_the_socket,
    a_plain_request_to_the_socket_path_is_not_found,
    pings_are_answered,
    shutdown_closes_sockets_as_going_away,
);

/// Two processes on one PostgreSQL database: a post made through one reaches a WebSocket
/// open on the other within a second, on the user and the public streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_processes_within_a_second() {
    let Some(first) = TestApp::postgres_realtime().await else {
        return;
    };
    let second = TestApp::start_on(&first.database_url, &first.media_dir, &[], None).await;
    let alice = first.user("alice").await;
    let bob = first.user("bob").await;
    first.follow(&bob, "alice").await;
    let mut home = open(&second, "stream=user", &bob).await;
    let mut public = open(&second, "stream=public", &bob).await;

    let started = Instant::now();
    first.create_post(&alice, "Across processes").await;
    home.update("Across processes", "the home stream on the other process")
        .await;
    public
        .update("Across processes", "the public stream on the other process")
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "within a second: {:?}",
        started.elapsed()
    );
}
