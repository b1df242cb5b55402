//! Keyset pagination, written once: the `?limit=&cursor=` parameters, opaque cursors, the
//! `{items, next_cursor}` envelope and the `Link: rel="next"` header.
//!
//! A cursor is the base64url encoding of a versioned, `|`-separated sort key. It is opaque
//! to clients but not secret: a forged cursor that decodes is merely another position in
//! the same ordered list, and one that does not decode is a 400, never a 500.

use axum::extract::{FromRequestParts, OriginalUri, Query};
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Expr, ExprTrait, Order, SelectStatement};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::AppError;
use crate::state::AppState;

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;
const CURSOR_VERSION: &str = "1";
/// Longest cursor we try to decode; ours are far shorter.
const MAX_CURSOR_LEN: usize = 512;

/// Bounds on a list ordered by a time-ordered id, newest first: what a cursor means, and
/// what the Mastodon-compatible API's `max_id`, `since_id` and `min_id` mean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Only keys below this one.
    pub before: Option<Uuid>,
    /// Only keys from this one on.
    pub from: Option<Uuid>,
    /// Take the page that starts just after `from` (the oldest matches) instead of the
    /// newest; the page is still returned newest first.
    pub oldest_first: bool,
}

impl Window {
    /// The rows after a cursor's key: keys below `before`, newest first.
    pub fn before(before: Option<Uuid>) -> Self {
        Self {
            before,
            ..Self::default()
        }
    }

    /// Restricts `select` to the window's bounds on `key` and keeps at most `limit` rows:
    /// the newest, or with `oldest_first` the oldest (the caller then puts the page newest
    /// first).
    pub fn keyset(
        self,
        select: &mut SelectStatement,
        key: (&'static str, &'static str),
        limit: u64,
    ) {
        if let Some(before) = self.before {
            select.and_where(Expr::col(key).lt(before));
        }
        if let Some(from) = self.from {
            select.and_where(Expr::col(key).gte(from));
        }
        let order = if self.oldest_first {
            Order::Asc
        } else {
            Order::Desc
        };
        select.order_by(key, order).limit(limit);
    }
}

/// The pagination query parameters, as documented on every list endpoint.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The pagination parameters of a request, plus what is needed to link to the next page.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: u64,
    cursor: Option<Vec<String>>,
    /// Public base URL + path, for the `Link` header.
    base: String,
    /// The request's other query parameters, kept in the next link.
    other_params: Vec<(String, String)>,
}

impl FromRequestParts<AppState> for PageRequest {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        crate::extract::ensure_utf8_query(parts)?;
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                AppError::bad_request("invalid_query", "The query string is malformed.")
            })?;
        let path = parts.extensions.get::<OriginalUri>().map_or_else(
            || parts.uri.path().to_owned(),
            |uri| uri.0.path().to_owned(),
        );
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        let mut other_params = Vec::new();
        for (name, value) in pairs {
            match name.as_str() {
                "limit" => limit = parse_limit(&value)?,
                "cursor" => cursor = Some(decode_cursor(&value)?),
                _ => other_params.push((name, value)),
            }
        }
        Ok(Self {
            limit,
            cursor,
            base: format!("{}{path}", state.config.public_url),
            other_params,
        })
    }
}

fn parse_limit(value: &str) -> Result<u64, AppError> {
    match value.trim().parse::<u64>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(AppError::bad_request(
            "invalid_limit",
            "`limit` must be a whole number from 1 to 100.",
        )),
    }
}

fn invalid_cursor() -> AppError {
    AppError::bad_request(
        "invalid_cursor",
        "`cursor` is not a cursor this list issued.",
    )
}

/// Encodes a sort key as an opaque cursor. No part may contain `|` (ids, ranks, timestamps
/// and usernames never do), or it would decode as two.
pub fn encode_cursor(parts: &[&str]) -> String {
    let mut raw = String::from(CURSOR_VERSION);
    for part in parts {
        raw.push('|');
        raw.push_str(part);
    }
    URL_SAFE_NO_PAD.encode(raw)
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<Vec<String>, AppError> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid_cursor());
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid_cursor())?;
    let raw = String::from_utf8(bytes).map_err(|_| invalid_cursor())?;
    let mut parts = raw.split('|');
    if parts.next() != Some(CURSOR_VERSION) {
        return Err(invalid_cursor());
    }
    Ok(parts.map(str::to_owned).collect())
}

impl PageRequest {
    /// A request for the page of `limit` items below the id `before` (the newest without
    /// it), for callers that page by bounds rather than cursors (the Mastodon-compatible
    /// API); the links it would make are not used.
    pub fn below(limit: u64, before: Option<Uuid>) -> Self {
        Self {
            limit: limit.clamp(1, MAX_LIMIT),
            cursor: before.map(|id| vec![id.to_string()]),
            base: String::new(),
            other_params: Vec::new(),
        }
    }

