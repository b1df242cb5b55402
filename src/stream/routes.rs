//! `GET /stream` (Server-Sent Events) and `POST /stream/tickets` (for browsers'
//! `EventSource`, which cannot send an `Authorization` header).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{Delivery, Frame, Refusal, Registration, Subject, store};
use crate::auth::{AuthUser, MaybeAuthUser, Viewer, invalid_token, token as tokens};
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::{AppQuery, Created};
use crate::notifications::{self, store::ListFilter};
use crate::posts::{self, service as post_service};
use crate::state::AppState;

/// How often a comment line keeps an idle stream open through proxies.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// How long a ticket may wait to be used.
const TICKET_TTL: Duration = Duration::from_secs(60);
/// How far back a replay goes.
pub(crate) const REPLAY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// Events of each kind read per replay statement.
const REPLAY_PAGE: u64 = 100;
/// Event ids remembered per stream, so that none is sent twice.
const REMEMBERED_IDS: usize = 128;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_stream))
        .routes(routes!(create_ticket))
}

/// How a stream is opened.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// A ticket from `POST /stream/tickets`, for clients that cannot send headers
    /// (a browser's `EventSource`). Single use.
    #[param(example = "kq0dS1J2xVYv7mJ8zQ3hXl4c9bTtR6wNfYpGa5eUo2M")]
    pub ticket: Option<String>,
    /// The same as the `Last-Event-ID` header, for a client that opens a new stream with a
    /// new ticket and cannot set that header.
    #[param(example = "019acc10-3c1e-7a40-8d2b-6f5e4c3b2a19")]
    pub last_event_id: Option<String>,
}

