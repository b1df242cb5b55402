//! The rules of profiles, user search and the follow graph, for every API. Each function
//! takes the actor and validated inputs, owns its transaction and returns a domain value or
//! the error to answer.

use uuid::Uuid;

use super::domain::{self, Username};
use super::entity::user;
use super::graph::{self, service::standing};
pub use super::store::FollowList;
use super::store::{self, ProfileChanges, SearchScope};
use super::{Me, RelationFlags, Relations, User};
use crate::auth::{AuthUser, Viewer};
use crate::db;
use crate::error::{AppError, FieldError, is_unique_violation};
use crate::media;
use crate::pagination::{PageRequest, PageResponse, Window, encode_cursor};
use crate::privacy;
use crate::state::AppState;
use crate::stream::{self, Signal};

/// The token's account; gone only if it was deleted since the token was checked.
async fn current_account(state: &AppState, user: AuthUser) -> Result<user::Model, AppError> {
    store::find_by_id(&state.db, user.user_id)
        .await?
        .ok_or_else(crate::auth::invalid_token)
}

/// The user named `username` (case-insensitively), or 404.
pub async fn find_user(state: &AppState, username: &str) -> Result<user::Model, AppError> {
    store::find_by_username(&state.db, username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user named {username:?}.")))
}

/// The account whose 64-bit number is `number` (the id of the Mastodon-compatible API,
/// see [`crate::db::ids`]), or 404.
pub async fn find_by_number(state: &AppState, number: i64) -> Result<user::Model, AppError> {
    store::find_by_number(&state.db, number)
        .await?
        .ok_or_else(|| AppError::not_found("There is no account with this id."))
}

/// The accounts whose numbers are among `numbers`, by number; unknown numbers are left
/// out. One statement whatever their count.
pub async fn find_by_numbers(
    state: &AppState,
    numbers: &[i64],
) -> Result<std::collections::HashMap<i64, user::Model>, AppError> {
    let mut found = std::collections::HashMap::new();
    // In id order: the first account of a shared number wins, as in `find_by_number`.
    for account in store::find_by_numbers(&state.db, numbers).await? {
        found
            .entry(crate::db::ids::number(account.id))
            .or_insert(account);
    }
    Ok(found)
}

/// The viewer's own account, checked with the token in one statement.
pub async fn me(state: &AppState, viewer: &Viewer) -> Result<Me, AppError> {
    let found = store::find_own_account(&state.db, viewer).await?;
    viewer
        .settle_required(state, found.as_ref().map(|found| found.viewer))
        .await?;
    let account = found.ok_or_else(crate::auth::invalid_token)?;
    Ok(Me::from_model(account.user, state))
}

/// A profile edit, as sent: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileEdit {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub locked: Option<bool>,
}

/// Applies `edit` to `user`'s profile, listing every broken rule at once.
pub async fn update_profile(
    state: &AppState,
    user: AuthUser,
    edit: &ProfileEdit,
) -> Result<Me, AppError> {
    let mut errors = Vec::new();
    let mut changes = ProfileChanges::default();
    if let Some(username) = &edit.username {
        match Username::parse(username) {
            Ok(username) => changes.username = Some(username.as_str().to_owned()),
            Err(message) => errors.push(FieldError::new("username", message)),
        }
    }
    let texts = [
        (
            "display_name",
            &edit.display_name,
            domain::DISPLAY_NAME_MAX,
            false,
            &mut changes.display_name,
        ),
        ("bio", &edit.bio, domain::BIO_MAX, true, &mut changes.bio),
        (
            "location",
            &edit.location,
            domain::LOCATION_MAX,
            false,
            &mut changes.location,
        ),
    ];
    for (field, value, max, multiline, target) in texts {
        if let Some(value) = value {
            match domain::profile_text(value, max, multiline) {
                Ok(value) => *target = Some(value),
                Err(message) => errors.push(FieldError::new(field, message)),
            }
        }
    }
    if let Some(website) = &edit.website {
        match domain::website(website) {
            Ok(website) => changes.website = Some(website),
            Err(message) => errors.push(FieldError::new("website", message)),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    changes.locked = edit.locked;

    let account = current_account(state, user).await?;
    if let Some(username) = &changes.username {
        if *username == account.username {
            changes.username = None;
        } else if store::username_exists(&state.db, username).await? {
            return Err(username_taken());
        }
    }
    // Unlocking accepts every pending request, in the same transaction: the update holds
    // the account's row, which every new request locks first.
    let (id, unlocking, now) = (account.id, changes.locked == Some(false), state.clock.now());
    db::write_transaction(&state.db, |transaction| {
        let changes = changes.clone();
        Box::pin(async move {
            store::update_profile(transaction, id, changes).await?;
            if unlocking {
                graph::store::accept_all_requests(transaction, id, now).await?;
            }
            Ok(())
        })
    })
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            username_taken()
        } else {
            error.into()
        }
    })?;
    let updated = current_account(state, user).await?;
    Ok(Me::from_model(updated, state))
}

