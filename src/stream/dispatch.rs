//! The dispatcher: one task per process that receives every signal (from PostgreSQL's
//! `LISTEN`, or the in-process channel on SQLite), turns it into events for the streams
//! open here, and sweeps out the streams of revoked tokens.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{
    CHANNEL, Delivery, Frame, Hub, LEASE_RENEW_EVERY, PublicFrame, Signal, Subject,
    TOKEN_SWEEP_EVERY, store,
};
use crate::auth::Viewer;
use crate::notifications::{self, store::ListFilter};
use crate::posts::{self, service as post_service};
use crate::state::AppState;

/// How long to wait before connecting again after the `LISTEN` connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The running dispatcher; [`stop`](Self::stop) ends it.
pub struct Dispatcher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Dispatcher {
    pub fn spawn(state: AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(state, stopped));
        Self { stop, task }
    }

    pub async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.ok();
    }
}

async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let sweeping = tokio::spawn(sweep(state.clone()));
    match state.stream.take_local_signals() {
        Some(signals) => {
            tokio::select! {
                () = local(&state, signals) => {},
                _ = stopped.changed() => {},
            }
        }
        None => {
            tokio::select! {
                () = listen(&state) => {},
                _ = stopped.changed() => {},
            }
        }
    }
    sweeping.abort();
}

/// SQLite: signals from this process only.
async fn local(state: &AppState, mut signals: mpsc::UnboundedReceiver<Signal>) {
    while let Some(signal) = signals.recv().await {
        handle(state, signal).await;
    }
}

/// PostgreSQL: signals from every process, through `LISTEN`. While the connection is down,
/// signals are lost; once it is back, every stream here replays from its last event.
async fn listen(state: &AppState) {
    let mut listener: Option<PgListener> = None;
    loop {
        let active = match listener.as_mut() {
            Some(active) => active,
            None => match connect(&state.config.database_url).await {
                Ok(connected) => {
                    // Whatever was sent while nobody listened is in the database.
                    state.stream.resync_all();
                    listener.insert(connected)
                }
                Err(error) => {
                    tracing::warn!(%error, "listening for stream signals failed; retrying");
                    tokio::time::sleep(RECONNECT_AFTER).await;
                    continue;
                }
            },
        };
        match active.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<Vec<Signal>>(notification.payload()) {
                    Ok(signals) => {
                        for signal in signals {
                            handle(state, signal).await;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "an unreadable stream signal"),
                }
            }
            Ok(None) => {
                tracing::warn!("the stream signals' connection was lost; reconnecting");
                listener = None;
            }
            Err(error) => {
                tracing::warn!(%error, "receiving stream signals failed; reconnecting");
                listener = None;
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        }
    }
}

/// A listener on a connection of its own, outside the pool that requests use (it holds its
/// connection for as long as it listens).
async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Delivers the events of one signal to the streams open here.
async fn handle(state: &AppState, signal: Signal) {
    if state.stream.is_idle() {
        return;
    }
    let event = signal.event_id();
    if let Err(error) = deliver(state, signal).await {
        tracing::warn!(%error, %event, "delivering a stream event failed");
    }
}

async fn deliver(state: &AppState, signal: Signal) -> anyhow::Result<()> {
    let hub = &state.stream;
    match signal {
        Signal::Post { id, author } => {
            deliver_post(state, id, author, id, "post").await?;
            deliver_public(state, id, author, id, "post").await
        }
        Signal::PostUpdate { event, id, author } => {
            deliver_post(state, id, author, event, "post.update").await?;
            deliver_public(state, id, author, event, "post.update").await
        }
        Signal::PostDelete { event, id, author } => {
            let recipients = here(hub, store::feed_recipients(&state.db, author).await?);
            let frame = Delivery::Frame(Frame::new(event, "post.delete", Subject::Deleted(id)));
            for recipient in recipients {
                hub.deliver(recipient, &frame);
            }
            deliver_public_deletion(hub, event, id);
            Ok(())
        }
        Signal::PostsGone { posts, recipients } => {
            for recipient in here(hub, recipients) {
                for &(event, id) in &posts {
                    let frame =
                        Delivery::Frame(Frame::new(event, "post.delete", Subject::Deleted(id)));
                    hub.deliver(recipient, &frame);
                }
            }
            for &(event, id) in &posts {
                deliver_public_deletion(hub, event, id);
            }
            Ok(())
        }
        Signal::Notification { id, recipient } => {
            let Some(user) = hub.user_of(recipient) else {
                return Ok(());
            };
            let filter = ListFilter {
                only: Some(id),
                ..ListFilter::default()
            };
            let found = notifications::service::read(state, user, &filter, 1).await?;
            if let Some(notification) = found.into_iter().next() {
                let subject = Subject::Notification(Box::new(notification));
                hub.deliver(
                    recipient,
                    &Delivery::Frame(Frame::new(id, "notification", subject)),
                );
            }
            Ok(())
        }
    }
}

