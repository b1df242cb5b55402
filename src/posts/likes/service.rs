//! The rules of likes, for every API: a like is idempotent, and liking a post that does
//! not exist, is hidden from you, or is deleted meanwhile is a 404.

use crate::auth::{AuthUser, Viewer};
use crate::db;
use crate::error::{AppError, is_foreign_key_violation};
use crate::notifications::{self, Kind, Notice};
use crate::pagination::{PageRequest, PageResponse, encode_cursor};
use crate::posts::service as posts;
use crate::state::AppState;
use crate::users::{self, User};
use uuid::Uuid;

use super::store;

/// `user` likes the post `post_id`, once: a repeat keeps the first like. A new like
/// notifies the post's author in the same transaction.
pub async fn like(state: &AppState, user: AuthUser, post_id: &str) -> Result<(), AppError> {
    let (post_id, author) = posts::visible(state, &Viewer::Verified(user), post_id).await?;
    let now = state.clock.now();
    let transaction = db::begin_write(&state.db).await?;
    let liked = store::like(&transaction, post_id, user.user_id, now)
        .await
        .map_err(|error| {
            // The post was deleted after it was looked up.
            if is_foreign_key_violation(&error) {
                posts::not_found()
            } else {
                AppError::from(error)
            }
        })?;
    if liked {
        let notice = Notice::post(Kind::Like, author, user.user_id, post_id);
        notifications::notify(&transaction, notice, now).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// `user` no longer likes the post `post_id` (whether or not they did); the like's
/// notification goes with it.
pub async fn unlike(state: &AppState, user: AuthUser, post_id: &str) -> Result<(), AppError> {
    let (post_id, author) = posts::visible(state, &Viewer::Verified(user), post_id).await?;
    let transaction = db::begin_write(&state.db).await?;
    if store::unlike(&transaction, post_id, user.user_id).await? {
        let notice = Notice::post(Kind::Like, author, user.user_id, post_id);
        notifications::withdraw(&transaction, notice).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// The users who liked the post `post_id` (which the viewer must be able to see), most
/// recent like first, without the accounts across a block from the viewer, with their
/// relations to the viewer.
pub async fn likers(
    state: &AppState,
    viewer: Option<AuthUser>,
    post_id: &str,
    page: &PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let found = likers_up_to(state, viewer, post_id, page.after_id()?, page.fetch_limit()).await?;
    Ok(page.finish(
        found,
        |(like_id, _)| encode_cursor(&[&like_id.to_string()]),
        |(_, user)| user,
    ))
}

/// As [`likers`], the first `page.limit` likers below `page`'s bound, each with the like's
/// id (the list's sort key), for callers that page by bounds.
pub async fn likers_in_window(
    state: &AppState,
    viewer: Option<AuthUser>,
    post_id: &str,
    page: &PageRequest,
) -> Result<Vec<(Uuid, User)>, AppError> {
    likers_up_to(state, viewer, post_id, page.after_id()?, page.limit).await
}

async fn likers_up_to(
    state: &AppState,
    viewer: Option<AuthUser>,
    post_id: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(Uuid, User)>, AppError> {
    let actor = viewer.map_or(Viewer::Anonymous, Viewer::Verified);
    let (post_id, _) = posts::visible(state, &actor, post_id).await?;
    let rows = store::likers(&state.db, &actor, post_id, after, limit).await?;
    let ids: Vec<_> = rows.iter().map(|row| row.user.id).collect();
    let relations = users::graph::relations(&state.db, viewer.map(|v| v.user_id), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.like_id, User::from_model(row.user, &relations, state)))
        .collect())
}