/// Follow your events
///
/// Server-Sent Events (`text/event-stream`), one per change that concerns you, each with a
/// time-ordered `id:`, an `event:` name and one line of JSON `data:`:
///
/// - `post` (a Post): a post appears in your home feed (yours, or one of an account you
///   follow and may see, not muted), including a scheduled post when it is published;
/// - `post.update` (a Post): such a post was edited;
/// - `post.delete` (`{"id"}`): such a post was deleted;
/// - `notification` (a Notification): you got a notification.
///
/// A comment line `: ping` comes at least every 30 seconds. Reconnecting with
/// `Last-Event-ID` first replays the `post` and `notification` events after that id from
/// the last 24 hours, in order and without duplicates. Events reach every open stream
/// within a second, whichever server process handled the action.
///
/// Authenticate with the `Authorization` header, or from a browser with `?ticket=` (see
/// `POST /stream/tickets`). An account holds at most 8 open streams, whichever server
/// processes they are open on (429 beyond). A
/// stream ends within 5 seconds of its token being revoked, and when the server shuts
/// down; a client that cannot keep up is disconnected and should reconnect with
/// `Last-Event-ID`.
#[utoipa::path(
    get,
    path = "/stream",
    tag = "Stream",
    operation_id = "open_stream",
    security(("bearer" = []), ()),
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: replay what came after it.")),
    responses(
        (status = 200, description = "The stream.", content_type = "text/event-stream", body = String,
            example = json!(examples::stream_events())),
        (status = 400, description = "`Last-Event-ID` is not an event id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_last_event_id())),
        (status = 401, description = "No token or ticket, or one that is unknown, expired, revoked or used.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::unauthorized())),
        (status = 429, description = "The account already has 8 streams open.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::too_many_streams())),
    )
)]
pub async fn open_stream(
    State(state): State<AppState>,
    MaybeAuthUser(user): MaybeAuthUser,
    headers: HeaderMap,
    AppQuery(query): AppQuery<StreamQuery>,
) -> Result<Response, AppError> {
    let last_event_id = match headers.get("last-event-id") {
        Some(value) => Some(value.to_str().unwrap_or("")),
        None => query.last_event_id.as_deref(),
    }
    .map(|id| {
        Uuid::parse_str(id.trim()).map_err(|_| {
            AppError::bad_request(
                "invalid_last_event_id",
                "`Last-Event-ID` must be the id of an event this stream sent.",
            )
        })
    })
    .transpose()?;
    let user = match (user, query.ticket) {
        (Some(user), _) => user,
        (None, Some(ticket)) => redeem(&state, &ticket).await?,
        (None, None) => return Err(crate::auth::extract::MISSING),
    };
    let registration =
        state
            .stream
            .register(&state.db, user)
            .await
            .map_err(|refusal| match refusal {
                Refusal::TooMany => AppError::TooManyRequests {
                    code: "too_many_streams",
                    detail: format!(
                        "An account may hold at most {} open streams; close one first.",
                        super::MAX_STREAMS_PER_ACCOUNT
                    ),
                    retry_after_secs: 5,
                },
                Refusal::Closing => AppError::ServiceUnavailable {
                    code: "shutting_down",
                    detail: "The server is shutting down; reconnect shortly.".into(),
                },
                Refusal::Database(error) => error.into(),
            })?;
    let now = state.clock.now();
    let open = Open {
        replay_from: last_event_id,
        not_before: now - chrono::Duration::from_std(REPLAY_WINDOW).expect("a day"),
        state,
        user,
        registration,
        pending: VecDeque::new(),
        last_id: None,
        opened: crate::db::new_id(),
        recent: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(open, Open::next);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT_EVERY).text("ping"))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Uses up `ticket`: the token it was issued for, or 401.
async fn redeem(state: &AppState, ticket: &str) -> Result<AuthUser, AppError> {
    let token = store::redeem_ticket(&state.db, &tokens::digest(ticket), state.clock.now())
        .await?
        .ok_or_else(invalid_token)?;
    Ok(AuthUser {
        user_id: token.user_id,
        token_id: token.id,
    })
}

/// An open stream between events.
struct Open {
    state: AppState,
    user: AuthUser,
    registration: Registration,
    /// Events ready to be sent, in order.
    pending: VecDeque<Arc<Frame>>,
    /// Replay what came after this id before anything else.
    replay_from: Option<Uuid>,
    /// What a replay goes back to at most: 24 hours before the stream opened.
    not_before: DateTime<Utc>,
    /// The id of the last event sent.
    last_id: Option<Uuid>,
    /// An id issued when the stream opened (a replay without an event sent starts there).
    opened: Uuid,
    /// The ids of the last events sent (a live event may also have been replayed).
    recent: VecDeque<Uuid>,
}

impl Open {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                if self.recent.contains(&frame.id) {
                    continue;
                }
                if self.recent.len() == REMEMBERED_IDS {
                    self.recent.pop_front();
                }
                self.recent.push_back(frame.id);
                self.last_id = Some(self.last_id.map_or(frame.id, |last| last.max(frame.id)));
                let event = Event::default()
                    .id(frame.id.to_string())
                    .event(frame.event)
                    .data(frame.data());
                return Some((Ok(event), self));
            }
            if let Some(since) = self.replay_from.take() {
                // Boxed: its statements' futures are large, and inline they would make every
                // idle stream's state as large as a replay's (3.4 KB instead of 0.9 KB).
                let replay = Box::pin(replay_page(&self.state, self.user, since, self.not_before));
                match replay.await {
                    Ok((frames, next)) => {
                        self.pending.extend(frames);
                        self.replay_from = next;
                    }
                    Err(error) => {
                        // Ending the stream makes the client reconnect and replay again.
                        tracing::warn!(%error, "replaying a stream failed; closing it");
                        return None;
                    }
                }
                continue;
            }
            if *self.registration.closing.borrow() {
                return None;
            }
            tokio::select! {
                delivery = self.registration.receiver.recv() => match delivery {
                    Some(Delivery::Frame(frame)) => self.pending.push_back(frame),
                    // This stream follows no public posts.
                    Some(Delivery::Public(_)) => {}
                    Some(Delivery::Resync) => {
                        self.replay_from = Some(self.last_id.unwrap_or(self.opened));
                    }
                    None => return None,
                },
                _ = self.registration.closing.changed() => return None,
            }
        }
    }
}