pub fn username_taken() -> AppError {
    AppError::Conflict {
        code: "username_taken",
        detail: "This username is taken.".into(),
        field: "username",
    }
}

/// Deletes `user`'s account and everything it owns, once `password` is confirmed (a wrong
/// one counts as a failed login).
pub async fn delete_account(
    state: &AppState,
    user: AuthUser,
    password: String,
) -> Result<(), AppError> {
    let account = current_account(state, user).await?;
    let verified = crate::auth::throttle::verify_password(
        state,
        &account.email,
        password,
        Some(account.password_hash.clone()),
    )
    .await?;
    if !verified {
        return Err(AppError::forbidden(
            "invalid_password",
            "The password is wrong.",
        ));
    }
    let id = account.id;
    let (media_keys, posts, readers) = db::write_transaction(&state.db, |transaction| {
        Box::pin(async move {
            let keys = crate::media::store::keys_of_owner(transaction, id).await?;
            // Who had the posts in their stream, read while the follows still exist.
            let posts = stream::store::recent_posts_of(transaction, id).await?;
            let readers = stream::store::feed_recipients(transaction, id).await?;
            store::delete_account(transaction, id).await?;
            Ok((keys, posts, readers))
        })
    })
    .await?;
    for signal in Signal::posts_gone(&posts, &readers) {
        stream::emit(signal);
    }
    for key in media_keys {
        crate::media::remove_file(state, &key).await;
    }
    if let Some(key) = account.avatar_key {
        crate::media::remove_file(state, &key).await;
    }
    Ok(())
}

/// Every user, newest first (`q` is `None`), or the users matching `q`, ranked.
pub async fn search(
    state: &AppState,
    viewer: &Viewer,
    q: Option<&str>,
    page: &PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let Some(q) = q else {
        let after = page.after_id()?;
        let viewer = viewer.settle(state, None).await?;
        let rows =
            store::list_newest(&state.db, &as_viewer(viewer), after, page.fetch_limit()).await?;
        let viewer = viewer.map(|user| user.user_id);
        let relations = graph::relations(&state.db, viewer, &ids(&rows, |u| u.id)).await?;
        return Ok(page.finish(
            rows,
            |u| encode_cursor(&[&u.id.to_string()]),
            |u| User::from_model(u, &relations, state),
        ));
    };
    let (needle, after) = search_terms(q, page)?;
    let scope = SearchScope {
        after,
        ..SearchScope::default()
    };
    let rows = store::search(&state.db, viewer, &needle, &scope, page.fetch_limit()).await?;
    let relations = search_relations(state, viewer, &rows).await?;
    Ok(page.finish(
        rows,
        |r| encode_cursor(&[&r.search_rank.to_string(), &r.user.username]),
        |r| User::from_model(r.user, &relations, state),
    ))
}

