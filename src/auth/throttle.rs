//! The failed-login rule: after `max_failures` failed attempts for one email address within
//! the window, every attempt for that address is refused with 429 until the window has
//! moved past enough of them. Records live in the database, so the rule holds across
//! every process sharing it, and applies whether or not an account has the address.
//!
//! An attempt is recorded as a failure *before* the password is checked, in the same
//! transaction as the count (serialised per address), and the record is removed again
//! when the password turns out right. So parallel guesses cannot all slip in under the
//! limit: at most `max_failures` passwords are ever checked per window.

use chrono::TimeDelta;
use sea_orm::{ConnectionTrait, DbBackend};
use uuid::Uuid;

use super::store;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// A recorded attempt; it stays counted as a failure unless [`succeeded`] is called.
#[derive(Debug, Clone, Copy)]
pub struct Attempt(Uuid);

/// Refuses the attempt if `email_key` is locked out; otherwise records it (as a failure
/// until proven otherwise).
pub async fn begin_attempt(state: &AppState, email_key: &str) -> Result<Attempt, AppError> {
    let max = u64::from(state.config.login_max_failures);
    let window = window(state);
    let now = state.clock.now();
    let transaction = db::begin_write(&state.db).await?;
    if transaction.get_database_backend() == DbBackend::Postgres {
        // Serialise attempts for one address; SQLite's write lock already does.
        store::lock_failures_postgres(&transaction, email_key).await?;
    }
    let failures = store::recent_failures(&transaction, email_key, now - window, max).await?;
    if failures.len() as u64 >= max {
        transaction.rollback().await?;
        // Unblocked once the oldest of the last `max` failures leaves the window.
        let oldest_counted = failures[failures.len() - 1];
        let wait = (oldest_counted + window - now).num_milliseconds().max(0);
        let retry_after_secs = (wait as u64).div_ceil(1000).max(1);
        return Err(AppError::TooManyRequests {
            code: "too_many_failed_logins",
            detail: format!(
                "Too many failed logins for this email address; try again in {retry_after_secs} seconds."
            ),
            retry_after_secs,
        });
    }
    let id = store::insert_failure(&transaction, email_key.to_owned(), now).await?;
    store::prune_failures(&transaction, now - window).await?;
    transaction.commit().await?;
    Ok(Attempt(id))
}

/// The password was right: the attempt does not count as a failure.
pub async fn succeeded(state: &AppState, attempt: Attempt) -> Result<(), AppError> {
    store::delete_failure(&state.db, attempt.0).await?;
    Ok(())
}

/// Checks `password` against `stored` (a dummy hash when `None`) under the rule: refused
/// with 429 while `email_key` is locked out, and counted as a failure when wrong.
pub async fn verify_password(
    state: &AppState,
    email_key: &str,
    password: String,
    stored: Option<String>,
) -> Result<bool, AppError> {
    let attempt = begin_attempt(state, email_key).await?;
    let verified = state.passwords.verify(password, stored).await?;
    if verified {
        succeeded(state, attempt).await?;
    }
    Ok(verified)
}

fn window(state: &AppState) -> TimeDelta {
    TimeDelta::from_std(state.config.login_failure_window).unwrap_or(TimeDelta::MAX)
}
