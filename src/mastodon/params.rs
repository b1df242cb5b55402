//! Parameters as Mastodon clients send them, written once: a query string, and a body that
//! is JSON, form-urlencoded or multipart alike, merged into one JSON object that a
//! `serde` type is read from.
//!
//! Form keys follow Rails: `key[]` appends to the array `key`, `key[name]` sets a field of
//! the object `key` (and `key[name][]` an array in it). Form values are strings, so the
//! `lenient` deserializers accept `"true"`/`"1"` for booleans and digits for numbers.
//! Query parameters come first and the body's override them, as in Rails.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{AppError, FieldError};

/// The request's parameters (query string and body) read as `T`.
#[derive(Debug, Clone, Default)]
pub struct Params<T>(pub T);

/// The query string's parameters read as `T` (for `GET` and `DELETE`).
#[derive(Debug, Clone, Default)]
pub struct QueryParams<T>(pub T);

/// A multipart body's files, by field name, with the other parameters read as `T`.
#[derive(Debug, Default)]
pub struct WithFiles<T> {
    pub params: T,
    pub files: Vec<UploadedFile>,
}

/// One file of a multipart body.
#[derive(Debug)]
pub struct UploadedFile {
    pub field: String,
    pub bytes: Bytes,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut object = Map::new();
        add_query(parts, &mut object)?;
        read(object).map(QueryParams)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let WithFiles { params, files } = WithFiles::<T>::from_request(request, state).await?;
        if let Some(file) = files.first() {
            return Err(AppError::Validation(vec![FieldError::new(
                file.field.clone(),
                "this endpoint takes no files",
            )]));
        }
        Ok(Params(params))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WithFiles<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let mut object = Map::new();
        add_query(&parts, &mut object)?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut files = Vec::new();
        if content_type.starts_with("multipart/form-data") {
            let request = Request::from_parts(parts, body);
            let mut multipart = Multipart::from_request(request, state)
                .await
                .map_err(|_| unreadable())?;
            while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
                let name = field.name().unwrap_or_default().to_owned();
                if field.file_name().is_some() {
                    let bytes = field.bytes().await.map_err(multipart_error)?;
                    files.push(UploadedFile { field: name, bytes });
                } else {
                    let text = field.text().await.map_err(multipart_error)?;
                    insert_pair(&mut object, &name, Value::String(text));
                }
            }
        } else {
            let request = Request::from_parts(parts.clone(), body);
            let bytes = Bytes::from_request(request, state)
                .await
                .map_err(|rejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        unreadable()
                    }
                })?;
            parts.extensions.clear();
            if !bytes.is_empty() {
                if content_type.starts_with("application/json") {
                    match serde_json::from_slice::<Value>(&bytes) {
                        Ok(Value::Object(body)) => object.extend(body),
                        Ok(_) => return Err(invalid("body", "must be a JSON object")),
                        Err(_) => {
                            return Err(AppError::bad_request(
                                "malformed_json",
                                "The request body is not valid JSON.",
                            ));
                        }
                    }
                } else if content_type.starts_with("application/x-www-form-urlencoded")
                    || content_type.is_empty()
                {
                    add_pairs(&bytes, &mut object);
                } else {
                    return Err(AppError::UnsupportedMediaType {
                        detail: "Send JSON, form-urlencoded or multipart parameters.".into(),
                    });
                }
            }
        }
        Ok(WithFiles {
            params: read(object)?,
            files,
        })
    }
}

fn unreadable() -> AppError {
    AppError::bad_request("unreadable_body", "The request body could not be read.")
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge {
        detail: "The request body is over the size limit.".into(),
    }
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::bad_request("malformed_multipart", "The multipart body is malformed.")
    }
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::Validation(vec![FieldError::new(field, message)])
}

fn add_query(parts: &Parts, object: &mut Map<String, Value>) -> Result<(), AppError> {
    crate::extract::ensure_utf8_query(parts)?;
    if let Some(query) = parts.uri.query() {
        add_pairs(query.as_bytes(), object);
    }
    Ok(())
}

fn add_pairs(encoded: &[u8], object: &mut Map<String, Value>) {
    for (name, value) in url::form_urlencoded::parse(encoded) {
        insert_pair(object, &name, Value::String(value.into_owned()));
    }
}

/// Adds one `name=value` pair, reading Rails' brackets in `name`.
fn insert_pair(object: &mut Map<String, Value>, name: &str, value: Value) {
    let (head, rest) = match name.find('[') {
        Some(at) if at > 0 => (&name[..at], &name[at..]),
        _ => (name, ""),
    };
    let mut keys: Vec<&str> = Vec::new();
    let mut rest = rest;
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']') else { break };
        keys.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    insert_path(object, head, &keys, value);
}