/// The replayable events (`post`, `notification`) after `since`, oldest first, up to a
/// page of each kind; and where to go on from, when there may be more.
pub(crate) async fn replay_page(
    state: &AppState,
    user: AuthUser,
    since: Uuid,
    not_before: DateTime<Utc>,
) -> Result<(Vec<Arc<Frame>>, Option<Uuid>), AppError> {
    let viewer = Viewer::Verified(user);
    let rows = posts::store::feed_since(&state.db, &viewer, since, not_before, REPLAY_PAGE).await?;
    let full_posts = rows.len() as u64 == REPLAY_PAGE;
    let posts = post_service::posts_from_rows(state, rows).await?;
    let filter = ListFilter {
        since: Some(since),
        not_before: Some(not_before),
        ..ListFilter::default()
    };
    let notifications = notifications::service::read(state, user, &filter, REPLAY_PAGE).await?;
    let full_notifications = notifications.len() as u64 == REPLAY_PAGE;
    let mut frames = Vec::with_capacity(posts.len() + notifications.len());
    for post in posts {
        let id = Uuid::parse_str(&post.id).unwrap_or_default();
        frames.push(Frame::new(id, "post", Subject::Post(Box::new(post))));
    }
    for notification in notifications {
        let id = Uuid::parse_str(&notification.id).unwrap_or_default();
        let subject = Subject::Notification(Box::new(notification));
        frames.push(Frame::new(id, "notification", subject));
    }
    frames.sort_by_key(|frame| frame.id);
    // Of a full page, only what precedes its last item is known to be complete.
    let last_of = |event: &str| {
        frames
            .iter()
            .rev()
            .find(|frame| frame.event == event)
            .map(|frame| frame.id)
    };
    let bound = [
        full_posts.then(|| last_of("post")).flatten(),
        full_notifications
            .then(|| last_of("notification"))
            .flatten(),
    ]
    .into_iter()
    .flatten()
    .min();
    if let Some(bound) = bound {
        frames.retain(|frame| frame.id <= bound);
    }
    Ok((frames, bound))
}

/// A single-use ticket for `GET /stream?ticket=`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!(examples::stream_ticket()))]
pub struct Ticket {
    /// Pass as `?ticket=` to `GET /api/v1/stream` within 60 seconds; it works once.
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// Get a stream ticket
///
/// A browser's `EventSource` cannot send an `Authorization` header: get a ticket with the
/// token, then open `GET /api/v1/stream?ticket=…`. The ticket is valid for 60 seconds and
/// once; the stream belongs to the token that created it (revoking the token closes it).
/// To reconnect, get a new ticket and pass the last event's id as `?last_event_id=`.
#[utoipa::path(
    post,
    path = "/stream/tickets",
    tag = "Stream",
    operation_id = "create_stream_ticket",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A ticket.", body = Ticket,
            headers(("Location" = String, description = "Where to use it: the stream.")),
            example = json!(examples::stream_ticket())),
    )
)]
pub async fn create_ticket(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Created<Ticket>, AppError> {
    let minted = tokens::generate()?;
    let now = state.clock.now();
    let expires_at = now + chrono::Duration::from_std(TICKET_TTL).expect("a minute");
    store::insert_ticket(&state.db, minted.digest, user.token_id, now, expires_at).await?;
    Ok(Created::at(
        &state.config.public_url,
        "/api/v1/stream",
        Ticket {
            ticket: minted.token,
            expires_at,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of what `step` returns, without calling it.
    fn future_size<F, Fut>(_step: F) -> usize
    where
        F: Fn(Open) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn an_idle_stream_holds_a_small_state() {
        // What each of thousands of idle streams keeps between events: the future waiting
        // for the next one. Replays are boxed so that they do not inflate it.
        let size = future_size(Open::next);
        assert!(size < 2048, "an idle stream's state is {size} bytes");
    }
}
