//! Accounts and relationships: the signed-in account (`verify_credentials`,
//! `update_credentials`), profiles by id, `lookup` and `search`, an account's statuses,
//! followers and following, relationships, follows, blocks, mutes and follow requests.
//!
//! Each handler adapts one call of [`crate::users`] (profiles, search, the follow graph)
//! or [`crate::posts`] (an account's posts): who may read an account's lists, who may
//! follow whom, blocks and mutes are theirs. Mastodon names accounts by id where Roost
//! names them by username; [`account`] finds the account an id names.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::entities::{Account, Relationship, Status};
use super::paging::{AccountPaging, Paging};
use super::params::{Params, QueryParams, WithFiles, lenient};
use super::scopes::{Caller, MaybeCaller, ScopedViewer};
use crate::auth::{AuthUser, Viewer};
use crate::db::ids;
use crate::error::{AppError, FieldError};
use crate::posts::store::{PostFilter, PostList};
use crate::state::AppState;
use crate::users::entity::user;
use crate::users::graph::service as graph;
use crate::users::graph::store::Related;
use crate::users::service::{self as users, FollowList, ProfileEdit};

pub fn router() -> Router<AppState> {
    // `update_credentials` takes images: the JSON body limit must not cut them short, and
    // the handler applies the image limit itself.
    let credentials = patch(update_credentials)
        .put(update_credentials)
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route(
            "/api/v1/accounts/verify_credentials",
            get(verify_credentials),
        )
        .route("/api/v1/accounts/update_credentials", credentials)
        .route("/api/v1/accounts/lookup", get(lookup_account))
        .route("/api/v1/accounts/search", get(search_accounts))
        .route("/api/v1/accounts/relationships", get(relationships))
        .route("/api/v1/accounts/{id}", get(get_account))
        .route("/api/v1/accounts/{id}/statuses", get(account_statuses))
        .route("/api/v1/accounts/{id}/followers", get(list_followers))
        .route("/api/v1/accounts/{id}/following", get(list_following))
        .route("/api/v1/accounts/{id}/follow", post(follow_account))
        .route("/api/v1/accounts/{id}/unfollow", post(unfollow_account))
        .route(
            "/api/v1/accounts/{id}/remove_from_followers",
            post(remove_from_followers),
        )
        .route("/api/v1/accounts/{id}/block", post(block_account))
        .route("/api/v1/accounts/{id}/unblock", post(unblock_account))
        .route("/api/v1/accounts/{id}/mute", post(mute_account))
        .route("/api/v1/accounts/{id}/unmute", post(unmute_account))
        .route("/api/v1/blocks", get(list_blocks))
        .route("/api/v1/mutes", get(list_mutes))
        .route("/api/v1/follow_requests", get(list_follow_requests))
        .route(
            "/api/v1/follow_requests/{id}/authorize",
            post(authorize_follow_request),
        )
        .route(
            "/api/v1/follow_requests/{id}/reject",
            post(reject_follow_request),
        )
}

/// The account a Mastodon id names; 404 when it is not a number or names no account.
async fn account(state: &AppState, id: &str) -> Result<user::Model, AppError> {
    let number = ids::parse_number(id)
        .ok_or_else(|| AppError::not_found("There is no account with this id."))?;
    users::find_by_number(state, number).await
}

/// The caller's relationship with `account`, as it stands now.
async fn relationship(
    state: &AppState,
    user: AuthUser,
    account: Uuid,
) -> Result<Json<Relationship>, AppError> {
    let relations = graph::relationships(state, user, &[account]).await?;
    let flags = relations.of(account).unwrap_or_default();
    Ok(Json(Relationship::new(account, flags, flags.requested_by)))
}

fn as_viewer(user: Option<AuthUser>) -> Viewer {
    user.map_or(Viewer::Anonymous, Viewer::Verified)
}

// ---------------------------------------------------------------------------------------
// The signed-in account
// ---------------------------------------------------------------------------------------

async fn verify_credentials(
    State(state): State<AppState>,
    reader: ScopedViewer,
) -> Result<Json<Account>, AppError> {
    // The token is checked by the account's own query, as on Roost's `/me`.
    let viewer = reader.require_signed_in("profile")?;
    let me = users::me(&state, &viewer).await?;
    Ok(Json(Account::credential(&state, &me.user)))
}

/// The parameters of `update_credentials` that Roost keeps; the others (`bot`,
/// `discoverable`, `fields_attributes`, `source[…]` …) are accepted and ignored, and so is
/// a `header` image.
#[derive(Debug, Deserialize)]
struct CredentialsUpdate {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    display_name: Option<String>,
    /// Roost's bio.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    note: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    locked: Option<bool>,
}

