//! The rules of follows, follow requests, blocks and mutes, for every API. Each function
//! takes the actor and validated inputs, owns its transaction and returns the outcome or
//! the error to answer.

use uuid::Uuid;

use super::store::{self, Related};
use crate::auth::AuthUser;
use crate::db;
use crate::error::{AppError, is_foreign_key_violation};
use crate::notifications::{self, Kind, Notice};
use crate::pagination::{PageRequest, PageResponse, Window, encode_cursor};
use crate::privacy::{self, Standing};
use crate::state::AppState;
use crate::users::entity::user;
use crate::users::service::find_user;
use crate::users::{Relations, User};

/// What a follow request to an account led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowOutcome {
    /// The follow holds (new or not).
    Following,
    /// The account is locked: a request waits for its approval (new or not).
    Requested,
}

/// How `viewer` stands to `account` (one statement).
pub async fn standing(
    state: &AppState,
    viewer: Option<Uuid>,
    account: &user::Model,
) -> Result<Standing, AppError> {
    standing_in(&state.db, viewer, account).await
}

async fn standing_in(
    db: &impl sea_orm::ConnectionTrait,
    viewer: Option<Uuid>,
    account: &user::Model,
) -> Result<Standing, AppError> {
    let flags = store::relations(db, viewer, &[account.id])
        .await?
        .of(account.id)
        .unwrap_or_default();
    Ok(Standing {
        is_self: viewer == Some(account.id),
        blocking: flags.blocking,
        blocked_by: flags.blocked_by,
        following: flags.following,
        locked: account.locked,
    })
}

/// Runs `work` on the pair (`actor`, `username`) in one write transaction, with both rows
/// locked ([`store::lock_pair`]): `work` gets the other account as it is now. 404 when
/// there is no such user (or it was deleted meanwhile).
async fn with_pair<T, F>(
    state: &AppState,
    actor: AuthUser,
    username: &str,
    work: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: for<'t> Fn(
            &'t sea_orm::DatabaseTransaction,
            user::Model,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = Result<Result<T, AppError>, sea_orm::DbErr>>
                    + Send
                    + 't,
            >,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    let other = find_user(state, username).await?;
    let (actor_id, other_id) = (actor.user_id, other.id);
    let name = username.to_owned();
    // A refusal (`Ok(Err(_))`) is decided before anything is written, so committing it
    // changes nothing.
    db::write_transaction(&state.db, |transaction| {
        let (work, username) = (work.clone(), name.clone());
        Box::pin(async move {
            let rows = store::lock_pair(transaction, actor_id, other_id).await?;
            if !rows.iter().any(|row| row.id == actor_id) {
                return Ok(Err(crate::auth::invalid_token()));
            }
            let Some(other) = rows.into_iter().find(|row| row.id == other_id) else {
                return Ok(Err(no_such_user(&username)));
            };
            work(transaction, other).await
        })
    })
    .await
    .map_err(|error| {
        if is_foreign_key_violation(&error) {
            no_such_user(username)
        } else {
            AppError::from(error)
        }
    })?
}

fn no_such_user(username: &str) -> AppError {
    AppError::not_found(format!("There is no user named {username:?}."))
}

/// `user` follows `username`: at once when the account is not locked, as a pending request
/// when it is (unless the follow already holds). 422 for yourself, 403 `blocked` across a
/// block.
pub async fn follow(
    state: &AppState,
    user: AuthUser,
    username: &str,
) -> Result<FollowOutcome, AppError> {
    let now = state.clock.now();
    let follower = user.user_id;
    with_pair(state, user, username, move |transaction, target| {
        Box::pin(async move {
            let standing = standing_in(transaction, Some(follower), &target).await;
            let standing = match standing {
                Ok(standing) => standing,
                Err(error) => return Ok(Err(error)),
            };
            if let Err(refusal) = privacy::may_follow(standing) {
                return Ok(Err(refusal));
            }
            if standing.following {
                return Ok(Ok(FollowOutcome::Following));
            }
            if target.locked {
                store::request(transaction, follower, target.id, now).await?;
                return Ok(Ok(FollowOutcome::Requested));
            }
            store::follow(transaction, follower, target.id, now).await?;
            Ok(Ok(FollowOutcome::Following))
        })
    })
    .await
}

/// `user` no longer follows `username`, nor asks to (whether or not they did).
pub async fn unfollow(state: &AppState, user: AuthUser, username: &str) -> Result<(), AppError> {
    let follower = user.user_id;
    with_pair(state, user, username, move |transaction, target| {
        Box::pin(async move {
            store::unfollow(transaction, follower, target.id).await?;
            store::remove_request(transaction, follower, target.id).await?;
            Ok(Ok(()))
        })
    })
    .await
}

/// `username` no longer follows `user` (they may ask again).
pub async fn remove_follower(
    state: &AppState,
    user: AuthUser,
    username: &str,
) -> Result<(), AppError> {
    let followee = user.user_id;
    with_pair(state, user, username, move |transaction, follower| {
        Box::pin(async move {
            store::unfollow(transaction, follower.id, followee).await?;
            Ok(Ok(()))
        })
    })
    .await
}

fn no_such_request(username: &str) -> AppError {
    AppError::not_found(format!(
        "{username:?} has no pending request to follow you."
    ))
}