/// Up to `limit` users matching `q`, ranked as [`search`] ranks them, after skipping
/// `offset`; with `following_only`, only those the viewer follows (none for an anonymous
/// viewer).
pub async fn search_ranked(
    state: &AppState,
    viewer: &Viewer,
    q: &str,
    offset: u64,
    limit: u64,
    following_only: bool,
) -> Result<Vec<User>, AppError> {
    let needle = search_needle(q)?;
    let scope = SearchScope {
        after: None,
        offset,
        following_only,
    };
    let rows = store::search(&state.db, viewer, &needle, &scope, limit).await?;
    let relations = search_relations(state, viewer, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|row| User::from_model(row.user, &relations, state))
        .collect())
}

/// The viewer (settled by what the search found) and their relations to the hits, which
/// the search's own statement read.
async fn search_relations(
    state: &AppState,
    viewer: &Viewer,
    rows: &[store::RankedUser],
) -> Result<Relations, AppError> {
    let viewer = viewer
        .settle(state, rows.first().map(|row| row.viewer))
        .await?
        .map(|user| user.user_id);
    Ok(Relations::new(
        viewer,
        rows.iter().map(|row| {
            let flag = |relation: Option<bool>| relation.unwrap_or(false);
            let flags = RelationFlags {
                following: flag(row.following),
                followed_by: flag(row.followed_by),
                requested: flag(row.requested),
                muting: flag(row.muting),
                // Search leaves out the accounts across a block.
                blocking: false,
                blocked_by: false,
                requested_by: false,
            };
            (row.user.id, flags)
        }),
    ))
}

/// The folded needle and the cursor's position of a user search, or why they are invalid.
fn search_terms(q: &str, page: &PageRequest) -> Result<(String, Option<(i32, String)>), AppError> {
    let needle = search_needle(q)?;
    let after = match page.after_parts::<2>()? {
        None => None,
        Some([rank, username]) => {
            let rank = rank.parse::<i32>().map_err(|_| invalid_cursor())?;
            let username = Username::parse(&username).map_err(|_| invalid_cursor())?;
            Some((rank, username.as_str().to_owned()))
        }
    };
    Ok((needle, after))
}

/// The folded needle of a user search, or why `q` is invalid.
fn search_needle(q: &str) -> Result<String, AppError> {
    let length = q.chars().count();
    if !(1..=100).contains(&length) {
        return Err(AppError::bad_request(
            "invalid_query",
            "`q` must be 1 to 100 characters long.",
        ));
    }
    if q.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_query",
            "`q` must not contain control characters.",
        ));
    }
    Ok(domain::fold_case(q))
}

fn invalid_cursor() -> AppError {
    AppError::bad_request(
        "invalid_cursor",
        "`cursor` is not a cursor this list issued.",
    )
}

fn ids<R>(rows: &[R], id: impl Fn(&R) -> Uuid) -> Vec<Uuid> {
    rows.iter().map(id).collect()
}

/// The profile of `username` as `viewer` sees it.
pub async fn profile(
    state: &AppState,
    viewer: Option<AuthUser>,
    username: &str,
) -> Result<User, AppError> {
    let found = find_user(state, username).await?;
    profile_of(state, viewer, found).await
}

/// The profile of `account` as `viewer` sees it.
pub async fn profile_of(
    state: &AppState,
    viewer: Option<AuthUser>,
    account: user::Model,
) -> Result<User, AppError> {
    let relations = graph::relations(&state.db, viewer.map(|v| v.user_id), &[account.id]).await?;
    Ok(User::from_model(account, &relations, state))
}

/// Whose follows a list shows: an account by id (the viewer's own) or by username.
pub enum Subject<'a> {
    Id(Uuid),
    Username(&'a str),
}

/// The followers (or followees) of `subject`, most recent follow first, with their
/// relations to `viewer`, without the accounts across a block from the viewer. Another
/// account's lists are 403 across a block, or when it is locked and the viewer does not
/// follow it ([`privacy::may_read_lists`]).
pub async fn follows(
    state: &AppState,
    viewer: Option<AuthUser>,
    subject: Subject<'_>,
    list: FollowList,
    page: &PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let after = page.after_id()?;
    let viewer_id = viewer.map(|v| v.user_id);
    let subject = match subject {
        Subject::Id(id) => id,
        Subject::Username(username) => readable_lists_of(state, viewer_id, username).await?.id,
    };
    let rows = store::list_follows(
        &state.db,
        &as_viewer(viewer),
        subject,
        list,
        Window::before(after),
        page.fetch_limit(),
    )
    .await?;
    let relations = graph::relations(&state.db, viewer_id, &ids(&rows, |r| r.user.id)).await?;
    Ok(page.finish(
        rows,
        |r| encode_cursor(&[&r.follow_id.to_string()]),
        |r| User::from_model(r.user, &relations, state),
    ))
}