/// Room for the multipart framing and the text fields beside the images.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

async fn update_credentials(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Json<Account>, AppError> {
    let user = caller.require("write:accounts")?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    // Up to two images (avatar and header) in a multipart body; a body of text fields
    // keeps the JSON limit.
    let limit = if is_multipart {
        2 * state.config.max_image_bytes + MULTIPART_OVERHEAD
    } else {
        state.config.json_body_limit
    };
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    let WithFiles { params, files } =
        WithFiles::<CredentialsUpdate>::from_request(request, &state).await?;
    let mut avatars = files.into_iter().filter(|file| file.field == "avatar");
    let avatar = avatars.next();
    if avatars.next().is_some() {
        return Err(AppError::Validation(vec![FieldError::new(
            "avatar",
            "must be sent only once",
        )]));
    }
    if avatar
        .as_ref()
        .is_some_and(|file| file.bytes.len() > state.config.max_image_bytes)
    {
        return Err(AppError::PayloadTooLarge {
            detail: format!(
                "The avatar is over the size limit of {} bytes.",
                state.config.max_image_bytes
            ),
        });
    }
    let edit = ProfileEdit {
        display_name: params.display_name,
        bio: params.note,
        locked: params.locked,
        ..ProfileEdit::default()
    };
    if edit.display_name.is_some() || edit.bio.is_some() || edit.locked.is_some() {
        users::update_profile(&state, user, &edit).await?;
    }
    if let Some(avatar) = avatar {
        users::set_avatar(&state, user, avatar.bytes.to_vec()).await?;
    }
    let me = users::me(&state, &Viewer::Verified(user)).await?;
    Ok(Json(Account::credential(&state, &me.user)))
}

// ---------------------------------------------------------------------------------------
// Finding accounts
// ---------------------------------------------------------------------------------------

async fn get_account(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<String>,
) -> Result<Json<Account>, AppError> {
    let found = account(&state, &id).await?;
    let profile = users::profile_of(&state, caller.viewer_with("read:accounts")?, found).await?;
    Ok(Json(Account::from_user(&state, &profile)))
}

/// The username an `acct` (`name`, `@name`, `name@host`) names on this server: `None`
/// for another server's account (Roost does not federate).
fn local_username<'a>(state: &AppState, acct: &'a str) -> Option<&'a str> {
    let ours = [
        state.config.mastodon_public_url.as_str(),
        state.config.public_url.as_str(),
    ];
    username_in(acct, &ours)
}

/// The username of `acct` when it has no host or one of the hosts of `ours` (base URLs),
/// with or without its port.
fn username_in<'a>(acct: &'a str, ours: &[&str]) -> Option<&'a str> {
    let acct = acct.trim();
    let acct = acct.strip_prefix('@').unwrap_or(acct);
    let Some((name, host)) = acct.split_once('@') else {
        return Some(acct);
    };
    let is_ours = ours
        .iter()
        .filter_map(|base| url::Url::parse(base).ok())
        .any(|base| {
            let Some(ours) = base.host_str() else {
                return false;
            };
            let with_port = base.port().map(|port| format!("{ours}:{port}"));
            host.eq_ignore_ascii_case(ours)
                || with_port.is_some_and(|with_port| host.eq_ignore_ascii_case(&with_port))
        });
    is_ours.then_some(name)
}

#[derive(Debug, Deserialize)]
struct LookupQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    acct: Option<String>,
}

async fn lookup_account(
    State(state): State<AppState>,
    caller: MaybeCaller,
    QueryParams(query): QueryParams<LookupQuery>,
) -> Result<Json<Account>, AppError> {
    let not_found = || AppError::not_found("There is no account with this address.");
    let acct = query.acct.unwrap_or_default();
    let username = local_username(&state, &acct).ok_or_else(not_found)?;
    let found = users::find_user(&state, username).await?;
    let profile = users::profile_of(&state, caller.viewer_with("read:accounts")?, found).await?;
    Ok(Json(Account::from_user(&state, &profile)))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    q: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    offset: Option<u64>,
    /// WebFinger resolution of remote accounts: nothing to resolve, accepted and ignored.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[allow(dead_code)]
    resolve: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    following: Option<bool>,
}

/// Mastodon's default and largest page of account search results.
const SEARCH_LIMIT: (u64, u64) = (40, 80);

