//! Finding what a Mastodon id names: the row of a table whose 64-bit number it is
//! ([`crate::db::id_by_number`]). An id that is not a number, or names nothing, is a 404.

use uuid::Uuid;

use crate::db::{self, ids};
use crate::error::AppError;
use crate::state::AppState;

fn not_found() -> AppError {
    AppError::not_found("No such record.")
}

/// The Roost id of the row of `table` that `id` names, or 404.
pub async fn find(state: &AppState, table: &'static str, id: &str) -> Result<Uuid, AppError> {
    let number = ids::parse_number(id).ok_or_else(not_found)?;
    db::id_by_number(&state.db, table, number)
        .await?
        .ok_or_else(not_found)
}

/// What a status id names: a post, or a comment (shown as a reply to its post).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusId {
    Post(Uuid),
    Comment(Uuid),
}

/// The post or comment a status id names, or 404.
pub async fn status(state: &AppState, id: &str) -> Result<StatusId, AppError> {
    let number = ids::parse_number(id).ok_or_else(not_found)?;
    if let Some(post) = db::id_by_number(&state.db, "posts", number).await? {
        return Ok(StatusId::Post(post));
    }
    db::id_by_number(&state.db, "comments", number)
        .await?
        .map(StatusId::Comment)
        .ok_or_else(not_found)
}