    /// The cursor's key when it is a single id (lists ordered by a time-ordered id).
    pub fn after_id(&self) -> Result<Option<Uuid>, AppError> {
        match self.cursor.as_deref() {
            None => Ok(None),
            Some([id]) => Uuid::parse_str(id).map(Some).map_err(|_| invalid_cursor()),
            Some(_) => Err(invalid_cursor()),
        }
    }

    /// The cursor's key when it has `N` parts (ranked lists); each part is checked by the caller.
    pub fn after_parts<const N: usize>(&self) -> Result<Option<[String; N]>, AppError> {
        match &self.cursor {
            None => Ok(None),
            Some(parts) => <[String; N]>::try_from(parts.clone())
                .map(Some)
                .map_err(|_| invalid_cursor()),
        }
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.limit + 1
    }

    /// Cuts the fetched rows to the page and builds the response, with the cursor of the
    /// last item kept when more rows exist.
    pub fn finish<R, T>(
        &self,
        rows: Vec<R>,
        cursor_of: impl Fn(&R) -> String,
        into_item: impl FnMut(R) -> T,
    ) -> PageResponse<T> {
        let (rows, next_cursor) = self.take_page(rows, cursor_of);
        self.respond(rows.into_iter().map(into_item).collect(), next_cursor)
    }