async fn search_accounts(
    State(state): State<AppState>,
    caller: MaybeCaller,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<Vec<Account>>, AppError> {
    let q = query.q.unwrap_or_default();
    // `@name@host` finds `name` when the host is ours, and nobody elsewhere.
    let Some(q) = local_username(&state, &q).filter(|q| !q.is_empty()) else {
        return Ok(Json(Vec::new()));
    };
    let limit = query
        .limit
        .unwrap_or(SEARCH_LIMIT.0)
        .clamp(1, SEARCH_LIMIT.1);
    let viewer = as_viewer(caller.viewer_with("read:accounts")?);
    let found = users::search_ranked(
        &state,
        &viewer,
        q,
        query.offset.unwrap_or(0),
        limit,
        query.following.unwrap_or(false),
    )
    .await?;
    Ok(Json(
        found
            .iter()
            .map(|user| Account::from_user(&state, user))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
struct RelationshipsQuery {
    #[serde(default, deserialize_with = "lenient::strings")]
    id: Vec<String>,
}

/// The most accounts one `relationships` request may ask about.
const MAX_RELATIONSHIPS: usize = 200;

async fn relationships(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<RelationshipsQuery>,
) -> Result<Json<Vec<Relationship>>, AppError> {
    let user = caller.require("read:follows")?;
    if query.id.len() > MAX_RELATIONSHIPS {
        return Err(AppError::Validation(vec![FieldError::new(
            "id",
            format!("must list at most {MAX_RELATIONSHIPS} accounts"),
        )]));
    }
    // Ids that are not numbers name no account, and an account asked about twice is
    // answered once, in the order asked.
    let mut numbers: Vec<i64> = Vec::new();
    for number in query.id.iter().filter_map(|id| ids::parse_number(id)) {
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    let found = users::find_by_numbers(&state, &numbers).await?;
    let accounts: Vec<Uuid> = numbers
        .iter()
        .filter_map(|number| found.get(number).map(|account| account.id))
        .collect();
    let relations = graph::relationships(&state, user, &accounts).await?;
    Ok(Json(
        accounts
            .into_iter()
            .map(|account| {
                let flags = relations.of(account).unwrap_or_default();
                Relationship::new(account, flags, flags.requested_by)
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------
// An account's statuses and follows
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct StatusesQuery {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    only_media: Option<bool>,
    /// Roost's posts are never replies (comments are not listed with posts): no effect.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    exclude_replies: Option<bool>,
    /// Roost has no reblogs: no effect.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    exclude_reblogs: Option<bool>,
    /// Roost has no pinned posts: `true` lists none.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pinned: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    tagged: Option<String>,
}

async fn account_statuses(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<String>,
    paging: Paging,
    QueryParams(query): QueryParams<StatusesQuery>,
) -> Result<Response, AppError> {
    let author = account(&state, &id).await?;
    if query.pinned == Some(true) {
        return Ok(paging.respond(Vec::<Status>::new(), &[]));
    }
    let viewer = caller.viewer_with("read:statuses")?;
    users::ensure_lists_readable(&state, viewer.map(|user| user.user_id), &author).await?;
    let tag = match query.tagged.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(tagged) => match crate::posts::domain::parse_tag_name(tagged) {
            Some(tag) => Some(tag),
            // No post carries what cannot be a tag.
            None => return Ok(paging.respond(Vec::<Status>::new(), &[])),
        },
    };
    let filter = PostFilter {
        author: Some(author.id),
        tag,
        include_muted: true,
        only_media: query.only_media.unwrap_or(false),
        ..PostFilter::default()
    };
    let posts = crate::posts::service::in_window(
        &state,
        PostList::Filtered(filter),
        &as_viewer(viewer),
        paging.window(),
        paging.limit,
    )
    .await?;
    let keys: Vec<Uuid> = posts.iter().map(|(key, _)| *key).collect();
    let statuses: Vec<Status> = posts
        .iter()
        .map(|(_, post)| Status::from_post(&state, post, viewer.is_some()))
        .collect();
    Ok(paging.respond(statuses, &keys))
}

/// A page of accounts, each with the id of the row the list is ordered by.
fn account_page(
    state: &AppState,
    paging: &AccountPaging,
    rows: Vec<(Uuid, crate::users::User)>,
) -> Response {
    let keys: Vec<Uuid> = rows.iter().map(|(key, _)| *key).collect();
    let accounts: Vec<Account> = rows
        .iter()
        .map(|(_, user)| Account::from_user(state, user))
        .collect();
    paging.respond(accounts, &keys)
}

async fn list_follows(
    state: AppState,
    caller: MaybeCaller,
    id: &str,
    paging: AccountPaging,
    list: FollowList,
) -> Result<Response, AppError> {
    let subject = account(&state, id).await?;
    let viewer = caller.viewer_with("read:accounts")?;
    let rows = users::follows_in_window(
        &state,
        viewer,
        &subject,
        list,
        paging.window(),
        paging.limit,
    )
    .await?;
    Ok(account_page(&state, &paging, rows))
}

async fn list_followers(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<String>,
    paging: AccountPaging,
) -> Result<Response, AppError> {
    list_follows(state, caller, &id, paging, FollowList::Followers).await
}

async fn list_following(
    State(state): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<String>,
    paging: AccountPaging,
) -> Result<Response, AppError> {
    list_follows(state, caller, &id, paging, FollowList::Following).await
}

// ---------------------------------------------------------------------------------------
// Follows, blocks and mutes
// ---------------------------------------------------------------------------------------

/// What a follow may say besides whom: accepted and ignored (Roost shows every post of a
/// followed account, notifies no new posts, and filters no languages).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct FollowParams {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    reblogs: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    notify: Option<bool>,
    #[serde(default, deserialize_with = "lenient::strings")]
    languages: Vec<String>,
}

async fn follow_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(_): Params<FollowParams>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:follows")?;
    let target = account(&state, &id).await?;
    graph::follow(&state, user, &target.username).await?;
    relationship(&state, user, target.id).await
}

async fn unfollow_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:follows")?;
    let target = account(&state, &id).await?;
    graph::unfollow(&state, user, &target.username).await?;
    relationship(&state, user, target.id).await
}

async fn remove_from_followers(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:follows")?;
    let follower = account(&state, &id).await?;
    graph::remove_follower(&state, user, &follower.username).await?;
    relationship(&state, user, follower.id).await
}

async fn block_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:blocks")?;
    let target = account(&state, &id).await?;
    graph::block(&state, user, &target.username).await?;
    relationship(&state, user, target.id).await
}

async fn unblock_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:blocks")?;
    let target = account(&state, &id).await?;
    graph::unblock(&state, user, &target.username).await?;
    relationship(&state, user, target.id).await
}

/// A mute's options. Roost's mutes always hide the account's notifications too, and never
/// expire: `notifications` is accepted and ignored, a `duration` above 0 refused.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct MuteParams {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    notifications: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    duration: Option<u64>,
}

async fn mute_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(params): Params<MuteParams>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:mutes")?;
    if params.duration.unwrap_or(0) > 0 {
        return Err(AppError::Validation(vec![FieldError::new(
            "duration",
            "must be 0: mutes do not expire on this server",
        )]));
    }
    let target = account(&state, &id).await?;
    graph::mute(&state, user, &target.username).await?;
    relationship(&state, user, target.id).await
}

async fn unmute_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:mutes")?;
    let target = account(&state, &id).await?;
    graph::unmute(&state, user, &target.username).await?;
    relationship(&state, user, target.id).await
}

/// A page of the caller's blocks, mutes or follow requests, most recent first.
async fn list_related(
    state: AppState,
    user: AuthUser,
    paging: AccountPaging,
    list: Related,
) -> Result<Response, AppError> {
    let rows = graph::list_in_window(&state, user, list, paging.window(), paging.limit).await?;
    Ok(account_page(&state, &paging, rows))
}

async fn list_blocks(
    State(state): State<AppState>,
    caller: Caller,
    paging: AccountPaging,
) -> Result<Response, AppError> {
    let user = caller.require("read:blocks")?;
    list_related(state, user, paging, Related::Blocks).await
}

async fn list_mutes(
    State(state): State<AppState>,
    caller: Caller,
    paging: AccountPaging,
) -> Result<Response, AppError> {
    let user = caller.require("read:mutes")?;
    list_related(state, user, paging, Related::Mutes).await
}

async fn list_follow_requests(
    State(state): State<AppState>,
    caller: Caller,
    paging: AccountPaging,
) -> Result<Response, AppError> {
    let user = caller.require("read:follows")?;
    list_related(state, user, paging, Related::FollowRequests).await
}

async fn authorize_follow_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:follows")?;
    let requester = account(&state, &id).await?;
    graph::accept_request(&state, user, &requester.username).await?;
    relationship(&state, user, requester.id).await
}

async fn reject_follow_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = caller.require("write:follows")?;
    let requester = account(&state, &id).await?;
    graph::reject_request(&state, user, &requester.username).await?;
    relationship(&state, user, requester.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acct_names_a_local_username_when_its_host_is_ours() {
        let ours = ["https://social.example", "http://127.0.0.1:8080"];
        assert_eq!(username_in("alice", &ours), Some("alice"));
        assert_eq!(username_in("@alice", &ours), Some("alice"));
        assert_eq!(username_in("alice@Social.Example", &ours), Some("alice"));
        assert_eq!(username_in("@alice@127.0.0.1:8080", &ours), Some("alice"));
        assert_eq!(username_in("alice@127.0.0.1", &ours), Some("alice"));
        assert_eq!(username_in("alice@mastodon.social", &ours), None);
    }
}