/// The recipients with a stream open here.
fn here(hub: &Hub, recipients: Vec<Uuid>) -> Vec<Uuid> {
    let open: HashSet<Uuid> = hub.accounts().into_iter().collect();
    recipients
        .into_iter()
        .filter(|recipient| open.contains(recipient))
        .collect()
}

/// A `post` or `post.update` event: rendered once, with `liked` set per recipient.
async fn deliver_post(
    state: &AppState,
    id: Uuid,
    author: Uuid,
    event: Uuid,
    name: &'static str,
) -> anyhow::Result<()> {
    let hub = &state.stream;
    let recipients = here(hub, store::post_recipients(&state.db, id, author).await?);
    if recipients.is_empty() {
        return Ok(());
    }
    let Some(row) = posts::store::find_unchecked(&state.db, id).await? else {
        return Ok(());
    };
    let mut post = post_service::posts_from_rows(state, vec![row])
        .await?
        .remove(0);
    let likers = store::likers_among(&state.db, id, &recipients).await?;
    let mut rendered = [None, None];
    for recipient in recipients {
        let liked = likers.contains(&recipient);
        let frame = match &mut rendered[usize::from(liked)] {
            Some(frame) => Delivery::clone(frame),
            slot => {
                post.liked = Some(liked);
                let subject = Subject::Post(Box::new(post.clone()));
                slot.insert(Delivery::Frame(Frame::new(event, name, subject)))
                    .clone()
            }
        };
        hub.deliver(recipient, &frame);
    }
    Ok(())
}

/// A `post` or `post.update` event for the public streams here, when the post is public
/// by the public timeline's rule (what an anonymous visitor may see): rendered once, and
/// left out for the listeners across a block from its author or muting them. An edit
/// that made a post non-public is told as its deletion to the streams that were sent it.
async fn deliver_public(
    state: &AppState,
    id: Uuid,
    author: Uuid,
    event: Uuid,
    name: &'static str,
) -> anyhow::Result<()> {
    let hub = &state.stream;
    if !hub.follows_public() {
        return Ok(());
    }
    let Some(row) = posts::store::find(&state.db, id, &Viewer::Anonymous).await? else {
        deliver_public_deletion(hub, event, id);
        return Ok(());
    };
    let post = post_service::posts_from_rows(state, vec![row])
        .await?
        .remove(0);
    let listeners = hub.public_listeners(&post.tags);
    if listeners.is_empty() {
        return Ok(());
    }
    let reached = store::reached_by(&state.db, author, &listeners).await?;
    let tags = post.tags.clone();
    hub.sent_publicly(id, tags.clone());
    let frame = Arc::new(PublicFrame {
        frame: Frame::new(event, name, Subject::Post(Box::new(post))),
        tags,
    });
    hub.deliver_public(&frame, |listener| reached.contains(&listener));
    Ok(())
}

/// Tells the public streams here that followed the post `id` that it is gone, if it was
/// sent to them.
fn deliver_public_deletion(hub: &Hub, event: Uuid, id: Uuid) {
    if let Some(tags) = hub.forget_public(id) {
        let frame = Arc::new(PublicFrame {
            frame: Frame::new(event, "post.delete", Subject::Deleted(id)),
            tags,
        });
        hub.deliver_public(&frame, |_| true);
    }
}

/// Every [`TOKEN_SWEEP_EVERY`], closes the streams whose token was revoked or expired;
/// every [`LEASE_RENEW_EVERY`], renews the leases of the streams open here.
async fn sweep(state: AppState) {
    let mut interval = tokio::time::interval(TOKEN_SWEEP_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        interval.tick().await;
        let ended = state.stream.ended_leases();
        if let Err(error) = store::release_leases(&state.db, &ended).await {
            tracing::warn!(%error, "releasing ended streams' leases failed; they expire");
        }
        if last_renewal.elapsed() >= LEASE_RENEW_EVERY {
            last_renewal = tokio::time::Instant::now();
            let leases = state.stream.leases();
            if let Err(error) = store::renew_leases(&state.db, &leases).await {
                tracing::warn!(%error, "renewing the streams' leases failed");
            }
        }
        let tokens = state.stream.tokens();
        if tokens.is_empty() {
            continue;
        }
        match store::live_tokens(&state.db, &tokens, state.clock.now()).await {
            Ok(live) => {
                let checked: HashSet<Uuid> = tokens.into_iter().collect();
                state.stream.close_tokens_except(&checked, &live);
            }
            Err(error) => tracing::warn!(%error, "checking the streams' tokens failed"),
        }
    }
}
