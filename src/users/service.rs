//! The rules of profiles, user search and the follow graph, for every API. Each function
//! takes the actor and validated inputs, owns its transaction and returns a domain value or
//! the error to answer.

use uuid::Uuid;

use super::domain::{self, Username};
use super::entity::user;
pub use super::store::FollowList;
use super::store::{self, ProfileChanges};
use super::{Me, Relations, User};
use crate::auth::{AuthUser, Viewer};
use crate::db;
use crate::error::{AppError, FieldError, is_foreign_key_violation, is_unique_violation};
use crate::media;
use crate::pagination::{PageRequest, PageResponse, encode_cursor};
use crate::state::AppState;

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

    let account = current_account(state, user).await?;
    if let Some(username) = &changes.username {
        if *username == account.username {
            changes.username = None;
        } else if store::username_exists(&state.db, username).await? {
            return Err(username_taken());
        }
    }
    store::update_profile(&state.db, account.id, changes)
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
    let media_keys = db::write_transaction(&state.db, |transaction| {
        Box::pin(async move {
            let keys = crate::media::store::keys_of_owner(transaction, id).await?;
            store::delete_account(transaction, id).await?;
            Ok(keys)
        })
    })
    .await?;
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
        let viewer = viewer.settle(state, None).await?.map(|user| user.user_id);
        let rows = store::list_newest(&state.db, after, page.fetch_limit()).await?;
        let relations = store::relations(&state.db, viewer, &ids(&rows, |u| u.id)).await?;
        return Ok(page.finish(
            rows,
            |u| encode_cursor(&[&u.id.to_string()]),
            |u| User::from_model(u, &relations, state),
        ));
    };
    let (needle, after) = search_terms(q, page)?;
    let rows = store::search(&state.db, viewer, &needle, after, page.fetch_limit()).await?;
    let viewer = viewer
        .settle(state, rows.first().map(|row| row.viewer))
        .await?
        .map(|user| user.user_id);
    let relations = Relations::reported(
        viewer,
        rows.iter().map(|row| {
            let flag = |relation: Option<bool>| relation.unwrap_or(false);
            (row.user.id, flag(row.following), flag(row.followed_by))
        }),
    );
    Ok(page.finish(
        rows,
        |r| encode_cursor(&[&r.search_rank.to_string(), &r.user.username]),
        |r| User::from_model(r.user, &relations, state),
    ))
}

/// The folded needle and the cursor's position of a user search, or why they are invalid.
fn search_terms(q: &str, page: &PageRequest) -> Result<(String, Option<(i32, String)>), AppError> {
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
    let after = match page.after_parts::<2>()? {
        None => None,
        Some([rank, username]) => {
            let rank = rank.parse::<i32>().map_err(|_| invalid_cursor())?;
            let username = Username::parse(&username).map_err(|_| invalid_cursor())?;
            Some((rank, username.as_str().to_owned()))
        }
    };
    Ok((domain::fold_case(q), after))
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
    let relations = store::relations(&state.db, viewer.map(|v| v.user_id), &[found.id]).await?;
    Ok(User::from_model(found, &relations, state))
}

/// `user` follows `username`, once: a repeat keeps the first follow.
pub async fn follow(state: &AppState, user: AuthUser, username: &str) -> Result<(), AppError> {
    let target = find_user(state, username).await?;
    if target.id == user.user_id {
        return Err(AppError::Unprocessable {
            code: "cannot_follow_self",
            detail: "You cannot follow yourself.".into(),
        });
    }
    let (follower, followee, now) = (user.user_id, target.id, state.clock.now());
    db::write_transaction(&state.db, |transaction| {
        Box::pin(async move { store::follow(transaction, follower, followee, now).await })
    })
    .await
    .map_err(|error| {
        // One of the two accounts was deleted after it was looked up.
        if is_foreign_key_violation(&error) {
            AppError::not_found(format!("There is no user named {username:?}."))
        } else {
            error.into()
        }
    })?;
    Ok(())
}

/// `user` no longer follows `username` (whether or not they did).
pub async fn unfollow(state: &AppState, user: AuthUser, username: &str) -> Result<(), AppError> {
    let target = find_user(state, username).await?;
    let (follower, followee) = (user.user_id, target.id);
    db::write_transaction(&state.db, |transaction| {
        Box::pin(async move { store::unfollow(transaction, follower, followee).await })
    })
    .await?;
    Ok(())
}

/// Whose follows a list shows: an account by id (the viewer's own) or by username.
pub enum Subject<'a> {
    Id(Uuid),
    Username(&'a str),
}

/// The followers (or followees) of `subject`, most recent follow first, with their
/// relations to `viewer`.
pub async fn follows(
    state: &AppState,
    viewer: Option<AuthUser>,
    subject: Subject<'_>,
    list: FollowList,
    page: &PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let subject = match subject {
        Subject::Id(id) => id,
        Subject::Username(username) => find_user(state, username).await?.id,
    };
    let rows = store::list_follows(
        &state.db,
        subject,
        list,
        page.after_id()?,
        page.fetch_limit(),
    )
    .await?;
    let viewer = viewer.map(|v| v.user_id);
    let relations = store::relations(&state.db, viewer, &ids(&rows, |r| r.user.id)).await?;
    Ok(page.finish(
        rows,
        |r| encode_cursor(&[&r.follow_id.to_string()]),
        |r| User::from_model(r.user, &relations, state),
    ))
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
