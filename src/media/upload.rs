//! Reading an image upload out of a `multipart/form-data` body: the `file` field, streamed
//! under a size limit, and an optional `description` (alt text).

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

use crate::error::{AppError, FieldError};

/// The most characters (Unicode scalar values) a description may have.
pub const MAX_DESCRIPTION_CHARS: usize = 1500;

/// What a client uploaded: the raw file bytes (not yet checked to be an image) and the
/// optional alt text, trimmed, `None` when absent or blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The `file` field's bytes, unchecked.
    pub bytes: Vec<u8>,
    /// The `description` field, trimmed; `None` when absent, blank or not allowed.
    pub description: Option<String>,
}

/// Reads the `file` field (required, at most `max_bytes`) and, when `allow_description`, the
/// `description` field; other fields are ignored.
///
/// The file is read chunk by chunk and refused with 413 as soon as it passes `max_bytes`,
/// so an oversized upload is never buffered whole.
pub async fn read_upload(
    multipart: &mut Multipart,
    max_bytes: usize,
    allow_description: bool,
) -> Result<Upload, AppError> {
    let mut file = None;
    let mut description = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                if file.is_some() {
                    return Err(AppError::validation("file", "must be sent only once"));
                }
                let bytes = read_limited(field, max_bytes)
                    .await?
                    .ok_or_else(|| too_large(max_bytes))?;
                file = Some(bytes);
            }
            Some("description") if allow_description => {
                if description.is_some() {
                    return Err(AppError::validation(
                        "description",
                        "must be sent only once",
                    ));
                }
                description = Some(read_description(field).await?);
            }
            _ => {}
        }
    }
    let bytes = file.ok_or_else(|| AppError::validation("file", "is required"))?;
    Ok(Upload {
        bytes,
        description: description.flatten(),
    })
}

/// Reads the description: valid UTF-8, at most `MAX_DESCRIPTION_CHARS` once trimmed.
async fn read_description(field: Field<'_>) -> Result<Option<String>, AppError> {
    let too_long = || {
        AppError::Validation(vec![FieldError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        )])
    };
    // A character is at most 4 bytes in UTF-8; allow for surrounding white space as well.
    let bytes = read_limited(field, MAX_DESCRIPTION_CHARS * 4 + 1024)
        .await?
        .ok_or_else(too_long)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| AppError::validation("description", "must be valid UTF-8 text"))?;
    parse_description(&text)
}

