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
//!
//! # Renderings and public streams
//!
//! An event is a [`Frame`] about a [`Subject`] (a post, a deleted post, a notification),
//! rendered by each API that sends it once per frame, whatever the number of its
//! recipients: Roost's stream sends [`Frame::data`]; the Mastodon-compatible API's streams
//! render the same frames their own way ([`Frame::mastodon_rendering`]).
//!
//! A stream may also follow the public timeline, or public posts with some hashtags
//! ([`PublicTopics`], [`Registration::follow_public`]). For those, the dispatcher reads a
//! new or edited post as an anonymous visitor would (the public timeline's rule), renders
//! it once for every public stream of the process ([`Delivery::Public`]) and leaves out
//! the listeners across a block from its author or muting them. A deletion (or an edit
//! that makes a post non-public) is told to the public streams when this process sent the
//! post to them recently ([`REMEMBERED_PUBLIC_POSTS`]): the id of a post they were never
//! shown is not theirs to learn.

pub mod dispatch;
pub mod routes;
pub mod store;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::notifications::Notification;
use crate::posts::Post;
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
/// Posts sent on public streams that a process remembers, to tell those streams of their
/// deletion.
pub const REMEMBERED_PUBLIC_POSTS: usize = 4096;

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

/// What an event is about, as Roost's objects: each API renders it in its own shape.
#[derive(Debug)]
pub enum Subject {
    /// A post (`post`, `post.update`), as its recipients see it.
    Post(Box<Post>),
    /// The id of a deleted post (`post.delete`).
    Deleted(Uuid),
    /// A notification (`notification`), as its recipient reads it.
    Notification(Box<Notification>),
}

/// One event, for all of its recipients. Each API renders it once, when the first of its
/// streams sends it, and every recipient of the frame gets that rendering.
#[derive(Debug)]
pub struct Frame {
    /// Time-ordered.
    pub id: Uuid,
    /// `post`, `post.update`, `post.delete` or `notification`.
    pub event: &'static str,
    pub subject: Subject,
    /// Roost's rendering.
    roost: OnceLock<String>,
    /// The Mastodon-compatible API's rendering (`None`: it does not send this event).
    mastodon: OnceLock<Option<String>>,
}

impl Frame {
    pub fn new(id: Uuid, event: &'static str, subject: Subject) -> Arc<Self> {
        Arc::new(Self {
            id,
            event,
            subject,
            roost: OnceLock::new(),
            mastodon: OnceLock::new(),
        })
    }

    /// Roost's rendering of the subject: one line of JSON.
    pub fn data(&self) -> &str {
        self.roost.get_or_init(|| {
            let rendered = match &self.subject {
                Subject::Post(post) => serde_json::to_string(post),
                Subject::Deleted(id) => serde_json::to_string(&serde_json::json!({ "id": id })),
                Subject::Notification(notification) => serde_json::to_string(notification),
            };
            rendered.unwrap_or_else(|error| {
                tracing::error!(%error, "rendering a stream event failed");
                "null".to_owned()
            })
        })
    }

    /// The Mastodon-compatible API's rendering: `render` makes it for the first of its
    /// streams that sends this frame, the others reuse it. `None` when `render` said the
    /// event is not for that API.
    pub fn mastodon_rendering(
        &self,
        render: impl FnOnce(&Subject) -> Option<String>,
    ) -> Option<&str> {
        self.mastodon
            .get_or_init(|| render(&self.subject))
            .as_deref()
    }
}

/// A post event for the public streams: the post as anonymous visitors see it.
#[derive(Debug)]
pub struct PublicFrame {
    pub frame: Arc<Frame>,
    /// The post's hashtags (hashtag streams follow those).
    pub tags: Vec<String>,
}

/// What the dispatcher hands a stream.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// An event of the stream's account (its home feed, its notifications).
    Frame(Arc<Frame>),
    /// An event of the public timeline, for a stream that follows it ([`PublicTopics`]).
    Public(Arc<PublicFrame>),
    /// Signals may have been lost: replay from the last event sent.
    Resync,
}

/// The public posts a stream follows besides its account's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicTopics {
    /// Every public post.
    pub all: bool,
    /// Public posts with one of these hashtags (lower-case, without `#`).
    pub tags: Vec<String>,
}

