//! The real-time stream: Server-Sent Events for each account's open streams, fed by what
//! every server process does.
//!
//! # How an event travels
//!
//! 1. An action records a [`Signal`] ([`emit`]): a post was created, edited or deleted, a
//!    notification was written. Signals are collected per request (a task-local outbox,
//!    [`publish_signals`]) and published when the request is done, so after its
//!    transaction committed. A signal is only a hint that names a row: a request whose
//!    transaction rolled back publishes a signal that finds nothing.
//! 2. Publishing ([`Hub::publish`]) on PostgreSQL is `pg_notify` on one channel, which
//!    every `roost` process sharing the database `LISTEN`s to; on SQLite (one process) it
//!    is an in-process channel.
//! 3. Each process's dispatcher ([`dispatch`]) receives every signal, in commit order, and
//!    delivers it to the streams open on that process: it reads the row, decides the
//!    recipients by the visibility rule of [`crate::privacy`], renders the event once and
//!    hands it to each recipient's streams.
//!
//! # Bursts, lost connections and slow clients
//!
//! - A burst is queued by PostgreSQL (the notification queue) and by the dispatcher's
//!   channel; the dispatcher handles one signal at a time, at a few statements each.
//! - When the dispatcher's `LISTEN` connection is lost, signals sent meanwhile are lost
//!   with it; once it reconnects, every open stream of the process replays from its last
//!   event, from the database, exactly as a client reconnecting with `Last-Event-ID`.
//! - Each stream has a bounded buffer ([`STREAM_BUFFER`] events). A client that does not
//!   read fast enough to keep it from filling is disconnected; it reconnects with
//!   `Last-Event-ID` and misses nothing replayable.
//! - Streams of a revoked or expired token are closed by a sweep every
//!   [`TOKEN_SWEEP_EVERY`].
//! - An account holds at most [`MAX_STREAMS_PER_ACCOUNT`] streams across processes: on
//!   PostgreSQL each holds a lease row, renewed every [`LEASE_RENEW_EVERY`] and expiring
//!   after [`LEASE_TTL`] (a process that dies stops counting then).

pub mod dispatch;
pub mod routes;
pub mod store;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::state::AppState;

/// Open streams an account may hold, across every process sharing the database.
pub const MAX_STREAMS_PER_ACCOUNT: usize = 8;
/// How long a stream's lease lasts unless renewed (a process that died without releasing
/// its leases stops counting against its accounts after this).
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often a process renews the leases of its open streams.
pub const LEASE_RENEW_EVERY: Duration = Duration::from_secs(10);
/// Events waiting to be written to one client before it counts as too slow.
pub const STREAM_BUFFER: usize = 64;
/// How often the streams' tokens are checked (a revoked one closes its streams).
pub const TOKEN_SWEEP_EVERY: Duration = Duration::from_secs(2);
/// The PostgreSQL channel of signals.
pub const CHANNEL: &str = "roost_stream";

/// What happened, as far as the stream is concerned: which row to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Signal {
    /// A post appeared (created, or a scheduled post published); its id is the event's.
    Post { id: Uuid, author: Uuid },
    /// A post was edited; `event` is the event's id.
    PostUpdate { event: Uuid, id: Uuid, author: Uuid },
    /// A post was deleted; `event` is the event's id.
    PostDelete { event: Uuid, id: Uuid, author: Uuid },
    /// A notification was written; its id is the event's.
    Notification { id: Uuid, recipient: Uuid },
    /// Posts went with their author's account: `(event, post)` pairs, and who received
    /// them (read before the account and its follows were deleted).
    PostsGone {
        posts: Vec<(Uuid, Uuid)>,
        recipients: Vec<Uuid>,
    },
}

impl Signal {
    /// The id of the event it makes.
    pub fn event_id(&self) -> Uuid {
        match self {
            Signal::Post { id, .. } | Signal::Notification { id, .. } => *id,
            Signal::PostUpdate { event, .. } | Signal::PostDelete { event, .. } => *event,
            Signal::PostsGone { posts, .. } => posts.first().map_or(Uuid::nil(), |post| post.0),
        }
    }

