//! The OpenAPI document, assembled from the `#[utoipa::path]` annotations of the very
//! routes the router serves, and the interactive documentation page, served from assets
//! compiled into the binary (no network access needed at build or run time).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, ContentBuilder, OpenApi as OpenApiDocument, Ref, RefOr, Response as ApiResponse,
    ResponseBuilder,
};
use utoipa::{Modify, OpenApi};

use crate::app::{self, AppState};
use crate::error::PROBLEM_JSON;

/// Where the document and the docs page are served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
pub const DOCS_PATH: &str = "/api/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roost API",
        description = "A social media API: accounts with revocable tokens, profiles, follows, posts, \
feed, likes, comments and scheduled posts.\n\n\
All endpoints except the operational ones live under `/api/v1`. Bodies are JSON; errors are \
RFC 9457 `application/problem+json` with a stable `code`. Authenticate with \
`Authorization: Bearer <token>` from `POST /api/v1/auth/login`.",
        license(name = "MIT"),
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "Auth", description = "Registration, login, logout and password change."),
        (name = "Profile", description = "Your own account: profile, avatar, deletion."),
        (name = "Users", description = "Public profiles and user search."),
        (name = "Follows", description = "The follow graph, follow requests to locked accounts, and removing followers."),
        (name = "Safety", description = "Blocking and muting accounts."),
        (name = "Posts", description = "Posts: create, read, edit, delete, list and search."),
        (name = "Feed", description = "Your home feed."),
        (name = "Tags", description = "Hashtags and their posts."),
        (name = "Likes", description = "Liking posts."),
        (name = "Comments", description = "Comments on posts."),
        (name = "Notifications", description = "What others did that concerns you, and your published scheduled posts."),
        (name = "Stream", description = "Server-Sent Events: new posts in your feed, their edits and deletions, and your notifications, as they happen."),
        (name = "Scheduled posts", description = "Posts published later, exactly once, by the server itself."),
        (name = "Media", description = "Uploaded images and their files."),
        (name = "Operations", description = "Liveness and readiness probes."),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "A token from `POST /api/v1/auth/login`. `Authorization: Token <token>` is accepted too.".into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The base document (info, tags, security schemes) that the routes' paths are merged into.
pub fn base() -> OpenApiDocument {
    ApiDoc::openapi()
}

/// The whole document, as served at `/api/openapi.json` and printed by `roost openapi`.
pub fn openapi() -> OpenApiDocument {
    with_shared_responses(app::api_router().into_openapi())
}

/// The API proper. Every operation under it checks a token that is presented, whether or
/// not it needs one.
const API_PREFIX: &str = "/api/v1/";

/// The probes, never budgeted or shed (`/readyz` documents its own 503).
const HEALTH_PROBES: [&str; 2] = ["/healthz", "/readyz"];

/// Adds the answers that operations of a kind give whatever their own logic, each declared
/// once under `components.responses` and referenced from every operation of that kind
/// (see [`shared_responses_of`]). An operation's own response for a status wins over the
/// shared one: login's 401 and 429, for instance, say more than the shared ones would.
pub fn with_shared_responses(mut document: OpenApiDocument) -> OpenApiDocument {
    let components = document.components.get_or_insert_with(Default::default);
    for (name, response) in shared_responses() {
        components.responses.insert(name.into(), RefOr::T(response));
    }
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, name) in shared_responses_of(path, operation) {
                operation
                    .responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            }
        }
    }
    document
}

