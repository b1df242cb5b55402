//! The rules of comments, for every API: content of 1–500 characters, only the author
//! edits or deletes, a comment is hidden wherever its post is (and across a block with its
//! author), a muted author's comments leave the muter's lists, and a comment on a post
//! deleted meanwhile is a 404.

use uuid::Uuid;

use super::{Comment, store};
use crate::auth::{AuthUser, Viewer, ensure_owner};
use crate::db::{self, new_id};
use crate::error::{AppError, is_foreign_key_violation};
use crate::notifications::{self, Kind, Notice};
use crate::pagination::{PageRequest, PageResponse, encode_cursor};
use crate::posts::domain::Content;
use crate::posts::service as posts;
use crate::posts::store::{MentionsOf, mentions_of, set_mentions};
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

/// Completes rows into comments with their mentions (one more query when there are rows).
async fn comments_from_rows(
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<store::CommentRow>,
    state: &AppState,
) -> Result<Vec<Comment>, AppError> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut mentions = mentions_of(db, MentionsOf::Comments, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Comment::from_row(row, &mut mentions, state))
        .collect())
}

/// The comments among `ids`, by id, for what embeds them (notifications, whose rule has
/// already decided that the reader may see them).
pub async fn by_ids(
    state: &AppState,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Comment>, AppError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = store::find_many(&state.db, ids).await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let comments = comments_from_rows(&state.db, rows, state).await?;
    Ok(ids.into_iter().zip(comments).collect())
}

/// One page of the comments on the post `post_id`, oldest first, as the viewer's lists show
/// them.
pub async fn list(
    state: &AppState,
    viewer: Option<AuthUser>,
    post_id: &str,
    page: &PageRequest,
) -> Result<PageResponse<Comment>, AppError> {
    let actor = viewer.map_or(Viewer::Anonymous, Viewer::Verified);
    let (post_id, _) = posts::visible(state, &actor, post_id).await?;
    let rows = store::list_for_post(
        &state.db,
        &actor,
        post_id,
        page.after_id()?,
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_cursor) = page.take_page(rows, |row| encode_cursor(&[&row.id.to_string()]));
    let comments = comments_from_rows(&state.db, rows, state).await?;
    Ok(page.respond(comments, next_cursor))
}

/// `author` comments `content` on the post `post_id`, which they must be able to see.
pub async fn create(
    state: &AppState,
    author: AuthUser,
    post_id: &str,
    content: &str,
) -> Result<Comment, AppError> {
    let (post_id, post_author) = posts::visible(state, &Viewer::Verified(author), post_id).await?;
    let content = parse_content(content)?.into_inner();
    let id = new_id();
    let now = state.clock.now();
    let transaction = db::begin_write(&state.db).await?;
    let mentions = posts::mentioned(&transaction, &content).await?;
    store::insert(
        &transaction,
        store::NewComment {
            id,
            post_id,
            author_id: author.user_id,
            content,
            created_at: now,
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
    set_mentions(&transaction, MentionsOf::Comments, id, &mentions).await?;
    let notice = Notice::comment(Kind::Comment, post_author, author.user_id, post_id, id);
    notifications::notify(&transaction, notice, now).await?;
    notifications::notify_mentions(
        &transaction,
        author.user_id,
        post_id,
        Some(id),
        &mentions,
        now,
    )
    .await?;
    // Read back inside the transaction: the post cannot vanish before the answer is built.
    let row = store::find(&transaction, id)
        .await?
        .ok_or_else(posts::not_found)?;
    let comment = comments_from_rows(&transaction, vec![row], state)
        .await?
        .remove(0);
    transaction.commit().await?;
    Ok(comment)
}

/// One comment as the viewer may see it, or 404.
pub async fn get(
    state: &AppState,
    viewer: Option<AuthUser>,
    id: &str,
) -> Result<Comment, AppError> {
    let actor = viewer.map_or(Viewer::Anonymous, Viewer::Verified);
    let row = store::find_visible(&state.db, parse_id(id)?, &actor)
        .await?
        .ok_or_else(not_found)?;
    Ok(comments_from_rows(&state.db, vec![row], state)
        .await?
        .remove(0))
}

/// The id of `user`'s own comment `id`: 404 when it does not exist or is hidden from them,
/// 403 when it is someone else's.
async fn own(state: &AppState, user: AuthUser, id: &str) -> Result<Uuid, AppError> {
    let row = store::find_visible(&state.db, parse_id(id)?, &Viewer::Verified(user))
        .await?
        .ok_or_else(not_found)?;
    ensure_owner(row.author_id, user, "comment")?;
    Ok(row.id)
}

/// Replaces the content of `user`'s own comment `id` (its mentions follow).
pub async fn update(
    state: &AppState,
    user: AuthUser,
    id: &str,
    content: &str,
) -> Result<Comment, AppError> {
    let id = own(state, user, id).await?;
    let content = parse_content(content)?.into_inner();
    let transaction = db::begin_write(&state.db).await?;
    let mentions = posts::mentioned(&transaction, &content).await?;
    let now = state.clock.now();
    if !store::update_content(&transaction, id, content, now).await? {
        // Deleted (with the comment or its post) after it was looked up.
        return Err(not_found());
    }
    set_mentions(&transaction, MentionsOf::Comments, id, &mentions).await?;
    let row = store::find(&transaction, id).await?.ok_or_else(not_found)?;
    notifications::renotify_mentions(
        &transaction,
        user.user_id,
        row.post_id,
        Some(id),
        &mentions,
        now,
    )
    .await?;
    let comment = comments_from_rows(&transaction, vec![row], state)
        .await?
        .remove(0);
    transaction.commit().await?;
    Ok(comment)
}

/// Deletes `user`'s own comment `id`.
pub async fn delete(state: &AppState, user: AuthUser, id: &str) -> Result<(), AppError> {
    let id = own(state, user, id).await?;
    if !store::delete(&state.db, id).await? {
        // A concurrent delete won.
        return Err(not_found());
    }
    Ok(())
}
