//! `GET /api/v2/search`: accounts (Roost's user search), statuses (its full-text post
//! search) and hashtags (the tag named by the query, when posts carry it).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::entities::{Account, Status, Tag};
use super::paging::Paging;
use super::params::{QueryParams, lenient};
use super::scopes::MaybeCaller;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::pagination::MAX_LIMIT;
use crate::posts::domain::parse_tag_name;
use crate::posts::service as posts;
use crate::posts::store::{self as post_store, PostFilter, PostList};
use crate::state::AppState;
use crate::users::service as users;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v2/search", get(search))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type")]
    type_: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    offset: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    following: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Results {
    accounts: Vec<Account>,
    statuses: Vec<Status>,
    hashtags: Vec<Tag>,
}

async fn search(
    State(state): State<AppState>,
    caller: MaybeCaller,
    paging: Paging,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<Results>, AppError> {
    let user = caller.viewer_with("read:search")?;
    let viewer = user.map_or(Viewer::Anonymous, Viewer::Verified);
    let q = query.q.trim();
    let wants = |kind: &str| query.type_.as_deref().is_none_or(|type_| type_ == kind);
    let offset = query.offset.unwrap_or(0).min(MAX_LIMIT);
    let mut results = Results {
        accounts: Vec::new(),
        statuses: Vec::new(),
        hashtags: Vec::new(),
    };
    if q.is_empty() || q.chars().count() > 200 {
        return Ok(Json(results));
    }
    if wants("accounts") {
        let following = query.following == Some(true);
        let name = q.strip_prefix('@').unwrap_or(q);
        let found =
            users::search_ranked(&state, &viewer, name, offset, paging.limit, following).await?;
        results.accounts = found
            .iter()
            .map(|user| Account::from_user(&state, user))
            .collect();
    }
    if wants("statuses") {
        let words = post_store::query_words(q);
        if !words.is_empty() {
            let filter = PostFilter {
                words: Some(words),
                ..PostFilter::default()
            };
            // Keyset paging has no offset: read past it, within the largest page.
            let limit = (offset + paging.limit).min(MAX_LIMIT);
            let found = posts::in_window(
                &state,
                PostList::Filtered(filter),
                &viewer,
                paging.window(),
                limit,
            )
            .await?;
            results.statuses = found
                .iter()
                .skip(offset as usize)
                .map(|(_, post)| Status::from_post(&state, post, user.is_some()))
                .collect();
        }
    }
    if wants("hashtags")
        && offset == 0
        && let Some(name) = parse_tag_name(q)
    {
        let tag = posts::tag(&state, &name).await?;
        if tag.post_count > 0 {
            let mut found = Tag::new(&state, &tag.name);
            found.history = Some(Vec::new());
            results.hashtags.push(found);
        }
    }
    Ok(Json(results))
}
