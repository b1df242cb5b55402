//! The rules of comments, for every API: content of 1–500 characters, only the author
//! edits or deletes, and a comment on a post deleted meanwhile is a 404.

use uuid::Uuid;

use super::{Comment, store};
use crate::auth::{AuthUser, ensure_owner};
use crate::db::{self, new_id};
use crate::error::{AppError, is_foreign_key_violation};
use crate::pagination::{PageRequest, PageResponse, encode_cursor};
use crate::posts::domain::Content;
use crate::posts::service as posts;
use crate::state::AppState;

pub fn not_found() -> AppError {
    AppError::not_found("There is no comment with this id.")
}

/// Parses a comment id from a path: anything that is not one of our ids names no comment.
fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

/// Comment content, or the 422 naming `content`.
fn parse_content(content: &str) -> Result<Content, AppError> {
    Content::parse(content).map_err(|message| AppError::validation("content", message))
}

/// The author of an existing comment (for the ownership check), or 404.
async fn author_of(state: &AppState, id: Uuid) -> Result<Uuid, AppError> {
    store::author_of(&state.db, id).await?.ok_or_else(not_found)
}

/// One page of the comments on the post `post_id`, oldest first.
pub async fn list(
    state: &AppState,
    post_id: &str,
    page: &PageRequest,
) -> Result<PageResponse<Comment>, AppError> {
    let post_id = posts::existing(state, post_id).await?;
    let rows =
        store::list_for_post(&state.db, post_id, page.after_id()?, page.fetch_limit()).await?;
    Ok(page.finish(
        rows,
        |row| encode_cursor(&[&row.id.to_string()]),
        |row| Comment::from_row(row, state),
    ))
}

/// `author` comments `content` on the post `post_id`.
pub async fn create(
    state: &AppState,
    author: AuthUser,
    post_id: &str,
    content: &str,
) -> Result<Comment, AppError> {
    let post_id = posts::existing(state, post_id).await?;
    let content = parse_content(content)?;
    let id = new_id();
    let transaction = db::begin_write(&state.db).await?;
    store::insert(
        &transaction,
        store::NewComment {
            id,
            post_id,
            author_id: author.user_id,
            content: content.into_inner(),
            created_at: state.clock.now(),
        },
    )
    .await
    .map_err(|error| {
        // The post was deleted after it was looked up.
        if is_foreign_key_violation(&error) {
            posts::not_found()
        } else {
            error.into()
        }
    })?;
    // Read back inside the transaction: the post cannot vanish before the answer is built.
    let row = store::find(&transaction, id)
        .await?
        .ok_or_else(posts::not_found)?;
    transaction.commit().await?;
    Ok(Comment::from_row(row, state))
}

/// One comment.
pub async fn get(state: &AppState, id: &str) -> Result<Comment, AppError> {
    let row = store::find(&state.db, parse_id(id)?)
        .await?
        .ok_or_else(not_found)?;
    Ok(Comment::from_row(row, state))
}

/// Replaces the content of `user`'s own comment `id`.
pub async fn update(
    state: &AppState,
    user: AuthUser,
    id: &str,
    content: &str,
) -> Result<Comment, AppError> {
    let id = parse_id(id)?;
    ensure_owner(author_of(state, id).await?, user, "comment")?;
    let content = parse_content(content)?;
    let transaction = db::begin_write(&state.db).await?;
    if !store::update_content(&transaction, id, content.into_inner(), state.clock.now()).await? {
        // Deleted (with the comment or its post) after it was looked up.
        return Err(not_found());
    }
    let row = store::find(&transaction, id).await?.ok_or_else(not_found)?;
    transaction.commit().await?;
    Ok(Comment::from_row(row, state))
}

/// Deletes `user`'s own comment `id`.
pub async fn delete(state: &AppState, user: AuthUser, id: &str) -> Result<(), AppError> {
    let id = parse_id(id)?;
    ensure_owner(author_of(state, id).await?, user, "comment")?;
    if !store::delete(&state.db, id).await? {
        // A concurrent delete won.
        return Err(not_found());
    }
    Ok(())
}
