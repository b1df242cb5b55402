//! Mastodon's streaming API, over Roost's real-time core ([`crate::stream`]): a
//! multiplexed WebSocket at `GET /api/v1/streaming`, Server-Sent Events per stream at
//! `GET /api/v1/streaming/{user,user/notification,public,public/local,hashtag,…}`, and
//! `GET /api/v1/streaming/health`.
//!
//! A connection is one of the account's streams in the core: it counts against the same
//! limit of streams per account, ends when its token is revoked or the server shuts down,
//! and receives the same events from whichever process handled the action. The core's
//! dispatcher decides who receives what (the visibility rule, blocks, mutes); this module
//! only names and renders the events as Mastodon's ([`channels`]).
//!
//! As in Mastodon 4.2, every stream needs a user token, sent as `Authorization: Bearer`,
//! as the WebSocket subprotocol (`Sec-WebSocket-Protocol`, echoed back) or as
//! `?access_token=`.

mod channels;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{
    CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, close_code,
};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{Next, from_fn};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use self::channels::{Channel, Listener, Message, Refused};
use super::params::{QueryParams, lenient};
use super::scopes::Caller;
use crate::error::AppError;
use crate::state::AppState;
use crate::stream::{MAX_STREAMS_PER_ACCOUNT, Refusal, Registration};

/// How often a WebSocket is pinged, and an idle event stream gets a comment line, so that
/// proxies keep them open.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/streaming", get(open_socket))
        .route("/api/v1/streaming/health", get(health))
        .route("/api/v1/streaming/{*stream}", get(open_event_stream))
        .route_layer(from_fn(token_as_authorization))
}

/// Middleware: a token sent as `?access_token=` or as the WebSocket subprotocol is read as
/// if it came in the `Authorization` header (which wins when it is there too).
async fn token_as_authorization(mut request: Request, next: Next) -> Response {
    if !request.headers().contains_key(header::AUTHORIZATION) {
        let from_query = request.uri().query().and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "access_token")
                .map(|(_, token)| token.into_owned())
        });
        let token = from_query.or_else(|| subprotocol(request.headers()));
        let value = token.and_then(|token| HeaderValue::try_from(format!("Bearer {token}")).ok());
        if let Some(value) = value {
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
    }
    next.run(request).await
}

/// The first subprotocol a WebSocket client asked for (Mastodon clients send their token
/// there).
fn subprotocol(headers: &HeaderMap) -> Option<String> {
    let requested = headers.get(header::SEC_WEBSOCKET_PROTOCOL)?.to_str().ok()?;
    let first = requested.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_owned())
}

/// `GET /api/v1/streaming/health`: `OK` while the server streams.
async fn health() -> &'static str {
    "OK"
}

/// The streams a connection asks for in its query.
#[derive(Debug, Default, Deserialize)]
struct StreamQuery {
    stream: Option<String>,
    tag: Option<String>,
    /// The SSE public streams' filter: posts with images only.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    only_media: Option<bool>,
}

/// Registers a stream of `caller` in the core, or the answer refusing it.
async fn register(state: &AppState, caller: &Caller) -> Result<Registration, AppError> {
    state
        .stream
        .register(&state.db, caller.user)
        .await
        .map_err(|refusal| match refusal {
            Refusal::TooMany => AppError::TooManyRequests {
                code: "too_many_streams",
                detail: format!(
                    "An account may hold at most {MAX_STREAMS_PER_ACCOUNT} open streams; close one first."
                ),
                retry_after_secs: 5,
            },
            Refusal::Closing => AppError::ServiceUnavailable {
                code: "shutting_down",
                detail: "The server is shutting down; reconnect shortly.".into(),
            },
            Refusal::Database(error) => error.into(),
        })
}

/// The stream named in the query, if any, checked against the token's scopes.
fn requested_channel(caller: &Caller, query: &StreamQuery) -> Result<Option<Channel>, Refused> {
    let Some(name) = query.stream.as_deref().filter(|name| !name.is_empty()) else {
        return Ok(None);
    };
    let channel = Channel::parse(name, query.tag.as_deref())?;
    channel.allowed_to(caller)?;
    Ok(Some(channel))
}

/// `GET /api/v1/streaming` as a WebSocket: the streams of `?stream=` (and `?tag=`), and
/// those the client subscribes to. A plain request (not an upgrade) is answered 404, which
/// tells a client looking for the streaming server that it is on this host.
async fn open_socket(
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(query): QueryParams<StreamQuery>,
) -> Result<Response, AppError> {
    let Ok(upgrade) = upgrade else {
        return Err(AppError::NotFound {
            detail: "The streaming API is served on this host, over WebSocket.".into(),
        });
    };
    let channel = requested_channel(&caller, &query).map_err(Refused::into_error)?;
    let registration = register(&state, &caller).await?;
    let mut listener = Listener::new(state, &caller, registration);
    if let Some(channel) = channel {
        listener.subscribe(channel);
    }
    let upgrade = match subprotocol(&headers) {
        Some(protocol) => upgrade.protocols([protocol]),
        None => upgrade,
    };
    Ok(upgrade.on_upgrade(move |socket| serve_socket(socket, listener, caller)))
}

