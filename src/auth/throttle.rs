//! The failed-login rule: after `max_failures` failed attempts for one email address within
//! the window, every attempt for that address is refused with 429 until the window has
//! moved past enough of them. Records live in the database, so the rule holds across
//! every process sharing it, and applies whether or not an account has the address.

use chrono::TimeDelta;

use super::store;
use crate::app::AppState;
use crate::error::AppError;

/// Refuses the attempt if `email_key` is currently locked out.
pub async fn check(state: &AppState, email_key: &str) -> Result<(), AppError> {
    let max = u64::from(state.config.login_max_failures);
    let window = window(state);
    let now = state.clock.now();
    let failures = store::recent_failures(&state.db, email_key, now - window, max).await?;
    if failures.len() as u64 >= max {
        // Unblocked once the oldest of the last `max` failures leaves the window.
        let oldest_counted = failures[failures.len() - 1];
        let unblocked_at = oldest_counted + window;
        let wait = (unblocked_at - now).num_milliseconds().max(0);
        let retry_after_secs = (wait as u64).div_ceil(1000).max(1);
        return Err(AppError::TooManyRequests {
            code: "too_many_failed_logins",
            detail: format!(
                "Too many failed logins for this email address; try again in {retry_after_secs} seconds."
            ),
            retry_after_secs,
        });
    }
    Ok(())
}

/// Counts one failed attempt against `email_key`.
pub async fn record_failure(state: &AppState, email_key: String) -> Result<(), AppError> {
    store::record_failure(&state.db, email_key, state.clock.now(), window(state)).await?;
    Ok(())
}

fn window(state: &AppState) -> TimeDelta {
    TimeDelta::from_std(state.config.login_failure_window).unwrap_or(TimeDelta::MAX)
}