/// The shared responses, by their name under `components.responses`.
fn shared_responses() -> [(&'static str, ApiResponse); 7] {
    [
        (
            "MissingOrInvalidToken",
            problem_response(
                "Missing, malformed, expired or revoked token.",
                examples::unauthorized(),
            ),
        ),
        (
            "InvalidToken",
            problem_response(
                "A token was sent but is malformed, expired or revoked.",
                examples::unauthorized(),
            ),
        ),
        (
            "MalformedJson",
            problem_response("The body is not valid JSON.", examples::malformed_json()),
        ),
        (
            "PayloadTooLarge",
            problem_response(
                "The body is over the size limit.",
                examples::payload_too_large(),
            ),
        ),
        (
            "UnsupportedMediaType",
            problem_response(
                "The body is not `application/json`.",
                examples::unsupported_media_type(),
            ),
        ),
        ("RateLimited", rate_limited_response()),
        ("Unavailable", unavailable_response()),
    ]
}

/// Which shared responses an operation gives, as `(status, name)`, decided by what its own
/// description says, so that a new operation cannot be left without them:
///
/// - **401**: an operation whose every security requirement names a scheme needs a token
///   (`MissingOrInvalidToken`). Any other operation under `/api/v1` is public, but a token
///   presented to it is checked all the same, and a bad one is a 401 there too
///   (`InvalidToken`). The image files and the probes outside `/api/v1` never read a token.
/// - **400, 413, 415**: an operation with an `application/json` request body, which may not
///   parse, be over the size limit or come with another content type. Image uploads
///   (`multipart/form-data`) describe their own limits.
/// - **429, 503**: every operation but the health probes: any request may find its client's
///   budget spent, the server shedding load, its time running out or the database away.
fn shared_responses_of(path: &str, operation: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut shared = Vec::new();
    if HEALTH_PROBES.contains(&path) {
        return shared;
    }
    let requirements = operation.security.as_deref().unwrap_or_default();
    let needs_token =
        !requirements.is_empty() && !requirements.contains(&SecurityRequirement::default());
    if needs_token {
        shared.push(("401", "MissingOrInvalidToken"));
    } else if path.starts_with(API_PREFIX) {
        shared.push(("401", "InvalidToken"));
    }
    let takes_json = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    if takes_json {
        shared.extend([
            ("400", "MalformedJson"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
        ]);
    }
    shared.extend([("429", "RateLimited"), ("503", "Unavailable")]);
    shared
}

fn retry_after_header(description: &str) -> Header {
    let mut header = Header::new(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1)),
    );
    header.description = Some(description.into());
    header
}

fn count_header(description: &str) -> Header {
    let mut header = Header::new(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0)),
    );
    header.description = Some(description.into());
    header
}

fn problem_content(example: serde_json::Value) -> Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .example(Some(example))
        .build()
}

fn problem_response(description: &str, example: serde_json::Value) -> ApiResponse {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, problem_content(example))
        .build()
}

fn rate_limited_response() -> ApiResponse {
    ResponseBuilder::new()
        .description(
            "The client's request budget for this kind of request is spent (see the guide's \
             rate-limit section). Wait `Retry-After` seconds. Every budgeted response also \
             carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (and the \
             same with an `X-` prefix).",
        )
        .header(
            "Retry-After",
            retry_after_header("Seconds until a request of this kind can succeed."),
        )
        .header(
            "RateLimit-Limit",
            count_header("Requests of this kind allowed per minute."),
        )
        .header(
            "RateLimit-Remaining",
            count_header("Requests of this kind left now (0)."),
        )
        .header(
            "RateLimit-Reset",
            count_header("Seconds until the budget is whole again."),
        )
        .content(
            PROBLEM_JSON,
            problem_content(serde_json::json!({
                "type": "about:blank",
                "title": "Too Many Requests",
                "status": 429,
                "code": "rate_limited",
                "detail": "Too many requests of this kind from this client; retry in 12 s."
            })),
        )
        .build()
}

fn unavailable_response() -> ApiResponse {
    ResponseBuilder::new()
        .description(
            "Try again shortly (`Retry-After`). `code` says why: `overloaded` (the server is at \
             capacity and refused the request without doing anything), `timeout` (the request \
             ran out of time and was abandoned; its changes were rolled back), or \
             `service_unavailable` (the database cannot be reached).",
        )
        .header(
            "Retry-After",
            retry_after_header("Seconds to wait before retrying."),
        )
        .content(
            PROBLEM_JSON,
            problem_content(serde_json::json!({
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "code": "overloaded",
                "detail": "The server is at capacity; retry shortly."
            })),
        )
        .build()
}