/// What a client sends over the WebSocket.
#[derive(Debug, Deserialize)]
struct Command {
    #[serde(rename = "type")]
    kind: String,
    stream: Option<String>,
    tag: Option<String>,
}

/// Serves a WebSocket until the client leaves, its token is revoked, it cannot keep up,
/// or the server shuts down (a `1001 going away` close).
async fn serve_socket(mut socket: WebSocket, mut listener: Listener, caller: Caller) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    heartbeat.tick().await;
    let close = loop {
        if *listener.registration.closing.borrow() {
            break Some(close_code::AWAY);
        }
        tokio::select! {
            delivery = listener.registration.receiver.recv() => {
                // Gone from the core: the token was revoked, or the client was too slow.
                let Some(delivery) = delivery else { break Some(close_code::POLICY) };
                if send_all(&mut socket, listener.messages(delivery).await).await.is_err() {
                    break None;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if let Err(refused) = obey(&mut listener, &caller, &text) {
                        let error = serde_json::json!({
                            "error": refused.message,
                            "status": refused.status,
                        });
                        if socket.send(WsMessage::Text(error.to_string().into())).await.is_err() {
                            break None;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => break None,
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(_)) => {}
            },
            _ = listener.registration.closing.changed() => break Some(close_code::AWAY),
            _ = heartbeat.tick() => {
                if socket.send(WsMessage::Ping(Default::default())).await.is_err() {
                    break None;
                }
            }
        }
    };
    if let Some(code) = close {
        let frame = CloseFrame {
            code,
            reason: "".into(),
        };
        socket.send(WsMessage::Close(Some(frame))).await.ok();
    }
}

async fn send_all(socket: &mut WebSocket, messages: Vec<Message>) -> Result<(), axum::Error> {
    for message in messages {
        socket
            .send(WsMessage::Text(message.to_json().into()))
            .await?;
    }
    Ok(())
}

/// Carries out a client's `subscribe` or `unsubscribe`.
fn obey(listener: &mut Listener, caller: &Caller, text: &str) -> Result<(), Refused> {
    let command: Command = serde_json::from_str(text).map_err(|_| Refused::BAD_MESSAGE)?;
    let name = command.stream.as_deref().unwrap_or("");
    let channel = Channel::parse(name, command.tag.as_deref())?;
    match command.kind.as_str() {
        "subscribe" => {
            channel.allowed_to(caller)?;
            listener.subscribe(channel);
        }
        "unsubscribe" => listener.unsubscribe(&channel),
        _ => return Err(Refused::BAD_MESSAGE),
    }
    Ok(())
}

/// `GET /api/v1/streaming/{stream}` as Server-Sent Events: `user`, `user/notification`,
/// `public`, `public/local` (`?only_media=true` for posts with images), `hashtag` and
/// `hashtag/local` (`?tag=`), each event an `event:` name and one `data:` line.
async fn open_event_stream(
    State(state): State<AppState>,
    Path(stream): Path<String>,
    caller: Caller,
    QueryParams(query): QueryParams<StreamQuery>,
) -> Result<Response, AppError> {
    let mut name = stream.replace('/', ":");
    if query.only_media == Some(true) && name.starts_with("public") {
        name.push_str(":media");
    }
    let channel = Channel::parse(&name, query.tag.as_deref()).map_err(Refused::into_error)?;
    channel.allowed_to(&caller).map_err(Refused::into_error)?;
    let registration = register(&state, &caller).await?;
    let mut listener = Listener::new(state, &caller, registration);
    listener.subscribe(channel);
    let pending: std::collections::VecDeque<Message> = Default::default();
    let events = futures_util::stream::unfold(
        (listener, pending),
        |(mut listener, mut pending)| async move {
            loop {
                if let Some(message) = pending.pop_front() {
                    let event = Event::default()
                        .event(message.event)
                        .data(&*message.payload);
                    return Some((Ok::<_, Infallible>(event), (listener, pending)));
                }
                if *listener.registration.closing.borrow() {
                    return None;
                }
                tokio::select! {
                    delivery = listener.registration.receiver.recv() => {
                        pending.extend(listener.messages(delivery?).await);
                    }
                    _ = listener.registration.closing.changed() => return None,
                }
            }
        },
    );
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT_EVERY).text("thump"))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}