/// Up to `limit` followers (or followees) of `account` whose follow is within `window`,
/// most recent follow first, each with the follow's id, under the rules of [`follows`].
pub async fn follows_in_window(
    state: &AppState,
    viewer: Option<AuthUser>,
    account: &user::Model,
    list: FollowList,
    window: Window,
    limit: u64,
) -> Result<Vec<(Uuid, User)>, AppError> {
    let viewer_id = viewer.map(|v| v.user_id);
    ensure_lists_readable(state, viewer_id, account).await?;
    let rows = store::list_follows(
        &state.db,
        &as_viewer(viewer),
        account.id,
        list,
        window,
        limit,
    )
    .await?;
    let relations = graph::relations(&state.db, viewer_id, &ids(&rows, |r| r.user.id)).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.follow_id, User::from_model(row.user, &relations, state)))
        .collect())
}

/// The account `username`, if `viewer` may read its posts and follow lists.
pub async fn readable_lists_of(
    state: &AppState,
    viewer: Option<Uuid>,
    username: &str,
) -> Result<user::Model, AppError> {
    let account = find_user(state, username).await?;
    ensure_lists_readable(state, viewer, &account).await?;
    Ok(account)
}

/// Whether `viewer` may read `account`'s posts and follow lists
/// ([`privacy::may_read_lists`]).
pub async fn ensure_lists_readable(
    state: &AppState,
    viewer: Option<Uuid>,
    account: &user::Model,
) -> Result<(), AppError> {
    privacy::may_read_lists(standing(state, viewer, account).await?)
}

/// A settled viewer as the actor of a statement.
fn as_viewer(user: Option<AuthUser>) -> Viewer {
    user.map_or(Viewer::Anonymous, Viewer::Verified)
}

/// Makes `image` (its bytes unchecked until now) `user`'s avatar, square-cropped and
/// re-encoded, and deletes the previous one's file.
pub async fn set_avatar(state: &AppState, user: AuthUser, image: Vec<u8>) -> Result<Me, AppError> {
    let image = media::process(state, image, media::pipeline::process_avatar).await?;
    let key = media::store(state, image).await?;
    let previous = match replace_avatar_key(state, user.user_id, Some(key.clone())).await {
        Ok(previous) => previous,
        Err(error) => {
            media::remove_file(state, &key).await;
            return Err(error);
        }
    };
    if let Some(previous) = previous {
        media::remove_file(state, &previous).await;
    }
    let account = store::find_by_id(&state.db, user.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("The account no longer exists."))?;
    Ok(Me::from_model(account, state))
}

/// Removes `user`'s avatar and its file; 404 when there is none.
pub async fn delete_avatar(state: &AppState, user: AuthUser) -> Result<(), AppError> {
    match replace_avatar_key(state, user.user_id, None).await? {
        Some(previous) => {
            media::remove_file(state, &previous).await;
            Ok(())
        }
        None => Err(AppError::not_found("You have no avatar.")),
    }
}

/// Sets the account's avatar key and returns the one it replaced. The row is locked for
/// the swap, so two concurrent uploads cannot both think they replaced the same file.
async fn replace_avatar_key(
    state: &AppState,
    id: Uuid,
    key: Option<String>,
) -> Result<Option<String>, AppError> {
    let transaction = db::begin_write(&state.db).await?;
    let previous = store::lock_avatar_key(&transaction, id)
        .await?
        .ok_or_else(crate::auth::invalid_token)?;
    store::set_avatar(&transaction, id, key).await?;
    transaction.commit().await?;
    Ok(previous)
}
