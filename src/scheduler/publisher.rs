//! The publisher: a task inside `roost serve` that turns due schedules into posts.
//!
//! # Claim protocol
//!
//! Each round is one write transaction: claim up to [`BATCH`] due schedules
//! ([`store::claim_due`], `FOR UPDATE SKIP LOCKED` on PostgreSQL), and for each insert the
//! post (its `created_at` is the moment of publishing), hand over its media and delete the
//! schedule; then commit. The claim and the insert commit together or not at all, so:
//!
//! - **exactly once**: a schedule row exists until the transaction that published it
//!   commits, and no other publisher can lock it meanwhile; several processes sharing one
//!   database therefore never publish it twice, and never lose it;
//! - **crash at any step**: before the commit nothing happened (the database rolls the
//!   transaction back and the schedule is still due, so the next round — in this process
//!   after a restart, or in another one — publishes it); after the commit it is fully
//!   published;
//! - **edits and cancellations racing the publisher**: they lock the row first; the
//!   publisher skips locked rows, so the schedule publishes after the edit commits, in its
//!   final state, and a cancelled one never publishes (if the publisher locked it first,
//!   the edit or cancellation waits, then finds it gone: 404).
//!
//! # Timing
//!
//! Between rounds the task sleeps until the soonest `publish_at`, or until woken (a
//! schedule was created or edited in this process), or for at most the re-check interval
//! (schedules written by other processes), or until shutdown. A round is never cut short:
//! shutdown waits for it, so no schedule is left half-published.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::store;
use crate::db::{self, new_id};
use crate::media::store as media_store;
use crate::notifications::{self, Kind, store::Notice};
use crate::posts::domain::hashtags;
use crate::posts::service::mentioned;
use crate::posts::store as post_store;
use crate::privacy::Visibility;
use crate::state::AppState;
use crate::stream::{self, Signal};

/// Schedules published per transaction.
const BATCH: u64 = 50;
/// Pause after a failed round (e.g. the database is down) before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);
/// How long shutdown waits for a round in progress.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The running publisher; [`Publisher::stop`] ends it after the round in progress.
pub struct Publisher {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Publisher {
    pub fn spawn(state: AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(run(state, stopped));
        Self { stop, handle }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(STOP_GRACE, &mut self.handle)
            .await
            .is_err()
        {
            tracing::warn!("the publisher did not finish its round in time; abandoning it");
            self.handle.abort();
        }
    }
}

/// Wakes the publisher (a schedule was created or edited) so it re-reads the soonest due time.
pub fn wake(notify: &Arc<Notify>) {
    notify.notify_one();
}

async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let recheck = state.config.scheduler_recheck;
    loop {
        let pause = match publish_due(&state).await {
            Ok(_) => match store::next_due(&state.db).await {
                Ok(Some(due)) => (due - state.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(recheck),
                Ok(None) => recheck,
                Err(error) => {
                    tracing::warn!(error = %error, "could not read the next due schedule");
                    RETRY_AFTER_FAILURE
                }
            },
            Err(error) => {
                tracing::warn!(error = ?error, "publishing due schedules failed; retrying");
                RETRY_AFTER_FAILURE
            }
        };
        if *stopped.borrow() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = state.publisher_wake.notified() => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Publishes every schedule due as of `state.clock`, in rounds of [`BATCH`]; returns how
/// many it published. Each post reaches the streams as a new post, with its author's
/// `published` notification and its mentions.
pub async fn publish_due(state: &AppState) -> anyhow::Result<u64> {
    stream::collect(state, publish_rounds(state)).await
}

async fn publish_rounds(state: &AppState) -> anyhow::Result<u64> {
    let mut published = 0;
    loop {
        let now = state.clock.now();
        let count = db::write_transaction(&state.db, |transaction| {
            Box::pin(async move {
                let due = store::claim_due(transaction, now, BATCH).await?;
                for schedule in &due {
                    let post_id = new_id();
                    let mentions = mentioned(transaction, &schedule.content).await?;
                    post_store::insert(
                        transaction,
                        post_store::NewPost {
                            id: post_id,
                            author_id: schedule.author_id,
                            content: schedule.content.clone(),
                            visibility: Visibility::from_stored(&schedule.visibility),
                            tags: hashtags(&schedule.content),
                            mentions: mentions.clone(),
                            created_at: now,
                        },
                    )
                    .await?;
                    media_store::move_to_post(transaction, schedule.id, post_id).await?;
                    store::delete(transaction, schedule.id).await?;
                    let author = schedule.author_id;
                    notifications::notify_mentions(
                        transaction,
                        author,
                        post_id,
                        None,
                        &mentions,
                        now,
                    )
                    .await?;
                    notifications::notify(
                        transaction,
                        Notice::post(Kind::Published, author, author, post_id),
                        now,
                    )
                    .await?;
                    stream::emit(Signal::Post {
                        id: post_id,
                        author,
                    });
                }
                Ok(due.len() as u64)
            })
        })
        .await
        .context("publishing a batch of due schedules")?;
        if count > 0 {
            tracing::info!(count, "published scheduled posts");
        }
        published += count;
        if count < BATCH {
            return Ok(published);
        }
    }
}