/// Alt text as given: trimmed, at most [`MAX_DESCRIPTION_CHARS`] characters, no NUL;
/// `None` when empty.
pub fn parse_description(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::Validation(vec![FieldError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        )]));
    }
    // PostgreSQL cannot store NUL in text; no alt text needs one.
    if text.contains('\0') {
        return Err(AppError::validation(
            "description",
            "must not contain NUL characters",
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// The field's bytes, or `None` as soon as they pass `limit` (the rest is left unread).
async fn read_limited(mut field: Field<'_>, limit: usize) -> Result<Option<Vec<u8>>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len().saturating_add(chunk.len()) > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

fn too_large(max_bytes: usize) -> AppError {
    const MIB: usize = 1024 * 1024;
    let limit = if max_bytes >= MIB && max_bytes.is_multiple_of(MIB) {
        format!("{} MiB", max_bytes / MIB)
    } else {
        format!("{max_bytes} bytes")
    };
    AppError::PayloadTooLarge {
        detail: format!("The file is larger than the {limit} upload limit."),
    }
}

/// A body over the server's request limit is a 413; anything else wrong with the body is a
/// malformed request.
fn multipart_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge {
            detail: "The request body is too large.".to_owned(),
        }
    } else {
        AppError::bad_request(
            "malformed_multipart",
            format!(
                "The multipart body could not be read: {}",
                error.body_text()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::FromRequest;
    use axum::http::{Request, header};

    const BOUNDARY: &str = "roost-test-boundary";

    /// A multipart body with the given `(name, content)` parts.
    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, content) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let filename = if *name == "file" {
                "; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg"
            } else {
                ""
            };
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    async fn multipart(body: Vec<u8>) -> Multipart {
        let request = Request::builder()
            .method("POST")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .expect("request");
        Multipart::from_request(request, &())
            .await
            .expect("a multipart request")
    }

    async fn read(
        parts: &[(&str, &[u8])],
        max_bytes: usize,
        allow_description: bool,
    ) -> Result<Upload, AppError> {
        read_upload(
            &mut multipart(body(parts)).await,
            max_bytes,
            allow_description,
        )
        .await
    }

    fn field_errors(error: AppError) -> Vec<FieldError> {
        match error {
            AppError::Validation(errors) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn reads_the_file_and_description() {
        let upload = read(
            &[
                ("other", b"ignored"),
                ("file", b"\xff\xd8\xff image bytes"),
                ("description", "  A cat on a mat 🐈 ".as_bytes()),
            ],
            1024,
            true,
        )
        .await
        .expect("upload");
        assert_eq!(upload.bytes, b"\xff\xd8\xff image bytes");
        assert_eq!(upload.description.as_deref(), Some("A cat on a mat 🐈"));
    }

    #[tokio::test]
    async fn a_description_with_nul_is_refused() {
        let error = read(&[("file", b"x"), ("description", b"alt\0text")], 1024, true)
            .await
            .expect_err("NUL refused");
        let errors = field_errors(error);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "description");
    }

    #[tokio::test]
    async fn the_description_is_optional_and_blank_means_none() {
        let upload = read(&[("file", b"x")], 1024, true).await.expect("upload");
        assert_eq!(upload.description, None);
        let upload = read(&[("file", b"x"), ("description", b"  \n ")], 1024, true)
            .await
            .expect("upload");
        assert_eq!(upload.description, None);
    }

    #[tokio::test]
    async fn the_description_is_ignored_where_not_allowed() {
        let long = "d".repeat(MAX_DESCRIPTION_CHARS * 10);
        let upload = read(
            &[("description", long.as_bytes()), ("file", b"x")],
            1024,
            false,
        )
        .await
        .expect("upload");
        assert_eq!(upload.description, None);
    }

    #[tokio::test]
    async fn the_description_has_a_length_limit_in_characters() {
        let longest = "é".repeat(MAX_DESCRIPTION_CHARS);
        let upload = read(
            &[("file", b"x"), ("description", longest.as_bytes())],
            1024,
            true,
        )
        .await
        .expect("1500 characters are allowed");
        assert_eq!(upload.description, Some(longest));

        let too_long = "é".repeat(MAX_DESCRIPTION_CHARS + 1);
        let error = read(
            &[("file", b"x"), ("description", too_long.as_bytes())],
            1024,
            true,
        )
        .await
        .expect_err("1501 characters are not");
        assert_eq!(field_errors(error)[0].field, "description");

        let far_too_long = "x".repeat(1_000_000);
        let error = read(
            &[("file", b"x"), ("description", far_too_long.as_bytes())],
            1024,
            true,
        )
        .await
        .expect_err("a huge description");
        assert_eq!(field_errors(error)[0].field, "description");

        let error = read(&[("file", b"x"), ("description", b"\xff\xfe")], 1024, true)
            .await
            .expect_err("not UTF-8");
        assert_eq!(field_errors(error)[0].field, "description");
    }

    #[tokio::test]
    async fn the_file_is_required() {
        let error = read(&[("description", b"alt")], 1024, true)
            .await
            .expect_err("no file");
        assert_eq!(
            field_errors(error),
            vec![FieldError::new("file", "is required")]
        );
        let error = read(&[], 1024, true).await.expect_err("empty form");
        assert_eq!(field_errors(error)[0].field, "file");
    }

    #[tokio::test]
    async fn a_second_file_is_refused() {
        let error = read(&[("file", b"a"), ("file", b"b")], 1024, true)
            .await
            .expect_err("two files");
        assert_eq!(field_errors(error)[0].field, "file");
    }

    #[tokio::test]
    async fn a_file_over_the_limit_is_too_large() {
        let upload = read(&[("file", &[7u8; 100])], 100, false)
            .await
            .expect("exactly at the limit");
        assert_eq!(upload.bytes.len(), 100);

        let error = read(&[("file", &[7u8; 101])], 100, false)
            .await
            .expect_err("over the limit");
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // Under axum's default 2 MB body limit, so this is our own limit speaking.
        let error = read(&[("file", &vec![7u8; 1536 * 1024])], 1024 * 1024, false)
            .await
            .expect_err("over a MiB limit");
        assert!(error.to_string().contains("1 MiB"), "{error}");
    }

    #[tokio::test]
    async fn a_body_over_the_request_limit_is_too_large() {
        // Without a `DefaultBodyLimit` layer, axum limits multipart bodies to 2 MB.
        let error = read(&[("file", &vec![7u8; 3 * 1024 * 1024])], usize::MAX, false)
            .await
            .expect_err("over the body limit");
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_malformed_body_is_a_bad_request() {
        let mut truncated = body(&[("file", b"abc")]);
        truncated.truncate(truncated.len() - 30);
        let error = read_upload(&mut multipart(truncated).await, 1024, true)
            .await
            .expect_err("truncated body");
        match error {
            AppError::BadRequest { code, .. } => assert_eq!(code, "malformed_multipart"),
            other => panic!("expected 400, got {other:?}"),
        }

        let error = read_upload(&mut multipart(b"garbage".to_vec()).await, 1024, true)
            .await
            .expect_err("no parts at all");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}