fn insert_path(object: &mut Map<String, Value>, key: &str, path: &[&str], value: Value) {
    match path.split_first() {
        None => {
            object.insert(key.to_owned(), value);
        }
        Some((&"", _)) => {
            let slot = object
                .entry(key.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(items) = slot {
                items.push(value);
            }
        }
        Some((next, rest)) => {
            let slot = object
                .entry(key.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                insert_path(inner, next, rest, value);
            }
        }
    }
}

fn read<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, AppError> {
    serde_path_to_error::deserialize::<_, T>(Value::Object(object)).map_err(|error| {
        let field = error.path().to_string();
        let field = if field == "." { "body".into() } else { field };
        AppError::Validation(vec![FieldError::new(field, error.inner().to_string())])
    })
}

/// Deserializers that take a form's strings as well as JSON's typed values.
pub mod lenient {
    use serde::Deserialize;
    use serde::de::{self, Deserializer};
    use serde_json::Value;

    fn as_bool<E: de::Error>(value: &Value) -> Result<Option<bool>, E> {
        match value {
            Value::Null => Ok(None),
            Value::Bool(flag) => Ok(Some(*flag)),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(Some(true)),
            Value::Number(n) if n.as_u64() == Some(0) => Ok(Some(false)),
            Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "on" => Ok(Some(true)),
                "false" | "0" | "off" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(E::custom("must be true or false")),
            },
            _ => Err(E::custom("must be true or false")),
        }
    }

    /// `true`/`false`, `1`/`0`, as JSON or as text.
    pub fn opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
        as_bool(&Value::deserialize(deserializer)?)
    }

    /// A whole number, as JSON or as digits.
    pub fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| de::Error::custom("must be a whole number")),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            Value::String(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| de::Error::custom("must be a whole number")),
            _ => Err(de::Error::custom("must be a whole number")),
        }
    }

    /// A list of strings: an array (`key[]`), or one value (`key=`); numbers are taken as
    /// their digits (some clients send ids as JSON numbers).
    pub fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        fn one<E: de::Error>(value: Value) -> Result<String, E> {
            match value {
                Value::String(text) => Ok(text),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(E::custom("must be a list of strings")),
            }
        }
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items.into_iter().map(one).collect(),
            Value::Object(items) => items.into_iter().map(|(_, item)| one(item)).collect(),
            other => Ok(vec![one(other)?]),
        }
    }

    /// A string, or a number taken as its digits (ids sent as JSON numbers).
    pub fn opt_string<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(None),
            Value::String(text) => Ok(Some(text)),
            Value::Number(n) => Ok(Some(n.to_string())),
            _ => Err(de::Error::custom("must be a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(form: &str) -> Value {
        let mut object = Map::new();
        add_pairs(form.as_bytes(), &mut object);
        Value::Object(object)
    }

    #[test]
    fn rails_brackets_make_arrays_and_objects() {
        assert_eq!(
            parse("status=hi&media_ids[]=1&media_ids[]=2&poll[options][]=a&poll[expires_in]=60"),
            serde_json::json!({
                "status": "hi",
                "media_ids": ["1", "2"],
                "poll": {"options": ["a"], "expires_in": "60"}
            })
        );
    }

    #[test]
    fn plain_keys_and_odd_brackets_are_kept() {
        assert_eq!(
            parse("a=1&a=2&[x]=3"),
            serde_json::json!({"a": "2", "[x]": "3"})
        );
    }

    #[derive(Debug, serde::Deserialize)]
    struct Flags {
        #[serde(default, deserialize_with = "lenient::opt_bool")]
        locked: Option<bool>,
        #[serde(default, deserialize_with = "lenient::opt_u64")]
        limit: Option<u64>,
        #[serde(default, deserialize_with = "lenient::strings")]
        types: Vec<String>,
    }

    #[test]
    fn form_strings_read_as_booleans_numbers_and_lists() {
        let flags: Flags = read(
            parse("locked=1&limit=40&types[]=follow&types[]=mention")
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(flags.locked, Some(true));
        assert_eq!(flags.limit, Some(40));
        assert_eq!(flags.types, ["follow", "mention"]);
        let flags: Flags = read(
            serde_json::json!({"locked": false, "limit": 5, "types": "follow"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(flags.locked, Some(false));
        assert_eq!(flags.types, ["follow"]);
        let error = read::<Flags>(parse("locked=maybe").as_object().cloned().unwrap());
        assert!(error.is_err());
    }
}