/// Routes serving the document and the Swagger UI page.
pub fn router(document: OpenApiDocument) -> Router<AppState> {
    let json = Arc::new(document.to_json().unwrap_or_default());
    let config = Arc::new(
        utoipa_swagger_ui::Config::new([OPENAPI_PATH])
            .validator_url("none")
            .persist_authorization(true)
            .display_request_duration(true),
    );
    Router::new()
        .route(
            OPENAPI_PATH,
            get(move || {
                let json = Arc::clone(&json);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.as_ref().clone(),
                    )
                }
            }),
        )
        .route(DOCS_PATH, get(docs_index))
        .route(&format!("{DOCS_PATH}/"), get(docs_index))
        .route(&format!("{DOCS_PATH}/{{*file}}"), get(docs_file))
        .with_state(config)
}

type SwaggerConfig = Arc<utoipa_swagger_ui::Config<'static>>;

/// The docs page itself, answered with 200 at `/api/docs` (no redirect); a `<base>` element
/// makes its relative asset links resolve under `/api/docs/`.
async fn docs_index(State(config): State<SwaggerConfig>) -> Response {
    match utoipa_swagger_ui::serve("index.html", config) {
        Ok(Some(file)) => {
            let html = String::from_utf8_lossy(&file.bytes).replacen(
                "<head>",
                &format!("<head>\n    <base href=\"{DOCS_PATH}/\">"),
                1,
            );
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn docs_file(State(config): State<SwaggerConfig>, Path(file): Path<String>) -> Response {
    match utoipa_swagger_ui::serve(&file, config) {
        Ok(Some(file)) => {
            let mut response = file.bytes.into_owned().into_response();
            if let Ok(value) = HeaderValue::from_str(&file.content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Example values shown in the document, kept in one place so that schema and operation
/// examples agree.
pub mod examples {
    use serde_json::{Value, json};

    pub fn me() -> Value {
        json!({
            "id": "019acbde-2f7a-7c3e-9a53-5d6c3e0b1f42",
            "username": "alice",
            "display_name": "",
            "bio": "",
            "location": "",
            "website": "",
            "avatar_url": null,
            "locked": false,
            "created_at": "2026-11-28T20:14:46.123456Z",
            "followers_count": 0,
            "following_count": 0,
            "posts_count": 0,
            "following": null,
            "followed_by": null,
            "requested": null,
            "blocking": null,
            "blocked_by": null,
            "muting": null,
            "email": "alice@example.com"
        })
    }

    pub fn user() -> Value {
        json!({
            "id": "019acbe0-8d12-7b41-b7c4-0f3e2a9d5c11",
            "username": "bob",
            "display_name": "Bob Builder",
            "bio": "Can we fix it?",
            "location": "Bristol",
            "website": "https://bob.example",
            "avatar_url": "http://127.0.0.1:8080/media/5f0c2a7e9b1d4c3a8e6f7a2b1c0d9e8f.jpg",
            "locked": false,
            "created_at": "2026-11-28T20:16:02.551804Z",
            "followers_count": 12,
            "following_count": 3,
            "posts_count": 41,
            "following": true,
            "followed_by": false,
            "requested": false,
            "blocking": false,
            "blocked_by": false,
            "muting": false
        })
    }

    /// A user who asks to follow the viewer's locked account.
    pub fn requester_page() -> Value {
        let mut user = user();
        user["username"] = json!("carol");
        user["display_name"] = json!("Carol");
        user["following"] = json!(false);
        json!({"items": [user], "next_cursor": null})
    }

    /// A user the viewer blocks.
    pub fn blocked_page() -> Value {
        let mut user = user();
        user["username"] = json!("mallory");
        user["display_name"] = json!("Mallory");
        user["following"] = json!(false);
        user["blocking"] = json!(true);
        json!({"items": [user], "next_cursor": null})
    }

    /// A user the viewer mutes.
    pub fn muted_page() -> Value {
        let mut user = user();
        user["username"] = json!("mallory");
        user["display_name"] = json!("Mallory");
        user["following"] = json!(false);
        user["muting"] = json!(true);
        json!({"items": [user], "next_cursor": null})
    }

    pub fn blocked() -> Value {
        problem(
            403,
            "Forbidden",
            "blocked",
            "One of the two accounts blocks the other.",
        )
    }

    pub fn private_account() -> Value {
        problem(
            403,
            "Forbidden",
            "private_account",
            "This account is locked: only its followers may see its posts and follows.",
        )
    }

    pub fn no_pending_request() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "\"carol\" has no pending request to follow you.",
        )
    }

    pub fn cannot_block_self() -> Value {
        problem(
            422,
            "Unprocessable Entity",
            "cannot_block_self",
            "You cannot block yourself.",
        )
    }

    pub fn cannot_mute_self() -> Value {
        problem(
            422,
            "Unprocessable Entity",
            "cannot_mute_self",
            "You cannot mute yourself.",
        )
    }

    pub fn me_edited() -> Value {
        let mut me = me();
        me["display_name"] = json!("Alice Liddell");
        me["bio"] = json!("Curiouser and curiouser.");
        me["website"] = json!("https://alice.example");
        me
    }

    pub fn user_page() -> Value {
        json!({"items": [user()], "next_cursor": "MXwwMTlhY2JlMC04ZDEyLTdiNDEtYjdjNC0wZjNlMmE5ZDVjMTE"})
    }

    pub fn user_not_found() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "There is no user named \"carol\".",
        )
    }

    pub fn cannot_follow_self() -> Value {
        problem(
            422,
            "Unprocessable Entity",
            "cannot_follow_self",
            "You cannot follow yourself.",
        )
    }

    pub fn invalid_cursor() -> Value {
        problem(
            400,
            "Bad Request",
            "invalid_cursor",
            "`cursor` is not a cursor this list issued.",
        )
    }

    pub fn invalid_password_for_deletion() -> Value {
        problem(
            403,
            "Forbidden",
            "invalid_password",
            "The password is wrong.",
        )
    }

    pub fn me_with_avatar() -> Value {
        let mut me = me();
        me["avatar_url"] =
            json!("http://127.0.0.1:8080/media/9b1d4c3a8e6f7a2b5f0c2a7e1c0d9e8f.jpg");
        me
    }

    pub fn malformed_multipart() -> Value {
        problem(
            400,
            "Bad Request",
            "malformed_multipart",
            "The multipart body could not be read.",
        )
    }

    pub fn image_too_large() -> Value {
        problem(
            413,
            "Payload Too Large",
            "payload_too_large",
            "The file is larger than the 10 MiB upload limit.",
        )
    }

    pub fn unsupported_image() -> Value {
        problem(
            415,
            "Unsupported Media Type",
            "unsupported_media_type",
            "The file is not a JPEG, PNG, WebP or GIF image.",
        )
    }

    pub fn no_avatar() -> Value {
        problem(404, "Not Found", "not_found", "You have no avatar.")
    }

    pub fn media_not_found() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "There is no media file with this key.",
        )
    }

    pub fn media() -> Value {
        json!({
            "id": "019acc01-5b7e-7d2a-8f3c-2e6a1b9d4c70",
            "type": "image",
            "url": "http://127.0.0.1:8080/media/c0d9e8f5f0c2a7e9b1d4c3a8e6f7a2b1.jpg",
            "preview_url": "http://127.0.0.1:8080/media/7a2b1c0d9e8f5f0c2a7e9b1d4c3a8e6f.jpg",
            "width": 1600,
            "height": 1200,
            "description": "A heron on the river bank at dawn."
        })
    }

    pub fn post() -> Value {
        json!({
            "id": "019acc02-0a4d-7e61-9c3b-55e0f2d8a917",
            "author": {"id": "019acbde-2f7a-7c3e-9a53-5d6c3e0b1f42", "username": "alice",
                "display_name": "Alice Liddell", "avatar_url": null},
            "content": "First light on the river with @bob #birds #morning",
            "visibility": "public",
            "tags": ["birds", "morning"],
            "mentions": [{"id": "019acbe0-8d12-7b41-b7c4-0f3e2a9d5c11", "username": "bob",
                "display_name": "Bob Builder", "avatar_url": null}],
            "media": [media()],
            "like_count": 3,
            "comment_count": 1,
            "liked": false,
            "created_at": "2026-11-28T21:02:11.734102Z",
            "edited_at": null
        })
    }

    pub fn post_edited() -> Value {
        let mut post = post();
        post["content"] = json!("First light on the river, and a heron #birds");
        post["tags"] = json!(["birds"]);
        post["mentions"] = json!([]);
        post["edited_at"] = json!("2026-11-28T21:07:40.118530Z");
        post
    }

    pub fn post_page() -> Value {
        json!({"items": [post()], "next_cursor": "MXwwMTlhY2MwMi0wYTRkLTdlNjEtOWMzYi01NWUwZjJkOGE5MTc"})
    }

    pub fn post_not_found() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "There is no post with this id.",
        )
    }

    pub fn tag_not_found() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "A tag name has only letters, digits and `_`.",
        )
    }

    pub fn not_owner(what: &str) -> Value {
        problem(
            403,
            "Forbidden",
            "not_owner",
            &format!("Only the author of this {what} may change or delete it."),
        )
    }

    pub fn idempotency_key_reused() -> Value {
        problem(
            422,
            "Unprocessable Entity",
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request body.",
        )
    }

    pub fn scheduled_post() -> Value {
        json!({
            "id": "019acc10-77aa-7c01-8e4b-1d2c3b4a5f60",
            "content": "Happy new year! #2027",
            "visibility": "public",
            "tags": ["2027"],
            "media": [],
            "publish_at": "2026-12-31T23:00:00Z",
            "created_at": "2026-11-28T21:30:00.512044Z"
        })
    }

    pub fn scheduled_post_page() -> Value {
        json!({"items": [scheduled_post()], "next_cursor": null})
    }

    pub fn idempotent_schedule_gone() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "The schedule created with this key has since been published or cancelled.",
        )
    }

    pub fn scheduled_post_not_found() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "You have no scheduled post with this id.",
        )
    }

    pub fn login_response() -> Value {
        json!({
            "token": "q3V8mJX0nq0Yw2s1cK4bDk9xT7uR5pLzE6hG2aWfN1o",
            "token_type": "Bearer",
            "expires_at": "2026-12-28T20:15:02.481230Z",
            "user": me()
        })
    }

    fn problem(status: u16, title: &str, code: &str, detail: &str) -> Value {
        json!({"type": "about:blank", "title": title, "status": status, "code": code, "detail": detail})
    }

    pub fn malformed_json() -> Value {
        problem(
            400,
            "Bad Request",
            "malformed_json",
            "The request body is not valid JSON: EOF while parsing an object at line 1 column 10.",
        )
    }

    pub fn unauthorized() -> Value {
        problem(
            401,
            "Unauthorized",
            "invalid_token",
            "The token is malformed, expired or revoked.",
        )
    }

    pub fn invalid_credentials() -> Value {
        problem(
            401,
            "Unauthorized",
            "invalid_credentials",
            "The email address or the password is wrong.",
        )
    }

    pub fn invalid_password() -> Value {
        problem(
            403,
            "Forbidden",
            "invalid_password",
            "The current password is wrong.",
        )
    }

    pub fn conflict(code: &str, field: &str, detail: &str) -> Value {
        let mut value = problem(409, "Conflict", code, detail);
        value["errors"] = json!([{"field": field, "message": "is already taken"}]);
        value
    }

    pub fn payload_too_large() -> Value {
        problem(
            413,
            "Payload Too Large",
            "payload_too_large",
            "The request body is over the size limit.",
        )
    }

    pub fn unsupported_media_type() -> Value {
        problem(
            415,
            "Unsupported Media Type",
            "unsupported_media_type",
            "Expected a body with `Content-Type: application/json`.",
        )
    }

    pub fn validation(fields: &[(&str, &str)]) -> Value {
        let mut value = problem(
            422,
            "Unprocessable Entity",
            "validation_failed",
            "The request body has invalid fields.",
        );
        value["errors"] = fields
            .iter()
            .map(|(field, message)| json!({"field": field, "message": message}))
            .collect();
        value
    }

    pub fn too_many_failed_logins() -> Value {
        problem(
            429,
            "Too Many Requests",
            "too_many_failed_logins",
            "Too many failed logins for this email address; try again in 840 seconds.",
        )
    }

    pub fn comment() -> Value {
        json!({
            "id": "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53",
            "post_id": "019acc02-0a4d-7e61-9c3b-55e0f2d8a917",
            "author": {"id": "019acbe0-8d12-7b41-b7c4-0f3e2a9d5c11", "username": "bob",
                "display_name": "Bob Builder",
                "avatar_url": "http://127.0.0.1:8080/media/5f0c2a7e9b1d4c3a8e6f7a2b1c0d9e8f.jpg"},
            "content": "What a heron! Which river is this?",
            "mentions": [],
            "created_at": "2026-11-28T21:05:37.402219Z",
            "edited_at": null
        })
    }

    pub fn comment_edited() -> Value {
        let mut comment = comment();
        comment["content"] = json!("What a heron! Which river is this? (the Avon?)");
        comment["edited_at"] = json!("2026-11-28T21:09:12.907315Z");
        comment
    }

    pub fn comment_page() -> Value {
        json!({"items": [comment()], "next_cursor": "MXwwMTlhY2MwNS03YzIxLTdmM2UtYTRkOC0xYjllNmMyZjBhNTM"})
    }

    pub fn comment_not_found() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "There is no comment with this id.",
        )
    }

    pub fn notification() -> Value {
        json!({
            "id": "019acc10-3c1e-7a40-8d2b-6f5e4c3b2a19",
            "type": "comment",
            "created_at": "2026-11-28T21:05:37.402219Z",
            "read": false,
            "account": {"id": "019acbe0-8d12-7b41-b7c4-0f3e2a9d5c11", "username": "bob",
                "display_name": "Bob Builder",
                "avatar_url": "http://127.0.0.1:8080/media/5f0c2a7e9b1d4c3a8e6f7a2b1c0d9e8f.jpg"},
            "post": post(),
            "comment": comment()
        })
    }

    pub fn notification_page() -> Value {
        let follow = json!({
            "id": "019acc0f-11aa-7b2c-9d3e-4f5a6b7c8d9e",
            "type": "follow",
            "created_at": "2026-11-28T20:58:02.113052Z",
            "read": true,
            "account": {"id": "019acbe0-8d12-7b41-b7c4-0f3e2a9d5c11", "username": "bob",
                "display_name": "Bob Builder", "avatar_url": null},
            "post": null,
            "comment": null
        });
        json!({"items": [notification(), follow], "next_cursor": null})
    }

    pub fn invalid_types() -> Value {
        problem(
            400,
            "Bad Request",
            "invalid_query",
            "`types` must be a comma-separated list of: follow, follow_request, follow_accepted, like, comment, mention, published.",
        )
    }

    pub fn notification_not_found() -> Value {
        problem(
            404,
            "Not Found",
            "not_found",
            "You have no notification with this id.",
        )
    }

    pub fn stream_events() -> Value {
        Value::String(format!(
            "id: 019acc02-0a4d-7e61-9c3b-55e0f2d8a917\nevent: post\ndata: {}\n\n: ping\n\n\
             id: 019acc10-3c1e-7a40-8d2b-6f5e4c3b2a19\nevent: notification\ndata: {}\n\n\
             id: 019acc11-0b2c-7d3e-8f40-5a6b7c8d9e0f\nevent: post.delete\ndata: {{\"id\":\"019acc02-0a4d-7e61-9c3b-55e0f2d8a917\"}}\n\n",
            post(),
            notification()
        ))
    }

    pub fn invalid_last_event_id() -> Value {
        problem(
            400,
            "Bad Request",
            "invalid_last_event_id",
            "`Last-Event-ID` must be the id of an event this stream sent.",
        )
    }

    pub fn too_many_streams() -> Value {
        problem(
            429,
            "Too Many Requests",
            "too_many_streams",
            "An account may hold at most 8 open streams; close one first.",
        )
    }

    pub fn stream_ticket() -> Value {
        json!({
            "ticket": "kq0dS1J2xVYv7mJ8zQ3hXl4c9bTtR6wNfYpGa5eUo2M",
            "expires_at": "2026-11-28T21:06:37.402219Z"
        })
    }
}