    /// The signals telling `recipients` that `posts` are gone, in pieces small enough for
    /// one PostgreSQL notification each.
    pub fn posts_gone(posts: &[Uuid], recipients: &[Uuid]) -> Vec<Signal> {
        let mut signals = Vec::new();
        for posts in posts.chunks(30) {
            let posts: Vec<(Uuid, Uuid)> = posts
                .iter()
                .map(|post| (crate::db::new_id(), *post))
                .collect();
            for recipients in recipients.chunks(100) {
                signals.push(Signal::PostsGone {
                    posts: posts.clone(),
                    recipients: recipients.to_vec(),
                });
            }
        }
        signals
    }
}

tokio::task_local! {
    static OUTBOX: RefCell<Vec<Signal>>;
}

/// Records `signal`, to be published when the current request (or [`collect`] scope) is
/// done. Outside of one it is published at once, with a warning in debug builds.
pub fn emit(signal: Signal) {
    let recorded = OUTBOX.try_with(|outbox| outbox.borrow_mut().push(signal));
    if recorded.is_err() {
        debug_assert!(false, "a signal was emitted outside of an outbox scope");
        tracing::warn!("a signal was emitted outside of an outbox scope");
    }
}

/// Runs `work` collecting the signals it emits, then publishes them (for work outside of a
/// request, such as the scheduled-post publisher).
pub async fn collect<T>(state: &AppState, work: impl Future<Output = T>) -> T {
    let (value, signals) = OUTBOX
        .scope(RefCell::new(Vec::new()), async {
            let value = work.await;
            let mut signals = OUTBOX.with(|outbox| std::mem::take(&mut *outbox.borrow_mut()));
            // In the order of their events' ids (a post before the mentions it makes).
            signals.sort_by_key(Signal::event_id);
            (value, signals)
        })
        .await;
    state.stream.publish(&state.db, signals).await;
    value
}

/// Middleware: collects the signals a request emits and publishes them once it is
/// answered (its transactions are over by then). Reads (`GET`, `HEAD`) change nothing and
/// pass straight through.
pub async fn publish_signals(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    collect(&state, next.run(request)).await
}

/// One event, rendered for its recipients.
#[derive(Debug)]
pub struct Frame {
    /// Time-ordered.
    pub id: Uuid,
    /// `post`, `post.update`, `post.delete` or `notification`.
    pub event: &'static str,
    /// One line of JSON.
    pub data: String,
}

/// What the dispatcher hands a stream.
#[derive(Debug, Clone)]
pub enum Delivery {
    Frame(Arc<Frame>),
    /// Signals may have been lost: replay from the last event sent.
    Resync,
}

/// One open stream, as the registry knows it.
struct Entry {
    stream_id: u64,
    user: AuthUser,
    sender: mpsc::Sender<Delivery>,
    /// Its lease in the database, on PostgreSQL.
    lease: Option<Uuid>,
}

/// This process's streams and the way signals reach them. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// The in-process channel of signals on SQLite: its sending end, and its receiving end
/// until the dispatcher takes it.
type LocalSignals = (
    mpsc::UnboundedSender<Signal>,
    Mutex<Option<mpsc::UnboundedReceiver<Signal>>>,
);

struct Inner {
    streams: Mutex<HashMap<Uuid, Vec<Entry>>>,
    next_stream_id: AtomicU64,
    /// On SQLite, the in-process channel of signals (taken by the dispatcher).
    local: Option<LocalSignals>,
    /// Raised at shutdown: every stream ends.
    closing: watch::Sender<bool>,
    /// Whether processes share the database: the limit of streams per account is then
    /// kept there, by leases.
    shared: bool,
    /// The leases of streams that ended, not yet released in the database: the next
    /// lease taken here, or the next sweep, releases them.
    ended_leases: Mutex<Vec<Uuid>>,
}

