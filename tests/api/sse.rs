//! A Server-Sent Events client for the tests.
//!
//! [`SseStream`] opens `GET /api/v1/stream` (with a bearer token, a ticket, a
//! `Last-Event-ID`), reads the body chunk by chunk as it comes and parses it by the SSE
//! rules (`id:`, `event:`, `data:` fields, comment lines starting with `:`, a blank line
//! ending an event). Waiting is always bounded: [`SseStream::next_event`] gives up after
//! its timeout, [`SseStream::wait_closed`] after its own.
//!
//! While parsing it checks what the contract says of every event, whatever the scenario: it
//! has an `id`, one of the four event names, exactly one line of `data` that is JSON, and
//! its id comes after the previous event's (and after the `Last-Event-ID` it was opened
//! with): ids are time-ordered, and nothing is sent twice.

use std::collections::VecDeque;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use crate::helpers::TestApp;

pub const STREAM: &str = "/api/v1/stream";
pub const TICKETS: &str = "/api/v1/stream/tickets";

/// The contract's delivery bound: an event reaches every open stream within a second.
pub const DELIVERY: Duration = Duration::from_secs(1);

/// How long scenarios that are about what an event says (not how fast it comes) wait for
/// it: generous, so that a loaded machine does not fail them.
pub const EVENT_WAIT: Duration = Duration::from_secs(5);

/// The event names the stream may send.
pub const EVENT_NAMES: [&str; 4] = ["post", "post.update", "post.delete", "notification"];

/// One event of the stream.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: String,
    pub event: String,
    pub data: Value,
}

/// An event being read: the fields seen since the last blank line.
#[derive(Default)]
struct Partial {
    id: Option<String>,
    event: Option<String>,
    data: Vec<String>,
    /// Lines of other fields (`retry:` or unknown), kept for the messages.
    other: Vec<String>,
}

/// An open stream and what has been read from it.
pub struct SseStream {
    response: Response,
    /// Status and headers of the answer.
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// Bytes received and not yet parsed (an incomplete line).
    buffer: Vec<u8>,
    partial: Partial,
    events: VecDeque<SseEvent>,
    /// Comment lines received so far, without their leading `:`, oldest first.
    pub comments: Vec<String>,
    /// When each comment line came.
    pub comment_times: Vec<Instant>,
    /// Every event received, in order (also those still queued).
    pub received: Vec<SseEvent>,
    /// The id of the last event parsed, or the `Last-Event-ID` the stream was opened with.
    last_id: Option<String>,
    closed: bool,
    /// Why the body ended with an error, if it did.
    pub error: Option<String>,
}