    /// Cuts the fetched rows (`fetch_limit` of them at most) to the page, returning them with
    /// the next page's cursor when more rows exist. For lists whose items need more work
    /// (e.g. async loading) before [`PageRequest::respond`].
    pub fn take_page<R>(
        &self,
        mut rows: Vec<R>,
        cursor_of: impl Fn(&R) -> String,
    ) -> (Vec<R>, Option<String>) {
        let has_more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(&cursor_of)
        } else {
            None
        };
        (rows, next_cursor)
    }

    /// Wraps a page's items with its cursor and `Link` header.
    pub fn respond<T>(&self, items: Vec<T>, next_cursor: Option<String>) -> PageResponse<T> {
        let link = next_cursor.as_deref().map(|cursor| self.next_link(cursor));
        PageResponse {
            page: Page { items, next_cursor },
            link,
        }
    }

    fn next_link(&self, cursor: &str) -> String {
        let mut query: Vec<String> = self
            .other_params
            .iter()
            .map(|(name, value)| format!("{}={}", encode_component(name), encode_component(value)))
            .collect();
        query.push(format!("limit={}", self.limit));
        query.push(format!("cursor={cursor}"));
        format!("<{}?{}>; rel=\"next\"", self.base, query.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_component(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A page plus its `Link` header.
#[derive(Debug)]
pub struct PageResponse<T> {
    pub page: Page<T>,
    pub link: Option<String>,
}

impl<T: Serialize> IntoResponse for PageResponse<T> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.page).into_response();
        if let Some(value) = self.link.and_then(|link| HeaderValue::from_str(&link).ok()) {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let cursor = encode_cursor(&["2", "alice"]);
        assert_eq!(decode_cursor(&cursor).unwrap(), vec!["2", "alice"]);
    }

    #[test]
    fn forged_cursors_are_rejected_as_400() {
        let other_version = URL_SAFE_NO_PAD.encode("9|x");
        for cursor in [
            "",
            "!!!",
            "bm90IGEgY3Vyc29y",
            other_version.as_str(),
            &"A".repeat(600),
        ] {
            let error = decode_cursor(cursor).unwrap_err();
            assert_eq!(error.status().as_u16(), 400, "{cursor:?}");
        }
    }

    #[test]
    fn limits_must_be_between_1_and_100() {
        assert_eq!(parse_limit("1").unwrap(), 1);
        assert_eq!(parse_limit("100").unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", "", "1.5"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
    }

    fn request(cursor: Option<Vec<String>>) -> PageRequest {
        PageRequest {
            limit: 2,
            cursor,
            base: "http://roost.test/api/v1/users".into(),
            other_params: vec![("q".into(), "a b&c".into())],
        }
    }

    #[test]
    fn finishing_a_page_links_to_the_next_one() {
        let page = request(None).finish(
            vec![1, 2, 3],
            |n| encode_cursor(&[&n.to_string()]),
            |n| n * 10,
        );
        assert_eq!(page.page.items, vec![10, 20]);
        let cursor = page.page.next_cursor.unwrap();
        assert_eq!(decode_cursor(&cursor).unwrap(), vec!["2"]);
        assert_eq!(
            page.link.unwrap(),
            format!(
                "<http://roost.test/api/v1/users?q=a%20b%26c&limit=2&cursor={cursor}>; rel=\"next\""
            )
        );
    }

    #[test]
    fn the_last_page_has_no_cursor_or_link() {
        let page = request(None).finish(vec![1, 2], |n| n.to_string(), |n| n);
        assert_eq!(page.page.next_cursor, None);
        assert!(page.link.is_none());
    }

    #[test]
    fn id_cursors_must_hold_one_uuid() {
        let id = Uuid::now_v7();
        assert_eq!(
            request(Some(vec![id.to_string()])).after_id().unwrap(),
            Some(id)
        );
        assert!(request(Some(vec!["nope".into()])).after_id().is_err());
        assert!(
            request(Some(vec![id.to_string(), "x".into()]))
                .after_id()
                .is_err()
        );
    }
}

#[cfg(test)]
mod properties {
    //! Property tests for cursors and limits: any string a client sends is either a cursor
    //! we could have issued or a clean 400, never a panic.

    use proptest::prelude::*;

    use super::*;

    /// A sort-key part as lists issue them (ids, ranks, usernames): anything but the `|`
    /// separator.
    fn part() -> impl Strategy<Value = String> {
        "[^|]{0,40}"
    }

    proptest! {
        #[test]
        fn cursors_round_trip(parts in prop::collection::vec(part(), 0..4)) {
            let borrowed: Vec<&str> = parts.iter().map(String::as_str).collect();
            let cursor = encode_cursor(&borrowed);
            // URL-safe as it is: it goes into `Link` headers and query strings unescaped.
            prop_assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            if cursor.len() <= MAX_CURSOR_LEN {
                prop_assert_eq!(decode_cursor(&cursor).unwrap(), parts);
            }
        }

        #[test]
        fn any_string_is_a_cursor_we_issued_or_a_400(input in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9_=+/-]{0,80}",
        ]) {
            match decode_cursor(&input) {
                // Accepted cursors are canonical: encoding their key gives the same text back.
                Ok(parts) => {
                    let borrowed: Vec<&str> = parts.iter().map(String::as_str).collect();
                    prop_assert_eq!(encode_cursor(&borrowed), input);
                }
                Err(error) => prop_assert_eq!(error.status().as_u16(), 400),
            }
        }

        #[test]
        fn any_bytes_under_base64_decode_only_with_our_version(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let cursor = URL_SAFE_NO_PAD.encode(&bytes);
            match decode_cursor(&cursor) {
                Ok(parts) => {
                    let text = String::from_utf8(bytes).unwrap();
                    prop_assert!(text == "1" || text.starts_with("1|"), "{text:?}");
                    let expected: Vec<String> =
                        text.split('|').skip(1).map(str::to_owned).collect();
                    prop_assert_eq!(parts, expected);
                }
                Err(error) => prop_assert_eq!(error.status().as_u16(), 400),
            }
        }

        #[test]
        fn ids_in_cursors_round_trip(bytes in any::<[u8; 16]>()) {
            let id = Uuid::from_bytes(bytes);
            let cursor = encode_cursor(&[&id.to_string()]);
            let page = PageRequest {
                limit: 20,
                cursor: Some(decode_cursor(&cursor).unwrap()),
                base: String::new(),
                other_params: Vec::new(),
            };
            prop_assert_eq!(page.after_id().unwrap(), Some(id));
        }

        #[test]
        fn limits_are_whole_numbers_from_1_to_100(input in prop_oneof![
            any::<String>(),
            "[ +-]?[0-9]{1,4}[ ]?",
        ]) {
            let expected = input
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit));
            match parse_limit(&input) {
                Ok(limit) => prop_assert_eq!(Some(limit), expected),
                Err(error) => {
                    prop_assert_eq!(expected, None);
                    prop_assert_eq!(error.status().as_u16(), 400);
                }
            }
        }

        #[test]
        fn next_links_carry_the_other_parameters_percent_encoded(
            name in "[a-z]{1,8}",
            value in any::<String>(),
        ) {
            let page = PageRequest {
                limit: 5,
                cursor: None,
                base: "http://roost.test/api/v1/posts".into(),
                other_params: vec![(name.clone(), value.clone())],
            };
            let link = page.next_link("abc");
            // A header value: visible ASCII only, whatever the client sent.
            prop_assert!(HeaderValue::from_str(&link).is_ok(), "{link:?}");
            let encoded = encode_component(&value);
            prop_assert!(link.contains(&format!("?{name}={encoded}&limit=5&cursor=abc>")), "{link:?}");
            let decoded = url::form_urlencoded::parse(encoded.as_bytes())
                .map(|(key, _)| key.into_owned())
                .next()
                .unwrap_or_default();
            prop_assert_eq!(decoded, value);
        }
    }
}