/// Accepts the pending request of `username` to follow `user`: it becomes a follow. 404
/// when there is none (never sent, cancelled, rejected, or removed by a block).
pub async fn accept_request(
    state: &AppState,
    user: AuthUser,
    username: &str,
) -> Result<(), AppError> {
    answer_request(state, user, username, true).await
}

/// Rejects the pending request of `username` to follow `user`. 404 when there is none.
pub async fn reject_request(
    state: &AppState,
    user: AuthUser,
    username: &str,
) -> Result<(), AppError> {
    answer_request(state, user, username, false).await
}

/// Takes the pending request of `username` to follow `user` away, and with `accept` makes it
/// a follow, in one transaction: of an accept racing a cancellation or a rejection, one
/// finds the request and the other a 404.
async fn answer_request(
    state: &AppState,
    user: AuthUser,
    username: &str,
    accept: bool,
) -> Result<(), AppError> {
    let (target, now) = (user.user_id, state.clock.now());
    with_pair(state, user, username, move |transaction, requester| {
        Box::pin(async move {
            if !store::remove_request(transaction, requester.id, target).await? {
                return Ok(Err(no_such_request(&requester.username)));
            }
            if accept {
                store::follow(transaction, requester.id, target, now).await?;
                let accepted = Notice::account(Kind::FollowAccepted, requester.id, target);
                notifications::notify(transaction, accepted, now).await?;
            }
            Ok(Ok(()))
        })
    })
    .await
}

/// Refuses an action on yourself.
fn not_yourself(
    user: AuthUser,
    other: &user::Model,
    code: &'static str,
    what: &str,
) -> Result<(), AppError> {
    if other.id == user.user_id {
        return Err(AppError::Unprocessable {
            code,
            detail: format!("You cannot {what} yourself."),
        });
    }
    Ok(())
}

/// `user` blocks `username`: follows and pending requests between the two go, in both
/// directions, with the counters, in the same transaction. Idempotent.
pub async fn block(state: &AppState, user: AuthUser, username: &str) -> Result<(), AppError> {
    let (blocker, now) = (user.user_id, state.clock.now());
    with_pair(state, user, username, move |transaction, blocked| {
        Box::pin(async move {
            if let Err(refusal) = not_yourself(user, &blocked, "cannot_block_self", "block") {
                return Ok(Err(refusal));
            }
            store::block(transaction, blocker, blocked.id, now).await?;
            for (from, to) in [(blocker, blocked.id), (blocked.id, blocker)] {
                store::unfollow(transaction, from, to).await?;
                store::remove_request(transaction, from, to).await?;
            }
            Ok(Ok(()))
        })
    })
    .await
}

/// `user` no longer blocks `username` (whether or not they did).
pub async fn unblock(state: &AppState, user: AuthUser, username: &str) -> Result<(), AppError> {
    let other = find_user(state, username).await?;
    store::unblock(&state.db, user.user_id, other.id).await?;
    Ok(())
}

/// `user` mutes `username`: only `user`'s own lists change. Idempotent.
pub async fn mute(state: &AppState, user: AuthUser, username: &str) -> Result<(), AppError> {
    let other = find_user(state, username).await?;
    not_yourself(user, &other, "cannot_mute_self", "mute")?;
    store::mute(&state.db, user.user_id, other.id, state.clock.now())
        .await
        .map_err(|error| {
            if is_foreign_key_violation(&error) {
                no_such_user(username)
            } else {
                error.into()
            }
        })
}

/// `user` no longer mutes `username` (whether or not they did).
pub async fn unmute(state: &AppState, user: AuthUser, username: &str) -> Result<(), AppError> {
    let other = find_user(state, username).await?;
    store::unmute(&state.db, user.user_id, other.id).await?;
    Ok(())
}

/// One page of `user`'s pending follow requests, blocks or mutes, with `user`'s relations
/// to each account.
pub async fn list(
    state: &AppState,
    user: AuthUser,
    list: Related,
    page: &PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let rows = store::list_related(
        &state.db,
        user.user_id,
        list,
        page.after_id()?,
        page.fetch_limit(),
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.user.id).collect();
    let relations = store::relations(&state.db, Some(user.user_id), &ids).await?;
    Ok(page.finish(
        rows,
        |row| encode_cursor(&[&row.relation_id.to_string()]),
        |row| User::from_model(row.user, &relations, state),
    ))
}

/// Up to `limit` of `user`'s pending follow requests, blocks or mutes whose relation id is
/// within `window`, most recent first, each with the relation's id and `user`'s relations
/// to the account.
pub async fn list_in_window(
    state: &AppState,
    user: AuthUser,
    list: Related,
    window: Window,
    limit: u64,
) -> Result<Vec<(Uuid, User)>, AppError> {
    let rows = store::list_related_in_window(&state.db, user.user_id, list, window, limit).await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.user.id).collect();
    let relations = store::relations(&state.db, Some(user.user_id), &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.relation_id,
                User::from_model(row.user, &relations, state),
            )
        })
        .collect())
}

/// `user`'s relations to `ids`, with whether each asks to follow `user` (`requested_by`),
/// in one statement.
pub async fn relationships(
    state: &AppState,
    user: AuthUser,
    ids: &[Uuid],
) -> Result<Relations, AppError> {
    Ok(store::relationships(&state.db, Some(user.user_id), ids).await?)
}
