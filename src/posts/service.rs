//! The rules of posts, written once for every API: creating (idempotently, with media),
//! reading, editing and deleting a post, and every list of posts (feed, tag, author,
//! search, likes). Each function takes the actor and validated inputs, owns its
//! transaction and returns a domain value or the error to answer.

use uuid::Uuid;

use super::domain::{Content, Draft, hashtags, mentions, parse_tag_name};
use super::store::{self, PostFilter, PostList, PostRow};
use super::{Post, Tag};
use crate::auth::{AuthUser, Viewer, ensure_owner};
use crate::db::{self, new_id};
use crate::error::AppError;
use crate::idempotency::{self, Created, IdempotencyKey, Outcome};
use crate::media::{self, store as media_store};
use crate::notifications;
use crate::pagination::{PageRequest, PageResponse, Window, encode_cursor};
use crate::privacy::Visibility;
use crate::state::AppState;
use crate::stream::{self, Signal};
use crate::users;

pub fn not_found() -> AppError {
    AppError::not_found("There is no post with this id.")
}

fn tag_not_found() -> AppError {
    AppError::not_found("A tag name has only letters, digits and `_`.")
}

/// Parses a post id from a path: anything that is not one of our ids names no post.
pub fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

/// The id and author of a post the viewer may see, or 404 (for what hangs off a post:
/// likes, comments, edits). A post hidden from the viewer does not exist for them.
pub async fn visible(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> Result<(Uuid, Uuid), AppError> {
    let id = parse_id(id)?;
    let found = store::visible_author(&state.db, id, viewer).await?;
    viewer
        .settle(state, found.as_ref().map(|found| found.viewer))
        .await?;
    let found = found.ok_or_else(not_found)?;
    Ok((id, found.author_id))
}

/// The id of `user`'s own post `id`: 404 when it does not exist or is hidden from them,
/// 403 when it is someone else's.
async fn own(state: &AppState, user: AuthUser, id: &str) -> Result<Uuid, AppError> {
    let (id, author) = visible(state, &Viewer::Verified(user), id).await?;
    ensure_owner(author, user, "post")?;
    Ok(id)
}

/// The accounts `content` mentions, by id, in order of first appearance.
pub async fn mentioned(
    db: &impl sea_orm::ConnectionTrait,
    content: &str,
) -> Result<Vec<Uuid>, sea_orm::DbErr> {
    store::resolve_mentions(db, &mentions(content)).await
}

/// Publishes `draft` as a post by `author`. With an idempotency key, a retry answers the
/// post the first request created (see [`idempotency::create_once`]).
pub async fn create(
    state: &AppState,
    author: AuthUser,
    draft: Draft,
    key: Option<&IdempotencyKey>,
) -> Result<Post, AppError> {
    let fingerprint = idempotency::fingerprint(&draft.fingerprint_parts());
    let now = state.clock.now();
    let outcome = idempotency::create_once(
        state,
        author.user_id,
        key,
        &fingerprint,
        Created::Post,
        move |transaction| {
            Box::pin(async move {
                let id = new_id();
                let tags = hashtags(draft.content.as_str());
                let mentions = mentioned(transaction, draft.content.as_str()).await?;
                store::insert(
                    transaction,
                    store::NewPost {
                        id,
                        author_id: author.user_id,
                        content: draft.content.into_inner(),
                        visibility: draft.visibility,
                        tags,
                        mentions: mentions.clone(),
                        created_at: now,
                    },
                )
                .await?;
                media_store::attach(transaction, id, author.user_id, &draft.media_ids)
                    .await?
                    .map_err(|media_store::AttachError::Unavailable(id)| media::unavailable(id))?;
                notifications::notify_mentions(
                    transaction,
                    author.user_id,
                    id,
                    None,
                    &mentions,
                    now,
                )
                .await?;
                Ok((Created::Post(id), id))
            })
        },
    )
    .await?;
    let id = match outcome {
        Outcome::New(id) => {
            stream::emit(Signal::Post {
                id,
                author: author.user_id,
            });
            id
        }
        Outcome::Replay(Created::Post(id) | Created::Schedule(id)) => id,
    };
    get_by_id(state, &Viewer::Verified(author), id).await
}

/// One post as `viewer` sees it, or 404.
pub async fn get(state: &AppState, viewer: &Viewer, id: &str) -> Result<Post, AppError> {
    get_by_id(state, viewer, parse_id(id)?).await
}

/// The post whose 64-bit number is `number` (see [`crate::db::ids`]) as `viewer` sees it,
/// or `None` when there is none or it is hidden from them: one statement, the token
/// lookup included.
pub async fn get_by_number(
    state: &AppState,
    viewer: &Viewer,
    number: i64,
) -> Result<Option<Post>, AppError> {
    let row = store::find_by_number(&state.db, number, viewer).await?;
    viewer
        .settle(state, row.as_ref().map(|row| row.viewer))
        .await?;
    match row {
        Some(row) => Ok(Some(posts_from_rows(state, vec![row]).await?.remove(0))),
        None => Ok(None),
    }
}

async fn get_by_id(state: &AppState, viewer: &Viewer, id: Uuid) -> Result<Post, AppError> {
    let row = store::find(&state.db, id, viewer).await?;
    viewer
        .settle(state, row.as_ref().map(|row| row.viewer))
        .await?;
    let row = row.ok_or_else(not_found)?;
    Ok(posts_from_rows(state, vec![row]).await?.remove(0))
}

/// Changes the content (its tags and mentions follow) and/or the visibility of `user`'s
/// own post `id`; its media stay, so the content may be empty only if it has some.
pub async fn update(
    state: &AppState,
    user: AuthUser,
    id: &str,
    content: Option<&str>,
    visibility: Option<Visibility>,
) -> Result<Post, AppError> {
    if content.is_none() && visibility.is_none() {
        return Err(AppError::validation(
            "content",
            "is required unless `visibility` is given",
        ));
    }
    let id = own(state, user, id).await?;
    let content = match content {
        None => None,
        Some(content) => {
            let has_media = !media_store::for_posts(&state.db, &[id]).await?.is_empty();
            let content = if has_media {
                Content::parse_allow_empty(content)
            } else {
                Content::parse(content)
            }
            .map_err(|message| AppError::validation("content", message))?;
            Some(content.into_inner())
        }
    };
    let now = state.clock.now();
    let transaction = db::begin_write(&state.db).await?;
    let change = match content {
        None => None,
        Some(content) => Some(store::ContentChange {
            tags: hashtags(&content),
            mentions: mentioned(&transaction, &content).await?,
            content,
        }),
    };
    let mentions = change.as_ref().map(|change| change.mentions.clone());
    store::update(&transaction, id, change, visibility, now).await?;
    if let Some(mentions) = mentions {
        notifications::renotify_mentions(&transaction, user.user_id, id, None, &mentions, now)
            .await?;
    }
    transaction.commit().await?;
    stream::emit(Signal::PostUpdate {
        event: new_id(),
        id,
        author: user.user_id,
    });
    get_by_id(state, &Viewer::Verified(user), id).await
}

/// Deletes `user`'s own post `id` with everything attached to it, files included.
pub async fn delete(state: &AppState, user: AuthUser, id: &str) -> Result<(), AppError> {
    let id = own(state, user, id).await?;
    let transaction = db::begin_write(&state.db).await?;
    let keys = media_store::keys_of_posts(&transaction, &[id]).await?;
    if !store::delete(&transaction, id, user.user_id).await? {
        transaction.rollback().await?;
        return Err(not_found());
    }
    transaction.commit().await?;
    stream::emit(Signal::PostDelete {
        event: new_id(),
        id,
        author: user.user_id,
    });
    for key in keys {
        media::remove_file(state, &key).await;
    }
    Ok(())
}

/// What `GET /posts` asks for, as sent: every filter optional, all applying together.
#[derive(Debug, Default, Clone)]
pub struct Search {
    pub tag: Option<String>,
    pub author: Option<String>,
    pub q: Option<String>,
}

/// Every post matching `search`, newest first.
pub async fn search(
    state: &AppState,
    viewer: &Viewer,
    search: &Search,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    // Checked up front, so a bad cursor is a 400 even when the answer is known to be empty.
    page.after_id()?;
    let mut filter = PostFilter::default();
    if let Some(tag) = &search.tag {
        filter.tag = Some(parse_tag_name(tag).ok_or_else(|| {
            AppError::bad_request(
                "invalid_query",
                "`tag` must be letters, digits and `_` (an optional leading `#`).",
            )
        })?);
    }
    let mut known_empty = false;
    if let Some(q) = &search.q {
        let length = q.chars().count();
        if !(1..=200).contains(&length) || q.contains('\0') {
            return Err(AppError::bad_request(
                "invalid_query",
                "`q` must be 1 to 200 characters long.",
            ));
        }
        let words = store::query_words(q);
        // Nothing to match: no post contains "no word".
        known_empty |= words.is_empty();
        filter.words = Some(words);
    }
    if let Some(author) = &search.author {
        match users::store::find_by_username(&state.db, author).await? {
            Some(author) => filter.author = Some(author.id),
            None => known_empty = true,
        }
    }
    if known_empty {
        viewer.settle(state, None).await?;
        return Ok(page.respond(Vec::new(), None));
    }
    page_of_posts(state, PostList::Filtered(filter), viewer, page).await
}

/// `viewer`'s home feed: their own posts and those of everyone they follow, newest first.
pub async fn home_feed(
    state: &AppState,
    viewer: &Viewer,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    page_of_posts(state, PostList::HomeFeed, viewer, page).await
}

/// The posts carrying the tag `name`, newest first.
pub async fn with_tag(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    let filter = PostFilter {
        tag: Some(parse_tag_name(name).ok_or_else(tag_not_found)?),
        ..PostFilter::default()
    };
    page_of_posts(state, PostList::Filtered(filter), viewer, page).await
}

/// The posts of the user `username` that the viewer may see, newest first (a muted
/// author's included: this is their profile); 404 for an unknown user, 403 across a block
/// or for a locked account the viewer does not follow.
pub async fn by_username(
    state: &AppState,
    viewer: &Viewer,
    username: &str,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    page.after_id()?;
    let settled = viewer.settle(state, None).await?;
    let author =
        users::service::readable_lists_of(state, settled.map(|user| user.user_id), username)
            .await?;
    let viewer = settled.map_or(Viewer::Anonymous, Viewer::Verified);
    by_author(state, &viewer, author.id, page).await
}

/// The posts of `author` that the viewer may see, newest first.
pub async fn by_author(
    state: &AppState,
    viewer: &Viewer,
    author: Uuid,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    let filter = PostFilter {
        author: Some(author),
        include_muted: true,
        ..PostFilter::default()
    };
    page_of_posts(state, PostList::Filtered(filter), viewer, page).await
}

/// The posts `user` liked, most recently liked first.
pub async fn liked_by(
    state: &AppState,
    user: AuthUser,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    let list = PostList::LikedBy(user.user_id);
    page_of_posts(state, list, &Viewer::Verified(user), page).await
}

/// A hashtag and how many posts carry it; 404 for a name that cannot be a tag.
pub async fn tag(state: &AppState, name: &str) -> Result<Tag, AppError> {
    let name = parse_tag_name(name).ok_or_else(tag_not_found)?;
    let post_count = store::tag_post_count(&state.db, &name).await?;
    Ok(Tag { name, post_count })
}

/// One page of any post list: the one listing query (which also checks the viewer's
/// token), then hydration.
async fn page_of_posts(
    state: &AppState,
    list: PostList,
    viewer: &Viewer,
    page: &PageRequest,
) -> Result<PageResponse<Post>, AppError> {
    let window = Window::before(page.after_id()?);
    let rows = store::list(&state.db, &list, viewer, window, page.fetch_limit()).await?;
    viewer
        .settle(state, rows.first().map(|row| row.viewer))
        .await?;
    let (rows, next_cursor) =
        page.take_page(rows, |row| encode_cursor(&[&row.sort_key.to_string()]));
    let posts = posts_from_rows(state, rows).await?;
    Ok(page.respond(posts, next_cursor))
}

/// Up to `limit` posts of `list` within `window`, newest first, each with its sort key:
/// the same query and checks as a page, for callers that page by bounds rather than
/// cursors (the Mastodon-compatible API).
pub async fn in_window(
    state: &AppState,
    list: PostList,
    viewer: &Viewer,
    window: Window,
    limit: u64,
) -> Result<Vec<(Uuid, Post)>, AppError> {
    let rows = store::list(&state.db, &list, viewer, window, limit).await?;
    viewer
        .settle(state, rows.first().map(|row| row.viewer))
        .await?;
    let keys: Vec<Uuid> = rows.iter().map(|row| row.sort_key).collect();
    let posts = posts_from_rows(state, rows).await?;
    Ok(keys.into_iter().zip(posts).collect())
}

/// The posts among `ids` that the viewer may see, by id (hydrated together).
pub async fn by_ids(
    state: &AppState,
    viewer: &Viewer,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Post>, AppError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows = store::find_many(&state.db, ids, viewer).await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let posts = posts_from_rows(state, rows).await?;
    Ok(ids.into_iter().zip(posts).collect())
}

/// Completes rows into posts (at most one more query, for images), keeping their order.
pub async fn posts_from_rows(state: &AppState, rows: Vec<PostRow>) -> Result<Vec<Post>, AppError> {
    let mut extras = store::hydrate(&state.db, &rows).await?;
    Ok(rows
        .into_iter()
        .map(|row| Post::from_row(row, &mut extras, state))
        .collect())
}