/// `GET /api/v1/stream` on `address` with an optional bearer token.
pub fn stream_request(client: &Client, address: &str, token: Option<&str>) -> RequestBuilder {
    let request = client.get(format!("{address}{STREAM}"));
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

impl SseStream {
    /// Opens the stream of `token` on `app`, replaying after `last_event_id` when given
    /// (as the `Last-Event-ID` header); it must answer 200.
    pub async fn open(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Self {
        Self::open_at(&app.client, &app.address, token, last_event_id).await
    }

    /// As [`SseStream::open`], on the server at `address` (`http://host:port`).
    pub async fn open_at(
        client: &Client,
        address: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        let mut request = stream_request(client, address, Some(token));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        Self::start(request, last_event_id).await
    }

    /// Opens a stream with a ticket (`?ticket=`, and `?last_event_id=` when given), as a
    /// browser's `EventSource` does; it must answer 200.
    pub async fn open_with_ticket(
        app: &TestApp,
        ticket: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        let mut query = vec![("ticket", ticket)];
        if let Some(id) = last_event_id {
            query.push(("last_event_id", id));
        }
        let request = app.client.get(app.url(STREAM)).query(&query);
        Self::start(request, last_event_id).await
    }

    /// Sends `request`, which must answer 200 `text/event-stream`; `after` is the
    /// `Last-Event-ID` it carries (every event must come after it).
    pub async fn start(request: RequestBuilder, after: Option<&str>) -> Self {
        match Self::try_start(request, after).await {
            Ok(stream) => stream,
            Err(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                panic!("opening the stream: {status} {body}");
            }
        }
    }

    /// Sends `request`: the stream when it answers 200, the response otherwise.
    pub async fn try_start(request: RequestBuilder, after: Option<&str>) -> Result<Self, Response> {
        let response = request.send().await.expect("stream request sent");
        if response.status() != StatusCode::OK {
            return Err(response);
        }
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/event-stream"),
            "a stream is text/event-stream: {content_type:?}"
        );
        Ok(Self {
            status: response.status(),
            headers,
            response,
            buffer: Vec::new(),
            partial: Partial::default(),
            events: VecDeque::new(),
            comments: Vec::new(),
            comment_times: Vec::new(),
            received: Vec::new(),
            last_id: after.map(str::to_owned),
            closed: false,
            error: None,
        })
    }

    /// The next event, if one comes within `within` (`None` also when the stream ended).
    pub async fn next_event(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.closed || !self.read_until(deadline).await {
                return None;
            }
        }
    }

    /// The next event, which must come within [`EVENT_WAIT`] and be named `name`.
    pub async fn expect(&mut self, name: &str, what: &str) -> SseEvent {
        self.expect_within(name, EVENT_WAIT, what).await
    }

    /// The next event, which must come within `within` and be named `name`.
    pub async fn expect_within(&mut self, name: &str, within: Duration, what: &str) -> SseEvent {
        let event = self.next_event(within).await.unwrap_or_else(|| {
            panic!(
                "{what}: no event within {within:?} (closed: {}, error: {:?}; received so far: {:?})",
                self.closed, self.error, self.received
            )
        });
        assert_eq!(event.event, name, "{what}: {event:?}");
        event
    }

    /// The next event, a `post` (or `post.update`, by `name`) whose content is `content`.
    pub async fn expect_post(&mut self, name: &str, content: &str, what: &str) -> SseEvent {
        let event = self.expect(name, what).await;
        assert_eq!(event.data["content"], content, "{what}: {event:?}");
        event
    }

    /// Fails if an event comes within `within`: for "nothing more arrives". Prefer waiting
    /// for a later control event, which proves more and takes less time.
    pub async fn expect_no_event(&mut self, within: Duration, what: &str) {
        if let Some(event) = self.next_event(within).await {
            panic!("{what}: no event was expected, got {event:?}");
        }
    }

    /// Whether the server ends the stream within `within`; events that come meanwhile are
    /// kept for [`SseStream::next_event`].
    pub async fn wait_closed(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.closed {
            if !self.read_until(deadline).await {
                return false;
            }
        }
        true
    }

    /// Whether the stream has ended (as far as what was read tells).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The next comment line (without its leading `:`), if one comes within `within`.
    pub async fn next_comment(&mut self, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        let seen = self.comments.len();
        while self.comments.len() == seen {
            if self.closed || !self.read_until(deadline).await {
                return None;
            }
        }
        Some(self.comments[seen].clone())
    }

    /// Reads one chunk, unless `deadline` passes first (`false`). A body that ends, or
    /// fails, closes the stream.
    async fn read_until(&mut self, deadline: Instant) -> bool {
        match tokio::time::timeout_at(deadline, self.response.chunk()).await {
            Err(_) => false,
            Ok(Ok(Some(bytes))) => {
                self.buffer.extend_from_slice(&bytes);
                self.parse();
                true
            }
            Ok(Ok(None)) => {
                self.closed = true;
                true
            }
            Ok(Err(error)) => {
                self.error = Some(error.to_string());
                self.closed = true;
                true
            }
        }
    }

    /// Parses the complete lines in the buffer.
    fn parse(&mut self) {
        while let Some(end) = self.buffer.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8(line).expect("the stream is UTF-8");
            let line = line.trim_end_matches('\n').trim_end_matches('\r');
            self.line(line);
        }
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            let partial = std::mem::take(&mut self.partial);
            // A block of other fields only (such as `retry:`) is no event.
            if partial.id.is_some() || partial.event.is_some() || !partial.data.is_empty() {
                self.dispatch(partial);
            }
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            self.comments.push(comment.to_owned());
            self.comment_times.push(Instant::now());
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "id" => {
                assert!(self.partial.id.is_none(), "one id per event: {line}");
                self.partial.id = Some(value.to_owned());
            }
            "event" => {
                assert!(self.partial.event.is_none(), "one name per event: {line}");
                self.partial.event = Some(value.to_owned());
            }
            "data" => self.partial.data.push(value.to_owned()),
            _ => self.partial.other.push(line.to_owned()),
        }
    }

    /// Checks a complete event against the contract and queues it.
    fn dispatch(&mut self, partial: Partial) {
        let Partial {
            id,
            event,
            data,
            other,
        } = partial;
        let described = format!("id {id:?} event {event:?} data {data:?} other {other:?}");
        let id = id.unwrap_or_else(|| panic!("every event has an id: {described}"));
        let event = event.unwrap_or_else(|| panic!("every event has a name: {described}"));
        assert!(
            EVENT_NAMES.contains(&event.as_str()),
            "only the four events are sent: {described}"
        );
        assert_eq!(data.len(), 1, "one line of data: {described}");
        let data: Value = serde_json::from_str(&data[0])
            .unwrap_or_else(|error| panic!("data is JSON ({error}): {described}"));
        uuid::Uuid::parse_str(&id)
            .unwrap_or_else(|error| panic!("the id is a UUID ({error}): {described}"));
        if let Some(last) = &self.last_id {
            assert!(
                id.as_str() > last.as_str(),
                "event ids are time-ordered and none comes twice: {id} after {last} ({described}); \
                 received before: {:?}",
                self.received
            );
        }
        self.last_id = Some(id.clone());
        let event = SseEvent { id, event, data };
        self.received.push(event.clone());
        self.events.push_back(event);
    }
}
