//! Request extractors that reject in our problem+json format: `AppJson` for bodies and
//! `AppQuery` for query strings; and `Created`, the answer of every create.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// A JSON body. Rejections follow the contract: wrong content type → 415, over the size
/// limit → 413, syntax error → 400, wrong shape or types → 422 naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(request.headers()) {
            return Err(AppError::UnsupportedMediaType {
                detail: "Expected a body with `Content-Type: application/json`.".into(),
            });
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge {
                        detail: "The request body is over the size limit.".into(),
                    }
                } else {
                    AppError::bad_request("unreadable_body", "The request body could not be read.")
                }
            })?;
        parse_json(&bytes).map(AppJson)
    }
}

/// Parses a JSON document into `T`, separating syntax errors (400) from shape errors (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| {
        AppError::bad_request(
            "malformed_json",
            format!("The request body is not valid JSON: {error}."),
        )
    })?;
    if !value.is_object() {
        return Err(AppError::Validation(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )]));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // serde reports a missing field at the parent's path; name the field itself.
        let (field, message) = match inner.strip_prefix("missing field `") {
            Some(rest) => {
                let name = rest.trim_end_matches('`');
                let field = if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                (field, "is required".to_owned())
            }
            None => (path, inner),
        };
        AppError::Validation(vec![FieldError::new(field, message)])
    })
}

pub fn has_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `201 Created` with the new resource as JSON and its absolute URL in `Location`.
#[derive(Debug)]
pub struct Created<T> {
    location: String,
    body: T,
}

impl<T> Created<T> {
    /// `location` is the resource's absolute URL.
    pub fn new(location: String, body: T) -> Self {
        Self { location, body }
    }

    /// `path` is the resource's path (e.g. `/api/v1/posts/{id}`), made absolute with the
    /// public URL.
    pub fn at(public_url: &str, path: impl std::fmt::Display, body: T) -> Self {
        Self {
            location: format!("{public_url}{path}"),
            body,
        }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::CREATED, AppJson(self.body)).into_response();
        if let Ok(location) = header::HeaderValue::from_str(&self.location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

/// Refuses a query string whose percent-decoded bytes are not UTF-8 (400), instead of
/// letting the decoder replace them with U+FFFD and answer a question nobody asked.
pub fn ensure_utf8_query(parts: &Parts) -> Result<(), AppError> {
    match parts.uri.query() {
        Some(query) if !is_utf8_when_decoded(query) => Err(AppError::bad_request(
            "invalid_query",
            "The query string is not UTF-8 once percent-decoded.",
        )),
        _ => Ok(()),
    }
}

fn is_utf8_when_decoded(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |byte: u8| char::from(byte).to_digit(16);
        match (bytes[index], bytes.get(index + 1), bytes.get(index + 2)) {
            (b'%', Some(&high), Some(&low)) if hex(high).is_some() && hex(low).is_some() => {
                decoded.push((hex(high).unwrap_or(0) * 16 + hex(low).unwrap_or(0)) as u8);
                index += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// A query string. Unknown parameters are ignored; invalid values of known ones are a 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        ensure_utf8_query(parts)?;
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| AppQuery(value))
            .map_err(|rejection| AppError::bad_request("invalid_query", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    fn status(result: Result<Login, AppError>) -> (u16, Option<String>) {
        let error = result.unwrap_err();
        let field = match &error {
            AppError::Validation(errors) => Some(errors[0].field.clone()),
            _ => None,
        };
        (error.status().as_u16(), field)
    }

    #[test]
    fn syntax_errors_are_400() {
        assert_eq!(status(parse_json(b"{\"email\": ")), (400, None));
    }

    #[test]
    fn missing_fields_are_422_naming_the_field() {
        assert_eq!(
            status(parse_json(br#"{"email": "a@b.c"}"#)),
            (422, Some("password".into()))
        );
    }

    #[test]
    fn wrong_types_are_422_naming_the_field() {
        assert_eq!(
            status(parse_json(br#"{"email": 5, "password": "x"}"#)),
            (422, Some("email".into()))
        );
    }

    #[test]
    fn non_objects_are_422() {
        assert_eq!(status(parse_json(b"[1, 2]")), (422, Some("body".into())));
    }

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = axum::http::HeaderMap::new();
        assert!(!has_json_content_type(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(has_json_content_type(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert!(!has_json_content_type(&headers));
    }

    #[test]
    fn query_strings_must_decode_to_utf8() {
        assert!(is_utf8_when_decoded("q=caf%C3%A9&limit=5"));
        assert!(is_utf8_when_decoded("q=100%&x=%zz%4"));
        assert!(is_utf8_when_decoded(""));
        assert!(!is_utf8_when_decoded("q=%FF%FE"));
        assert!(!is_utf8_when_decoded("q=caf%C3"));
        assert!(!is_utf8_when_decoded("a=1&%80=2"));
    }
}
