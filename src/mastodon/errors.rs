//! Errors as Mastodon clients read them: `{"error": "…"}` with Mastodon's status codes.
//!
//! Handlers of this API return Roost's [`crate::error::AppError`] like every other
//! handler; one middleware rewrites each problem+json answer (the handlers', the
//! extractors', the budgets', the framework's) into Mastodon's shape, so no error is
//! rendered twice and none escapes in the other shape.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::PROBLEM_JSON;

/// Largest problem document read back (ours are far smaller).
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// Middleware (`map_response`): problem+json → `{"error": …}`.
pub async fn mastodon_errors(response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let problem: Value = match to_bytes(body, MAX_PROBLEM_BYTES).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let (status, message) = translate(parts.status, &problem);
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let body = serde_json::to_vec(&json!({ "error": message })).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

/// Mastodon's status and message for a problem.
fn translate(status: StatusCode, problem: &Value) -> (StatusCode, String) {
    let detail = problem["detail"].as_str().unwrap_or("Error").to_owned();
    match status.as_u16() {
        401 => (status, "The access token is invalid".to_owned()),
        404 => (status, "Record not found".to_owned()),
        // Mastodon reports uniqueness and every rule as a failed validation.
        409 | 422 => {
            let fields: Vec<String> = problem["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .map(|error| {
                            format!(
                                "{} {}",
                                error["field"].as_str().unwrap_or(""),
                                error["message"].as_str().unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let message = if fields.is_empty() {
                format!("Validation failed: {detail}")
            } else {
                format!("Validation failed: {}", fields.join(", "))
            };
            (StatusCode::UNPROCESSABLE_ENTITY, message)
        }
        _ => (status, detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_and_rules_become_failed_validations() {
        let problem = json!({"detail": "That username is taken.", "code": "username_taken",
                             "errors": [{"field": "username", "message": "is taken"}]});
        assert_eq!(
            translate(StatusCode::CONFLICT, &problem),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Validation failed: username is taken".to_owned()
            )
        );
        assert_eq!(
            translate(StatusCode::NOT_FOUND, &json!({"detail": "No such post."})).1,
            "Record not found"
        );
    }
}
