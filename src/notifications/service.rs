//! The rules of reading notifications, for every API: the list (newest first, by kind and
//! read state), the unread count, marking read up to one, and dismissing one.

use uuid::Uuid;

use super::store::{self, ListFilter, NotificationRow};
use super::{Kind, Notification};
use crate::auth::{AuthUser, Viewer};
use crate::db;
use crate::error::AppError;
use crate::pagination::{PageRequest, PageResponse, encode_cursor};
use crate::posts::{comments, service as posts};
use crate::state::AppState;
use crate::users::UserSummary;

fn not_found() -> AppError {
    AppError::not_found("You have no notification with this id.")
}

/// A notification id from a path or a body: anything that is not one of our ids names
/// none of yours.
pub fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

/// Parses `?types=`: a comma-separated list of kinds; an unknown one is a 400.
pub fn parse_kinds(types: &str) -> Result<Vec<Kind>, AppError> {
    types
        .split(',')
        .map(|name| {
            name.trim().parse::<Kind>().map_err(|()| {
                AppError::bad_request(
                    "invalid_query",
                    format!(
                        "`types` must be a comma-separated list of: {}.",
                        Kind::ALL.map(Kind::as_str).join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// One page of the viewer's notifications, newest first.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    kinds: Option<Vec<Kind>>,
    read: Option<bool>,
    page: &PageRequest,
) -> Result<PageResponse<Notification>, AppError> {
    let filter = ListFilter {
        kinds,
        read,
        before: page.after_id()?,
        ..ListFilter::default()
    };
    let rows = store::list(&state.db, viewer, &filter, page.fetch_limit()).await?;
    let user = viewer
        .settle_required(state, rows.first().map(|row| row.viewer))
        .await?;
    let (rows, next_cursor) = page.take_page(rows, |row| encode_cursor(&[&row.id.to_string()]));
    let items = complete(state, user, rows).await?;
    Ok(page.respond(items, next_cursor))
}

/// The notifications of `user` that `filter` selects (the stream's replay and delivery),
/// in the order read.
pub async fn read(
    state: &AppState,
    user: AuthUser,
    filter: &ListFilter,
    limit: u64,
) -> Result<Vec<Notification>, AppError> {
    let viewer = Viewer::Verified(user);
    let rows = store::list(&state.db, &viewer, filter, limit).await?;
    complete(state, user, rows).await
}

/// Completes rows with their posts and comments: one query for the posts (and their
/// images and mentions), one for the comments, whatever the number of rows.
async fn complete(
    state: &AppState,
    user: AuthUser,
    rows: Vec<NotificationRow>,
) -> Result<Vec<Notification>, AppError> {
    let post_ids: Vec<Uuid> = rows.iter().filter_map(|row| row.post_id).collect();
    let comment_ids: Vec<Uuid> = rows.iter().filter_map(|row| row.comment_id).collect();
    let posts = posts::by_ids(state, &Viewer::Verified(user), &post_ids).await?;
    let comments = comments::service::by_ids(state, &comment_ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Notification {
            id: row.id.to_string(),
            kind: row.kind.parse().unwrap_or(Kind::Follow),
            created_at: row.created_at,
            read: row.read,
            account: UserSummary::new(
                row.actor_id,
                row.actor_username,
                row.actor_display_name,
                row.actor_avatar_key.as_deref(),
                state,
            ),
            post: row.post_id.and_then(|id| posts.get(&id).cloned()),
            comment: row.comment_id.and_then(|id| comments.get(&id).cloned()),
        })
        .collect())
}

/// How many of the viewer's notifications are unread (of those the rule shows them).
pub async fn unread_count(state: &AppState, viewer: &Viewer) -> Result<i64, AppError> {
    count_unread(state, viewer, None).await
}

/// How many of the viewer's notifications of `kinds` are unread.
pub async fn unread_count_of(
    state: &AppState,
    viewer: &Viewer,
    kinds: &[Kind],
) -> Result<i64, AppError> {
    count_unread(state, viewer, Some(kinds)).await
}

async fn count_unread(
    state: &AppState,
    viewer: &Viewer,
    kinds: Option<&[Kind]>,
) -> Result<i64, AppError> {
    let found = store::unread_count(&state.db, viewer, kinds).await?;
    viewer
        .settle_required(state, found.as_ref().map(|found| found.viewer))
        .await?;
    Ok(found.map_or(0, |found| found.count))
}

/// Marks `user`'s notification `up_to` and every older one read; all of them without it.
/// 404 when `up_to` is not one of theirs.
pub async fn mark_read(
    state: &AppState,
    user: AuthUser,
    up_to: Option<&str>,
) -> Result<(), AppError> {
    let up_to = up_to.map(parse_id).transpose()?;
    if let Some(id) = up_to
        && !store::exists(&state.db, user.user_id, id).await?
    {
        return Err(not_found());
    }
    let transaction = db::begin_write(&state.db).await?;
    store::mark_read(&transaction, user.user_id, up_to).await?;
    transaction.commit().await?;
    Ok(())
}

/// Dismisses every notification of `user`.
pub async fn dismiss_all(state: &AppState, user: AuthUser) -> Result<(), AppError> {
    store::dismiss_all(&state.db, user.user_id).await?;
    Ok(())
}

/// Dismisses `user`'s notification `id`; 404 when it is not one of theirs.
pub async fn dismiss(state: &AppState, user: AuthUser, id: &str) -> Result<(), AppError> {
    let id = parse_id(id)?;
    if !store::dismiss(&state.db, user.user_id, id).await? {
        return Err(not_found());
    }
    Ok(())
}
