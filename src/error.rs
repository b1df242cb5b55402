//! The one error type, `AppError`, and its rendering as RFC 9457 `application/problem+json`.
//!
//! Every failure a client can see goes through here, including the framework's own
//! rejections (unknown route, wrong method, oversized body): `problem_json_fallback`
//! rewrites any plain-text error response into the same shape.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, as every error response carries it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "about:blank",
    "title": "Unprocessable Entity",
    "status": 422,
    "code": "validation_failed",
    "detail": "The request body has invalid fields.",
    "errors": [{"field": "email", "message": "is not a valid email address"}]
}))]
pub struct Problem {
    /// Always `about:blank`: `code` carries the machine-readable kind.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub type_: String,
    /// The HTTP reason phrase of `status`.
    pub title: String,
    /// The HTTP status code, repeated.
    pub status: u16,
    /// A stable, machine-readable error code, e.g. `validation_failed`, `invalid_token`.
    pub code: String,
    /// A human-readable explanation of this occurrence.
    pub detail: String,
    /// Present for field validation failures: one entry per broken rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// One broken rule on one field of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's name (a dotted path for nested fields).
    #[schema(example = "email")]
    pub field: String,
    /// What is wrong with it.
    #[schema(example = "is not a valid email address")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a request failed. Handlers return `Result<_, AppError>`; the variant fixes the status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: syntax errors, invalid query values, bad cursors.
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401: no usable credentials. `code` is `unauthorized` when none were sent and
    /// `invalid_token` when the token is unknown, expired or revoked.
    #[error("{detail}")]
    Unauthorized {
        code: &'static str,
        detail: &'static str,
    },
    /// 403: authenticated but not allowed.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 404: no such resource (or not one the caller may know of).
    #[error("{detail}")]
    NotFound { detail: String },
    /// 409: a uniqueness rule, with the field that clashed.
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        field: &'static str,
    },
    /// 413: a body over its size limit.
    #[error("{detail}")]
    PayloadTooLarge { detail: String },
    /// 415: a body whose type the endpoint does not take.
    #[error("{detail}")]
    UnsupportedMediaType { detail: String },
    /// 422 `validation_failed`: one entry per broken field rule.
    #[error("the request body has invalid fields")]
    Validation(Vec<FieldError>),
    /// 422 with its own code, for rules that are not about one field.
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// 429, with the seconds until a retry can succeed.
    #[error("{detail}")]
    TooManyRequests {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// 503, with `Retry-After`: the database is unavailable (`service_unavailable`), the
    /// server is at capacity (`overloaded`), or the request ran out of time (`timeout`).
    #[error("{detail}")]
    ServiceUnavailable { code: &'static str, detail: String },
    /// 500: anything unexpected. Logged in full, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFound {
            detail: detail.into(),
        }
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    pub fn validation(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let (code, detail, errors): (&str, String, Option<Vec<FieldError>>) = match self {
            Self::BadRequest { code, detail }
            | Self::Forbidden { code, detail }
            | Self::Unprocessable { code, detail }
            | Self::TooManyRequests { code, detail, .. }
            | Self::ServiceUnavailable { code, detail } => (code, detail.clone(), None),
            Self::Unauthorized { code, detail } => (code, (*detail).to_owned(), None),
            Self::NotFound { detail } => ("not_found", detail.clone(), None),
            Self::Conflict {
                code,
                detail,
                field,
            } => (
                code,
                detail.clone(),
                Some(vec![FieldError::new(*field, "is already taken")]),
            ),
            Self::PayloadTooLarge { detail } => ("payload_too_large", detail.clone(), None),
            Self::UnsupportedMediaType { detail } => {
                ("unsupported_media_type", detail.clone(), None)
            }
            Self::Validation(errors) => (
                "validation_failed",
                "The request body has invalid fields.".to_owned(),
                Some(errors.clone()),
            ),
            Self::Internal(_) => (
                "internal_error",
                "An unexpected error occurred; it has been logged.".to_owned(),
                None,
            ),
        };
        Problem {
            type_: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: code.to_owned(),
            detail,
            errors,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(error: DbErr) -> Self {
        if is_unavailable(&error) {
            tracing::warn!(%error, "database unavailable");
            return Self::ServiceUnavailable {
                code: "service_unavailable",
                detail: "The database is unavailable; try again shortly.".into(),
            };
        }
        Self::Internal(anyhow::Error::new(error))
    }
}

/// Whether a database error means "cannot reach the database right now" rather than a bug
/// (including SQLite still busy with another writer after its timeout and retries).
fn is_unavailable(error: &DbErr) -> bool {
    if crate::db::is_busy(error) {
        return true;
    }
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
            matches!(
                inner.as_ref(),
                SqlxError::Io(_)
                    | SqlxError::PoolTimedOut
                    | SqlxError::PoolClosed
                    | SqlxError::WorkerCrashed
            )
        }
        _ => false,
    }
}

/// Whether `error` is a violated unique constraint (used to turn races into 409s).
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether `error` is a violated foreign key (a referenced row vanished meanwhile).
pub fn is_foreign_key_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(error) = &self {
            tracing::error!(error = ?error, "request failed with an internal error");
        }
        let mut response = problem_response(&self.problem());
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized { code, .. } => {
                let value = if *code == "invalid_token" {
                    "Bearer error=\"invalid_token\""
                } else {
                    "Bearer"
                };
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::ServiceUnavailable { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

/// Serialises a problem with its status and content type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The router's fallback: an unknown path is a 404 problem.
pub async fn route_not_found() -> AppError {
    AppError::not_found("There is no resource at this path.")
}

/// Marks an error response whose body is meant as it is, in a format a protocol fixes
/// (OAuth's `{"error": "invalid_grant", …}`, an HTML page): [`problem_json_fallback`]
/// leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct OwnErrorBody;

/// Middleware that turns error responses produced outside our handlers (axum's 405,
/// tower-http's 413/408, a caught panic) into problem+json, keeping headers such as `Allow`.
pub async fn problem_json_fallback(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<OwnErrorBody>().is_some()
    {
        return response;
    }
    let already_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if already_problem {
        return response;
    }
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "There is no resource at this path."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This path does not support this method; see the Allow header.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request took too long to arrive."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "The request body's content type is not supported here.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "service_unavailable",
            "The server is busy; try again shortly.",
        ),
        status if status.is_server_error() => (
            "internal_error",
            "An unexpected error occurred; it has been logged.",
        ),
        _ => ("bad_request", "The request could not be processed."),
    };
    let problem = Problem {
        type_: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
        detail: detail.to_owned(),
        errors: None,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let rendered = problem_response(&problem);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, rendered.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_carry_their_fields() {
        let problem = AppError::validation("email", "is not a valid email address").problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.code, "validation_failed");
        assert_eq!(problem.title, "Unprocessable Entity");
        assert_eq!(problem.errors.unwrap()[0].field, "email");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let problem = AppError::Internal(anyhow::anyhow!("secret table name")).problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("secret"));
    }
}
