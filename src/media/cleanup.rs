//! The periodic clean-up: uploads that no post claimed within a day are deleted (the row,
//! then its files), and expired idempotency keys are pruned. It runs once at start and then
//! every `ROOST_MEDIA_CLEANUP_INTERVAL_SECS`, inside the server process.
//!
//! "A day" is measured on `AppState::clock`, so tests move time instead of waiting. Several
//! processes sharing one database may run it at once: each row is deleted by one statement
//! that also checks it is still unattached, so whoever deletes it removes its files, and an
//! upload attached to a post meanwhile is never touched.

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::store;
use crate::idempotency;
use crate::state::AppState;

/// How long an upload may wait to be attached before it is deleted.
pub const UNATTACHED_LIFETIME: TimeDelta = TimeDelta::hours(24);
/// Uploads read per query; each is then deleted on its own.
const BATCH_SIZE: u64 = 100;
/// How long shutdown waits for a pass in progress before abandoning it.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The running clean-up task; [`CleanupTask::stop`] ends it.
pub struct CleanupTask {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl CleanupTask {
    /// Starts the task: a pass right away, then one every configured interval.
    pub fn spawn(state: AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(run(state, stopped));
        Self { stop, handle }
    }

    /// Asks the task to stop and waits for a pass in progress to finish (a pass cut short
    /// between a row and its files would leave the files orphaned), up to a grace period.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(STOP_GRACE, &mut self.handle)
            .await
            .is_err()
        {
            tracing::warn!("the clean-up pass did not finish in time; abandoning it");
            self.handle.abort();
        }
    }
}

async fn run(state: AppState, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(state.config.media_cleanup_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // A pass is never interrupted; a stop request is seen before the next one starts.
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        if let Err(error) = run_once(&state).await {
            tracing::warn!(error = ?error, "the clean-up pass failed; retrying at the next interval");
        }
    }
}

/// One clean-up pass, as of `state.clock`'s now: deletes every upload older than
/// [`UNATTACHED_LIFETIME`] that is still unattached, with its files, and prunes expired
/// idempotency keys. Returns how many uploads it deleted.
pub async fn run_once(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.now();
    let pruned = idempotency::prune(&state.db, now)
        .await
        .context("pruning expired idempotency keys")?;
    let removed = remove_unattached(state, now - UNATTACHED_LIFETIME)
        .await
        .context("removing unattached uploads")?;
    if removed > 0 || pruned > 0 {
        tracing::info!(
            uploads = removed,
            idempotency_keys = pruned,
            "cleaned up expired data"
        );
    }
    Ok(removed)
}

/// Deletes the uploads created before `before` and never attached, batch by batch.
async fn remove_unattached(state: &AppState, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut removed = 0;
    loop {
        let batch = store::unattached_before(&state.db, before, BATCH_SIZE).await?;
        for upload in &batch {
            // A post may have claimed it since the batch was read: then the row stays, and
            // so do its files. A row this statement deletes can no longer be claimed.
            if store::delete_unattached(&state.db, upload.id).await? {
                super::remove_file(state, &upload.file_key).await;
                super::remove_file(state, &upload.preview_key).await;
                removed += 1;
            }
        }
        // Every row of a full batch is now gone or attached, so the next query moves on.
        if (batch.len() as u64) < BATCH_SIZE {
            return Ok(removed);
        }
    }
}