impl PublicTopics {
    fn is_empty(&self) -> bool {
        !self.all && self.tags.is_empty()
    }

    /// Whether a public post with `tags` is followed.
    fn wants(&self, tags: &[String]) -> bool {
        self.all || self.tags.iter().any(|tag| tags.contains(tag))
    }
}

/// One open stream, as the registry knows it.
struct Entry {
    stream_id: u64,
    user: AuthUser,
    sender: mpsc::Sender<Delivery>,
    /// Its lease in the database, on PostgreSQL.
    lease: Option<Uuid>,
    /// The public posts it follows.
    public: PublicTopics,
}

impl Entry {
    /// Hands `delivery` to the stream; `false` when it is gone or too slow (its buffer is
    /// full), and must be closed.
    fn offer(&self, delivery: &Delivery) -> bool {
        match self.sender.try_send(delivery.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!("a stream's client is too slow; closing it");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// The posts this process recently sent on public streams, with their hashtags, oldest
/// first (at most [`REMEMBERED_PUBLIC_POSTS`]).
#[derive(Default)]
struct SentPublicly {
    order: VecDeque<Uuid>,
    tags: HashMap<Uuid, Vec<String>>,
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
    sent_publicly: Mutex<SentPublicly>,
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

impl Registration {
    /// Makes the stream follow `topics` (instead of what it followed).
    pub fn follow_public(&self, topics: PublicTopics) {
        let mut streams = self.hub.inner.streams.lock().expect("hub lock");
        let entry = streams.get_mut(&self.user_id).and_then(|entries| {
            entries
                .iter_mut()
                .find(|entry| entry.stream_id == self.stream_id)
        });
        if let Some(entry) = entry {
            entry.public = topics;
        }
    }
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
                sent_publicly: Mutex::new(SentPublicly::default()),
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
                public: PublicTopics::default(),
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
        entries.retain(|entry| entry.offer(delivery));
        if entries.is_empty() {
            streams.remove(&user_id);
        }
    }

    /// Whether a stream here follows public posts.
    pub fn follows_public(&self) -> bool {
        let streams = self.inner.streams.lock().expect("hub lock");
        streams
            .values()
            .flatten()
            .any(|entry| !entry.public.is_empty())
    }

    /// The accounts with a stream here that follows a public post with `tags`.
    pub fn public_listeners(&self, tags: &[String]) -> Vec<Uuid> {
        let streams = self.inner.streams.lock().expect("hub lock");
        streams
            .iter()
            .filter(|(_, entries)| entries.iter().any(|entry| entry.public.wants(tags)))
            .map(|(user_id, _)| *user_id)
            .collect()
    }

    /// Hands `frame` to every stream here that follows its post, of an account that
    /// `reached` accepts; a stream whose buffer is full is closed instead.
    pub fn deliver_public(&self, frame: &Arc<PublicFrame>, reached: impl Fn(Uuid) -> bool) {
        let delivery = Delivery::Public(frame.clone());
        let mut streams = self.inner.streams.lock().expect("hub lock");
        streams.retain(|user_id, entries| {
            if reached(*user_id) {
                entries.retain(|entry| !entry.public.wants(&frame.tags) || entry.offer(&delivery));
            }
            !entries.is_empty()
        });
    }

    /// Records that the post `id` (with `tags`) was sent on public streams here.
    pub fn sent_publicly(&self, id: Uuid, tags: Vec<String>) {
        let mut sent = self.inner.sent_publicly.lock().expect("hub lock");
        if sent.tags.insert(id, tags).is_none() {
            sent.order.push_back(id);
        }
        while sent.order.len() > REMEMBERED_PUBLIC_POSTS {
            if let Some(oldest) = sent.order.pop_front() {
                sent.tags.remove(&oldest);
            }
        }
    }

    /// Forgets the post `id`: its hashtags if it was recently sent on public streams here
    /// (they are to be told it is gone).
    pub fn forget_public(&self, id: Uuid) -> Option<Vec<String>> {
        let mut sent = self.inner.sent_publicly.lock().expect("hub lock");
        let tags = sent.tags.remove(&id)?;
        sent.order.retain(|remembered| *remembered != id);
        Some(tags)
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
