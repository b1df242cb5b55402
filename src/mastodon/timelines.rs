//! Timelines: home (Roost's feed), public (every post anyone may see: Roost's `/posts`)
//! and a hashtag's (Roost's tag list), each the same query as its Roost list.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use uuid::Uuid;

use super::entities::Status;
use super::paging::Paging;
use super::params::{QueryParams, lenient};
use super::scopes::{MaybeCaller, ScopedViewer};
use crate::auth::{AuthUser, Viewer};
use crate::error::AppError;
use crate::posts::Post;
use crate::posts::domain::parse_tag_name;
use crate::posts::service as posts;
use crate::posts::store::{PostFilter, PostList};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/timelines/home", get(home_timeline))
        .route("/api/v1/timelines/public", get(public_timeline))
        .route("/api/v1/timelines/tag/{hashtag}", get(tag_timeline))
}

/// Answers a page of posts as statuses, paged by their sort keys.
pub fn statuses_page(
    state: &AppState,
    paging: &Paging,
    found: Vec<(Uuid, Post)>,
    signed_in: bool,
) -> Response {
    let keys: Vec<Uuid> = found.iter().map(|(key, _)| *key).collect();
    let statuses: Vec<Status> = found
        .iter()
        .map(|(_, post)| Status::from_post(state, post, signed_in))
        .collect();
    paging.respond(statuses, &keys)
}

async fn list(
    state: &AppState,
    user: Option<AuthUser>,
    list: PostList,
    paging: &Paging,
) -> Result<Response, AppError> {
    let viewer = user.map_or(Viewer::Anonymous, Viewer::Verified);
    let found = posts::in_window(state, list, &viewer, paging.window(), paging.limit).await?;
    Ok(statuses_page(state, paging, found, user.is_some()))
}

/// The token is checked by the feed's own query, as on Roost's `/feed`.
async fn home_timeline(
    State(state): State<AppState>,
    reader: ScopedViewer,
    paging: Paging,
) -> Result<Response, AppError> {
    let viewer = reader.require_signed_in("read:statuses")?;
    let found = posts::in_window(
        &state,
        PostList::HomeFeed,
        &viewer,
        paging.window(),
        paging.limit,
    )
    .await?;
    Ok(statuses_page(&state, &paging, found, true))
}

#[derive(Debug, Deserialize)]
struct PublicQuery {
    /// Every account is local here, so `local` changes nothing.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[allow(dead_code)]
    local: Option<bool>,
    /// Only remote posts: there are none.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    remote: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    only_media: Option<bool>,
}

async fn public_timeline(
    State(state): State<AppState>,
    caller: MaybeCaller,
    paging: Paging,
    QueryParams(query): QueryParams<PublicQuery>,
) -> Result<Response, AppError> {
    let user = caller.viewer_with("read:statuses")?;
    if query.remote == Some(true) {
        return Ok(statuses_page(&state, &paging, Vec::new(), user.is_some()));
    }
    let filter = PostFilter {
        only_media: query.only_media == Some(true),
        ..PostFilter::default()
    };
    list(&state, user, PostList::Filtered(filter), &paging).await
}

async fn tag_timeline(
    State(state): State<AppState>,
    caller: MaybeCaller,
    paging: Paging,
    Path(hashtag): Path<String>,
    QueryParams(query): QueryParams<PublicQuery>,
) -> Result<Response, AppError> {
    let user = caller.viewer_with("read:statuses")?;
    // A name that cannot be a tag has no posts.
    let Some(tag) = parse_tag_name(&hashtag) else {
        return Ok(statuses_page(&state, &paging, Vec::new(), user.is_some()));
    };
    if query.remote == Some(true) {
        return Ok(statuses_page(&state, &paging, Vec::new(), user.is_some()));
    }
    let filter = PostFilter {
        tag: Some(tag),
        only_media: query.only_media == Some(true),
        ..PostFilter::default()
    };
    list(&state, user, PostList::Filtered(filter), &paging).await
}