/// A stream's place in the registry (and its lease): dropping it leaves and releases it.
pub struct Registration {
    hub: Hub,
    user_id: Uuid,
    stream_id: u64,
    /// Its lease.
    lease: Option<Uuid>,
    pub receiver: mpsc::Receiver<Delivery>,
    pub closing: watch::Receiver<bool>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub
            .remove(self.user_id, |entry| entry.stream_id == self.stream_id);
        if let Some(lease) = self.lease.take() {
            self.hub.lease_ended(lease);
        }
    }
}

/// Why a stream could not be opened.
#[derive(Debug)]
pub enum Refusal {
    /// The account has [`MAX_STREAMS_PER_ACCOUNT`] open already.
    TooMany,
    /// The server is shutting down.
    Closing,
    /// The database could not take the lease.
    Database(sea_orm::DbErr),
}

impl Hub {
    /// A hub for a database on PostgreSQL (`shared`: signals go through the database) or
    /// SQLite (an in-process channel).
    pub fn new(shared: bool) -> Self {
        let local = (!shared).then(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            (sender, Mutex::new(Some(receiver)))
        });
        Self {
            inner: Arc::new(Inner {
                streams: Mutex::new(HashMap::new()),
                next_stream_id: AtomicU64::new(1),
                local,
                closing: watch::Sender::new(false),
                shared,
                ended_leases: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Publishes `signals` to every process's dispatcher. Failures are logged: the
    /// action is done, and its events can still be replayed.
    pub async fn publish(&self, db: &sea_orm::DatabaseConnection, signals: Vec<Signal>) {
        if signals.is_empty() {
            return;
        }
        if let Some((sender, _)) = &self.inner.local {
            for signal in signals {
                sender.send(signal).ok();
            }
            return;
        }
        if let Err(error) = store::notify(db, &signals).await {
            tracing::error!(%error, "publishing stream signals failed");
        }
    }

    /// The in-process channel of signals, on SQLite; taken once, by the dispatcher.
    pub(crate) fn take_local_signals(&self) -> Option<mpsc::UnboundedReceiver<Signal>> {
        let (_, receiver) = self.inner.local.as_ref()?;
        receiver.lock().expect("hub lock").take()
    }

    /// Registers a stream of `user`, unless the account has too many open or the server is
    /// closing. On PostgreSQL the count is the account's across every process: each stream
    /// holds a lease in the database ([`store::take_lease`]). A refusal there is tried
    /// once more after a moment, so that a client reopening a stream it just closed does
    /// not race the release of the old one's lease.
    pub async fn register(
        &self,
        db: &sea_orm::DatabaseConnection,
        user: AuthUser,
    ) -> Result<Registration, Refusal> {
        if *self.inner.closing.borrow() {
            return Err(Refusal::Closing);
        }
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let stream_id = self.inner.next_stream_id.fetch_add(1, Ordering::Relaxed);
        let lease = self.inner.shared.then(crate::db::new_id);
        {
            let mut streams = self.inner.streams.lock().expect("hub lock");
            let entries = streams.entry(user.user_id).or_default();
            if entries.len() >= MAX_STREAMS_PER_ACCOUNT {
                return Err(Refusal::TooMany);
            }
            entries.push(Entry {
                stream_id,
                user,
                sender,
                lease,
            });
        }
        let mut registration = Registration {
            hub: self.clone(),
            user_id: user.user_id,
            stream_id,
            lease: None,
            receiver,
            closing: self.inner.closing.subscribe(),
        };
        if let Some(lease) = lease {
            // The streams that ended here stop counting before this one is counted.
            let ended = self.ended_leases();
            let mut taken = store::take_lease(db, user.user_id, lease, &ended).await;
            if matches!(taken, Ok(false)) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let ended = self.ended_leases();
                taken = store::take_lease(db, user.user_id, lease, &ended).await;
            }
            match taken {
                Ok(true) => registration.lease = Some(lease),
                Ok(false) => return Err(Refusal::TooMany),
                Err(error) => return Err(Refusal::Database(error)),
            }
        }
        Ok(registration)
    }

    /// The leases of the streams open here.
    pub fn leases(&self) -> Vec<Uuid> {
        let streams = self.inner.streams.lock().expect("hub lock");
        streams
            .values()
            .flatten()
            .filter_map(|entry| entry.lease)
            .collect()
    }

    /// Records that the stream of `lease` ended.
    fn lease_ended(&self, lease: Uuid) {
        self.inner
            .ended_leases
            .lock()
            .expect("hub lock")
            .push(lease);
    }

    /// The leases of the streams that ended since the last call, to release.
    pub fn ended_leases(&self) -> Vec<Uuid> {
        std::mem::take(&mut *self.inner.ended_leases.lock().expect("hub lock"))
    }

    /// Removes the streams of `user_id` that `which` selects (their clients see the end of
    /// the stream).
    fn remove(&self, user_id: Uuid, which: impl Fn(&Entry) -> bool) {
        let mut streams = self.inner.streams.lock().expect("hub lock");
        if let Some(entries) = streams.get_mut(&user_id) {
            entries.retain(|entry| !which(entry));
            if entries.is_empty() {
                streams.remove(&user_id);
            }
        }
    }

    /// The accounts with a stream open here.
    pub fn accounts(&self) -> Vec<Uuid> {
        self.inner
            .streams
            .lock()
            .expect("hub lock")
            .keys()
            .copied()
            .collect()
    }

    /// Whether no stream is open here.
    pub fn is_idle(&self) -> bool {
        self.inner.streams.lock().expect("hub lock").is_empty()
    }

    /// One of `user_id`'s streams' credentials, if they have one open here.
    pub fn user_of(&self, user_id: Uuid) -> Option<AuthUser> {
        let streams = self.inner.streams.lock().expect("hub lock");
        streams.get(&user_id)?.first().map(|entry| entry.user)
    }

    /// The tokens of the streams open here.
    pub fn tokens(&self) -> Vec<Uuid> {
        let streams = self.inner.streams.lock().expect("hub lock");
        let mut tokens: Vec<Uuid> = streams
            .values()
            .flatten()
            .map(|entry| entry.user.token_id)
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        tokens
    }

    /// Closes every stream of a token among `checked` that is not `live` (it was revoked or
    /// has expired).
    pub fn close_tokens_except(&self, checked: &HashSet<Uuid>, live: &HashSet<Uuid>) {
        let mut streams = self.inner.streams.lock().expect("hub lock");
        streams.retain(|_, entries| {
            entries.retain(|entry| {
                !checked.contains(&entry.user.token_id) || live.contains(&entry.user.token_id)
            });
            !entries.is_empty()
        });
    }

    /// Hands `delivery` to every stream of `user_id` here; a stream whose buffer is full
    /// (its client is too slow) is closed instead.
    pub fn deliver(&self, user_id: Uuid, delivery: &Delivery) {
        let mut streams = self.inner.streams.lock().expect("hub lock");
        let Some(entries) = streams.get_mut(&user_id) else {
            return;
        };
        entries.retain(|entry| match entry.sender.try_send(delivery.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!("a stream's client is too slow; closing it");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if entries.is_empty() {
            streams.remove(&user_id);
        }
    }

    /// Asks every stream here to replay from its last event (signals may have been lost).
    pub fn resync_all(&self) {
        for user_id in self.accounts() {
            self.deliver(user_id, &Delivery::Resync);
        }
    }

    /// Ends every stream and refuses new ones (shutdown).
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
        let leases = self.leases();
        self.inner
            .ended_leases
            .lock()
            .expect("hub lock")
            .extend(leases);
        self.inner.streams.lock().expect("hub lock").clear();
    }

    /// How many streams are open here.
    pub fn open_streams(&self) -> usize {
        self.inner
            .streams
            .lock()
            .expect("hub lock")
            .values()
            .map(Vec::len)
            .sum()
    }
}
