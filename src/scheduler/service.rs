//! The rules of scheduled posts, for every API: a schedule is a [`Draft`] with a
//! `publish_at` in the coming year, written by the same path as a post (idempotency key,
//! media), visible to its author only, and editable or cancellable until the publisher takes
//! it.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{ScheduledPost, entity as scheduled, publisher, store};
use crate::auth::AuthUser;
use crate::db::{self, new_id};
use crate::error::{AppError, FieldError};
use crate::idempotency::{self, Created, IdempotencyKey, Outcome};
use crate::media::{self, store as media_store};
use crate::pagination::{PageRequest, PageResponse, encode_cursor};
use crate::posts::domain::{Content, Draft};
use crate::privacy::Visibility;
use crate::state::AppState;

/// How far ahead a post may be scheduled.
pub const MAX_AHEAD: TimeDelta = TimeDelta::days(365);

pub fn not_found() -> AppError {
    AppError::not_found("You have no scheduled post with this id.")
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

/// Parses `publish_at`: an RFC 3339 timestamp with any offset, in the future and at most
/// 365 days ahead of `now`.
fn parse_publish_at(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(input.trim())
        .map_err(|_| "must be an RFC 3339 timestamp, e.g. 2026-12-24T18:00:00Z".to_owned())?
        .with_timezone(&Utc);
    // Both databases keep microseconds and no leap seconds: answer with exactly what will
    // be stored (a leap second becomes the next second's start).
    let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
    if at <= now {
        return Err("must be in the future".into());
    }
    if at > now + MAX_AHEAD {
        return Err("must be at most 365 days ahead".into());
    }
    Ok(at)
}

/// What a new schedule says, as sent: parsed by [`create`] with every broken rule listed.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub content: String,
    pub media_ids: Option<Vec<String>>,
    pub publish_at: String,
    pub visibility: Option<Visibility>,
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ScheduleChanges {
    pub content: Option<String>,
    /// Replaces the reserved media; `Some([])` releases them all.
    pub media_ids: Option<Vec<String>>,
    pub publish_at: Option<String>,
    pub visibility: Option<Visibility>,
}

/// Loads one schedule with its media, as the API shows it.
async fn load(state: &AppState, model: scheduled::Model) -> Result<ScheduledPost, AppError> {
    let media = media_store::for_schedules(&state.db, &[model.id]).await?;
    let media = media.get(&model.id).map(Vec::as_slice).unwrap_or_default();
    Ok(ScheduledPost::from_model(model, media, state))
}

/// Schedules a post by `author`. With an idempotency key, a retry answers the schedule the
/// first request created, or 404 when it has been published or cancelled since.
pub async fn create(
    state: &AppState,
    author: AuthUser,
    new: NewSchedule,
    key: Option<&IdempotencyKey>,
) -> Result<ScheduledPost, AppError> {
    let now = state.clock.now();
    let mut errors = Vec::new();
    let draft = Draft::parse(
        &new.content,
        new.media_ids.as_deref(),
        new.visibility,
        &mut errors,
    );
    let publish_at = parse_publish_at(&new.publish_at, now)
        .map_err(|message| errors.push(FieldError::new("publish_at", message)));
    let (Some(draft), Ok(publish_at)) = (draft, publish_at) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let publish_at_text = publish_at.to_rfc3339();
    let mut parts = vec![b"schedule".as_slice(), publish_at_text.as_bytes()];
    parts.extend(draft.fingerprint_parts());
    let fingerprint = idempotency::fingerprint(&parts);
    let outcome = idempotency::create_once(
        state,
        author.user_id,
        key,
        &fingerprint,
        Created::Schedule,
        move |transaction| {
            Box::pin(async move {
                let model = scheduled::Model {
                    id: new_id(),
                    author_id: author.user_id,
                    content: draft.content.into_inner(),
                    publish_at,
                    created_at: now,
                    visibility: draft.visibility.as_str().to_owned(),
                };
                store::insert(transaction, model.clone()).await?;
                media_store::reserve(transaction, model.id, author.user_id, &draft.media_ids)
                    .await?
                    .map_err(|media_store::AttachError::Unavailable(id)| media::unavailable(id))?;
                // Read inside the transaction: a schedule due very soon may be published
                // (and its media handed to the post) as soon as this commits.
                let mut media = media_store::for_schedules(transaction, &[model.id]).await?;
                let attached = media.remove(&model.id).unwrap_or_default();
                Ok((Created::Schedule(model.id), (model, attached)))
            })
        },
    )
    .await?;
    match outcome {
        Outcome::New((model, media)) => {
            publisher::wake(&state.publisher_wake);
            Ok(ScheduledPost::from_model(model, &media, state))
        }
        Outcome::Replay(Created::Schedule(id) | Created::Post(id)) => {
            let model = store::find_owned(&state.db, id, author.user_id)
                .await?
                .ok_or_else(|| {
                    AppError::not_found(
                        "The schedule created with this key has since been published or cancelled.",
                    )
                })?;
            load(state, model).await
        }
    }
}

/// One page of `user`'s schedules, soonest first.
pub async fn list(
    state: &AppState,
    user: AuthUser,
    page: &PageRequest,
) -> Result<PageResponse<ScheduledPost>, AppError> {
    let invalid = || {
        AppError::bad_request(
            "invalid_cursor",
            "`cursor` is not a cursor this list issued.",
        )
    };
    let after = match page.after_parts::<2>()? {
        None => None,
        Some([at, id]) => Some((
            DateTime::parse_from_rfc3339(&at)
                .map_err(|_| invalid())?
                .with_timezone(&Utc),
            Uuid::parse_str(&id).map_err(|_| invalid())?,
        )),
    };
    let rows = store::list(&state.db, user.user_id, after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.take_page(rows, |row| {
        encode_cursor(&[&row.publish_at.to_rfc3339(), &row.id.to_string()])
    });
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let media = media_store::for_schedules(&state.db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let attached = media.get(&row.id).map(Vec::as_slice).unwrap_or_default();
            ScheduledPost::from_model(row, attached, state)
        })
        .collect();
    Ok(page.respond(items, next_cursor))
}

/// One of `user`'s schedules; anyone else's is a 404.
pub async fn get(state: &AppState, user: AuthUser, id: &str) -> Result<ScheduledPost, AppError> {
    let model = store::find_owned(&state.db, parse_id(id)?, user.user_id)
        .await?
        .ok_or_else(not_found)?;
    load(state, model).await
}

/// Edits one of `user`'s schedules. An edit racing the publisher either lands before
/// publication or finds the schedule gone (404).
pub async fn update(
    state: &AppState,
    user: AuthUser,
    id: &str,
    changes: ScheduleChanges,
) -> Result<ScheduledPost, AppError> {
    let id = parse_id(id)?;
    let now = state.clock.now();
    let mut errors = Vec::new();
    let media_ids = changes
        .media_ids
        .as_deref()
        .map(|raw| media::parse_media_ids(raw, &mut errors));
    let publish_at = match &changes.publish_at {
        Some(raw) => match parse_publish_at(raw, now) {
            Ok(at) => Some(at),
            Err(message) => {
                errors.push(FieldError::new("publish_at", message));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }

    let transaction = db::begin_write(&state.db).await?;
    let current = store::lock_owned(&transaction, id, user.user_id)
        .await?
        .ok_or_else(not_found)?;
    let has_media = match &media_ids {
        Some(ids) => !ids.is_empty(),
        None => media_store::for_schedules(&transaction, &[id])
            .await?
            .contains_key(&id),
    };
    let raw_content = changes.content.as_deref().unwrap_or(&current.content);
    let content = if has_media {
        Content::parse_allow_empty(raw_content)
    } else {
        Content::parse(raw_content)
    }
    .map_err(|message| AppError::validation("content", message))?;
    if let Some(ids) = &media_ids {
        media_store::release(&transaction, id).await?;
        if let Err(media_store::AttachError::Unavailable(media_id)) =
            media_store::reserve(&transaction, id, user.user_id, ids).await?
        {
            transaction.rollback().await?;
            return Err(media::unavailable(media_id));
        }
    }
    store::update(
        &transaction,
        id,
        Some(content.into_inner()),
        publish_at,
        changes.visibility,
    )
    .await?;
    // The answer is read inside the transaction: once it commits, the publisher may take
    // the schedule at any moment, and the edit must still be reported as applied.
    let model = store::find_owned(&transaction, id, user.user_id)
        .await?
        .ok_or_else(not_found)?;
    let media = media_store::for_schedules(&transaction, &[id]).await?;
    let edited = ScheduledPost::from_model(
        model,
        media.get(&id).map(Vec::as_slice).unwrap_or_default(),
        state,
    );
    transaction.commit().await?;
    publisher::wake(&state.publisher_wake);
    Ok(edited)
}

/// Cancels one of `user`'s schedules, releasing its media.
pub async fn delete(state: &AppState, user: AuthUser, id: &str) -> Result<(), AppError> {
    let id = parse_id(id)?;
    let transaction = db::begin_write(&state.db).await?;
    if store::lock_owned(&transaction, id, user.user_id)
        .await?
        .is_none()
    {
        transaction.rollback().await?;
        return Err(not_found());
    }
    media_store::release(&transaction, id).await?;
    store::delete(&transaction, id).await?;
    transaction.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_at_must_be_future_and_within_a_year() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(parse_publish_at("2026-11-28T12:00:01Z", now).is_ok());
        assert!(parse_publish_at("2026-11-28T12:00:00Z", now).is_err());
        assert!(parse_publish_at("2026-11-28T11:00:00Z", now).is_err());
        assert!(parse_publish_at("2027-11-28T12:00:00Z", now).is_ok());
        assert!(parse_publish_at("2027-11-28T12:00:01Z", now).is_err());
        assert!(parse_publish_at("tomorrow", now).is_err());
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = parse_publish_at("2026-11-28T14:00:00+01:00", now).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-28T13:00:00+00:00");
    }
}
