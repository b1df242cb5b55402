//! Mastodon's paging, written once: `limit`, `max_id`, `since_id` and `min_id` in, a
//! [`Window`] for the stores, and a JSON array with a `Link` header carrying `next` and
//! `prev` out (an empty page links `prev` only: a client can keep polling from where it
//! stands, and a paginator following `next` stops).
//!
//! The ids are the 64-bit numbers of [`crate::db::ids`]: `max_id = n` keeps keys below the
//! lowest id of number `n`; `since_id = n` and `min_id = n` keep keys from the lowest id
//! of number `n + 1` on (`since_id` the newest of them, `min_id` those just above `n`).
//! A list ordered by another row's id (followers by the follow, favourites by the like)
//! pages by that row's number, as Mastodon does.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use crate::db::ids;
use crate::error::AppError;
use crate::pagination::Window;
use crate::state::AppState;

/// The paging parameters of a list whose `limit` defaults to `DEFAULT` and stops at `MAX`.
#[derive(Debug, Clone)]
pub struct Paging<const DEFAULT: u64 = 20, const MAX: u64 = 40> {
    pub limit: u64,
    max_id: Option<i64>,
    since_id: Option<i64>,
    min_id: Option<i64>,
    /// Public base URL and path, for the `Link` header.
    base: String,
    /// The request's other query parameters, kept in the links.
    other_params: Vec<(String, String)>,
}

/// The lists of accounts (followers, blocks …): 40 by default, up to 80, as Mastodon.
pub type AccountPaging = Paging<40, 80>;

impl<const DEFAULT: u64, const MAX: u64> FromRequestParts<AppState> for Paging<DEFAULT, MAX> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        crate::extract::ensure_utf8_query(parts)?;
        let path = parts.extensions.get::<OriginalUri>().map_or_else(
            || parts.uri.path().to_owned(),
            |uri| uri.0.path().to_owned(),
        );
        let mut paging = Self {
            limit: DEFAULT,
            max_id: None,
            since_id: None,
            min_id: None,
            base: format!("{}{path}", state.config.mastodon_public_url),
            other_params: Vec::new(),
        };
        let query = parts.uri.query().unwrap_or_default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let id = || -> Result<Option<i64>, AppError> {
                if value.is_empty() {
                    return Ok(None);
                }
                ids::parse_number(&value).map(Some).ok_or_else(|| {
                    AppError::bad_request("invalid_id", format!("`{name}` must be an id."))
                })
            };
            match name.as_ref() {
                // Mastodon clamps the limit rather than refusing it.
                "limit" => {
                    paging.limit = value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| {
                            AppError::bad_request("invalid_limit", "`limit` must be a number.")
                        })?
                        .clamp(1, MAX);
                }
                "max_id" => paging.max_id = id()?,
                "since_id" => paging.since_id = id()?,
                "min_id" => paging.min_id = id()?,
                _ => paging
                    .other_params
                    .push((name.into_owned(), value.into_owned())),
            }
        }
        Ok(paging)
    }
}

impl<const DEFAULT: u64, const MAX: u64> Paging<DEFAULT, MAX> {
    /// The bounds the parameters set.
    pub fn window(&self) -> Window {
        let lower = self.min_id.or(self.since_id);
        Window {
            before: self.max_id.map(ids::lowest),
            from: lower.and_then(|n| n.checked_add(1)).map(ids::lowest),
            oldest_first: self.min_id.is_some(),
        }
    }

    /// A page of `items` (newest first), keyed for the links by `key_of` (the id the list
    /// is ordered by), as a JSON array with its `Link` header.
    pub fn respond<T: Serialize>(&self, items: Vec<T>, keys: &[Uuid]) -> Response {
        let link = self.link(keys);
        let mut response = json_array(&items);
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }

    /// `next` (older: below the last key) and `prev` (newer: above the first). An empty
    /// page links only `prev`, where the request stood, so that a client can keep polling
    /// for what is newer, while paginators that follow `next` until there is none (as
    /// masto.js's does) stop at the end.
    fn link(&self, keys: &[Uuid]) -> String {
        match (keys.last(), keys.first()) {
            (Some(last), Some(first)) => format!(
                "<{}>; rel=\"next\", <{}>; rel=\"prev\"",
                self.url("max_id", ids::number(*last)),
                self.url("min_id", ids::number(*first))
            ),
            _ => {
                let prev = self
                    .min_id
                    .or(self.since_id)
                    .or_else(|| self.max_id.map(|n| n.saturating_sub(1)))
                    .unwrap_or(0);
                format!("<{}>; rel=\"prev\"", self.url("min_id", prev))
            }
        }
    }

    fn url(&self, name: &str, id: i64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.other_params {
            query.append_pair(key, value);
        }
        query.append_pair("limit", &self.limit.to_string());
        query.append_pair(name, &id.to_string());
        format!("{}?{}", self.base, query.finish())
    }
}

/// About how many bytes one entity of a page takes (a status is 1.5–2 KB): the page is
/// written into a buffer of that size from the start, not one grown by doubling.
const BYTES_PER_ITEM: usize = 2048;

/// `items` as a JSON array response.
fn json_array<T: Serialize>(items: &[T]) -> Response {
    let mut body = Vec::with_capacity(2 + items.len() * BYTES_PER_ITEM);
    match serde_json::to_writer(&mut body, items) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(error) => AppError::Internal(error.into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paging(max_id: Option<i64>, since_id: Option<i64>, min_id: Option<i64>) -> Paging {
        Paging {
            limit: 2,
            max_id,
            since_id,
            min_id,
            base: "https://social.example/api/v1/timelines/home".into(),
            other_params: vec![("local".into(), "true".into())],
        }
    }

    #[test]
    fn bounds_follow_the_numbers() {
        let id = ids::new_id();
        let n = ids::number(id);
        let window = paging(Some(n), None, None).window();
        assert_eq!(window.before, Some(ids::lowest(n)));
        assert!(id >= window.before.unwrap(), "max_id excludes its own item");
        let window = paging(None, Some(n), None).window();
        assert!(id < window.from.unwrap(), "since_id excludes its own item");
        assert!(!window.oldest_first);
        assert!(paging(None, None, Some(n)).window().oldest_first);
    }

    #[test]
    fn links_point_below_the_last_and_above_the_first() {
        let (a, b) = (ids::new_id(), ids::new_id());
        let link = paging(None, None, None).link(&[b, a]);
        assert_eq!(
            link,
            format!(
                "<https://social.example/api/v1/timelines/home?local=true&limit=2&max_id={}>; \
                 rel=\"next\", <https://social.example/api/v1/timelines/home?local=true&limit=2\
                 &min_id={}>; rel=\"prev\"",
                ids::number(a),
                ids::number(b)
            )
        );
    }

    #[test]
    fn empty_pages_link_back_to_where_the_request_stood_and_no_further() {
        let link = paging(None, Some(41), None).link(&[]);
        assert!(link.ends_with("min_id=41>; rel=\"prev\""), "{link}");
        assert!(!link.contains("next"), "{link}");
        let link = paging(Some(7), None, None).link(&[]);
        assert!(link.ends_with("min_id=6>; rel=\"prev\""), "{link}");
        let link = paging(None, None, None).link(&[]);
        assert!(link.ends_with("min_id=0>; rel=\"prev\""), "{link}");
    }
}
