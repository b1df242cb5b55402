//! A token that is presented but dead (never issued, or issued and then revoked by logout)
//! is a 401 `invalid_token` on every operation that documents a 401, public ones included,
//! whatever else is wrong with the request: an unknown id or username, a body the operation
//! would refuse, a form where JSON is expected, invalid query parameters or an invalid
//! `Idempotency-Key`. The operations come from the served OpenAPI document, so an operation
//! is covered as soon as it is documented. The operations that read no token (the health
//! probes and the image files) document no 401: they answer a dead token as they answer no
//! token at all, with a status their document lists.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::both_databases;
use crate::helpers::{PASSWORD, TestApp, UNKNOWN_TOKEN, id_of, json_created};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// One operation of the served document.
struct Operation {
    method: Method,
    /// The path as documented, with `{parameters}`.
    path: String,
    /// Names of its query parameters.
    query: Vec<String>,
    takes_json: bool,
    takes_multipart: bool,
    takes_idempotency_key: bool,
    /// The statuses it documents.
    statuses: Vec<u16>,
    /// Whether one of its security requirements names a token scheme.
    lists_a_token: bool,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn documents(&self, status: StatusCode) -> bool {
        self.statuses.contains(&status.as_u16())
    }
}

/// Every operation of `GET /api/openapi.json`, in document order.
async fn operations(app: &TestApp) -> Vec<Operation> {
    let document = app.get_ok("/api/openapi.json", None).await;
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let named_in = |place: &str| -> Vec<String> {
                parameters
                    .iter()
                    .filter(|parameter| parameter["in"] == place)
                    .map(|parameter| parameter["name"].as_str().unwrap().to_owned())
                    .collect()
            };
            let body = &operation["requestBody"]["content"];
            found.push(Operation {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                path: path.clone(),
                query: named_in("query"),
                takes_json: body["application/json"].is_object(),
                takes_multipart: body["multipart/form-data"].is_object(),
                takes_idempotency_key: named_in("header")
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case("idempotency-key")),
                statuses: operation["responses"]
                    .as_object()
                    .expect("responses")
                    .keys()
                    .map(|status| status.parse().expect("a status code"))
                    .collect(),
                lists_a_token: operation["security"]
                    .as_array()
                    .expect("a security requirement")
                    .iter()
                    .any(|requirement| requirement.as_object().is_some_and(|r| !r.is_empty())),
            });
        }
    }
    assert!(!found.is_empty(), "the document lists operations");
    found
}

/// What the path parameters are filled with: things that do not exist, or things that do
/// (so that, but for the token, the request would succeed).
#[derive(Clone)]
struct PathValues {
    what: &'static str,
    post: String,
    comment: String,
    schedule: String,
    username: String,
    tag: String,
    media_key: String,
}

impl PathValues {
    fn unknown() -> Self {
        let id = uuid::Uuid::now_v7().to_string();
        Self {
            what: "unknown ids and names",
            post: id.clone(),
            comment: id.clone(),
            schedule: id,
            username: "nobody".into(),
            tag: "birds".into(),
            media_key: "0123456789abcdef0123456789abcdef.png".into(),
        }
    }

    /// `template` with each `{parameter}` replaced by its value.
    fn path(&self, template: &str) -> String {
        template
            .split('/')
            .map(|segment| match segment {
                "{id}" if template.starts_with("/api/v1/comments/") => self.comment.as_str(),
                "{id}" if template.starts_with("/api/v1/scheduled-posts/") => {
                    self.schedule.as_str()
                }
                "{id}" => self.post.as_str(),
                "{username}" => self.username.as_str(),
                "{name}" => self.tag.as_str(),
                "{key}" => self.media_key.as_str(),
                other if other.starts_with('{') => {
                    panic!("{template}: no value for {other}; name one in `PathValues`")
                }
                other => other,
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Alice's post (tagged `#river`), her comment on it, her schedule and her upload; returns
/// them as path values, and a token of hers that stays valid.
async fn alices_things(app: &TestApp) -> (PathValues, String) {
    let alice = app.user("alice").await;
    let post = app.create_post(&alice, "A walk by the #river").await;
    let comment = app.comment(&alice, &id_of(&post), "Lovely").await;
    let publish_at = (app.state.clock.now() + chrono::TimeDelta::days(1)).to_rfc3339();
    let schedule = json_created(
        app.post_json(
            "/api/v1/scheduled-posts",
            &json!({"content": "Tomorrow", "publish_at": publish_at}),
            Some(&alice),
        )
        .await,
        "schedule",
    )
    .await;
    let media = app.upload_image(&alice).await;
    let url = media["url"].as_str().expect("a media URL");
    let key = url.rsplit_once("/media/").expect("a /media/ URL").1;
    let existing = PathValues {
        what: "alice's own post, comment, schedule, name and upload",
        post: id_of(&post),
        comment: id_of(&comment),
        schedule: id_of(&schedule),
        username: "alice".into(),
        tag: "river".into(),
        media_key: key.to_owned(),
    };
    (existing, alice)
}

/// A value each query parameter refuses (or, for `author`, one that matches nothing).
fn invalid_value(parameter: &str) -> String {
    match parameter {
        "limit" => "0".into(),
        "cursor" => "not-a-cursor".into(),
        "q" => "x".repeat(201),
        "tag" => "not a tag".into(),
        "author" => "nobody".into(),
        _ => "x".into(),
    }
}

/// The requests sent to `operation` with `token`: as bare as can be, then with each kind of
/// input it takes, malformed or refused.
fn attempts(
    app: &TestApp,
    operation: &Operation,
    values: &PathValues,
    token: &str,
) -> Vec<(String, RequestBuilder)> {
    let path = values.path(&operation.path);
    let request = |path: &str| app.request(operation.method.clone(), path, Some(token));
    let mut attempts = vec![("no body".to_owned(), request(&path))];
    if operation.takes_json {
        attempts.push(("the JSON body {}".into(), request(&path).json(&json!({}))));
    }
    if operation.takes_json || operation.takes_multipart {
        let form = request(&path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("");
        attempts.push(("an empty form body".into(), form));
    }
    if operation.takes_multipart {
        let empty = reqwest::multipart::Form::new();
        attempts.push((
            "a multipart form without a file".into(),
            request(&path).multipart(empty),
        ));
    }
    if !operation.query.is_empty() {
        let query: Vec<(String, String)> = operation
            .query
            .iter()
            .map(|name| (name.clone(), invalid_value(name)))
            .collect();
        attempts.push((
            format!("invalid {}", operation.query.join(", ")),
            request(&path).query(&query),
        ));
    }
    if operation.takes_idempotency_key {
        let keyed = request(&path)
            .header("Idempotency-Key", "k".repeat(256))
            .json(&json!({}));
        attempts.push(("a 256-character Idempotency-Key".into(), keyed));
    }
    attempts
}

/// `Ok` when `response` is the 401 for a dead token: `invalid_token`, as problem+json, with a
/// `Bearer` challenge.
async fn is_dead_token_refusal(response: Response) -> Result<(), String> {
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let refused = status == StatusCode::UNAUTHORIZED
        && content_type == "application/problem+json"
        && body["code"] == "invalid_token"
        && body["status"] == 401
        && challenge.starts_with("Bearer");
    if refused {
        Ok(())
    } else {
        Err(format!(
            "{status} ({content_type}, WWW-Authenticate {challenge:?}): {text}"
        ))
    }
}

/// Sends every attempt at every operation that documents a 401 with `token`, filling its
/// path with each of `path_values`; fails listing each request that was not refused with
/// `invalid_token`.
async fn assert_refused_everywhere(
    app: &TestApp,
    token: &str,
    which_token: &str,
    path_values: &[PathValues],
) {
    let operations = operations(app).await;
    let mut sent = 0;
    let mut failures = Vec::new();
    for operation in operations
        .iter()
        .filter(|o| o.documents(StatusCode::UNAUTHORIZED))
    {
        for values in path_values {
            for (input, request) in attempts(app, operation, values, token) {
                sent += 1;
                let response = request.send().await.expect("request sent");
                if let Err(answer) = is_dead_token_refusal(response).await {
                    failures.push(format!(
                        "{} ({}, {input}) answered {answer}",
                        operation.name(),
                        values.what
                    ));
                }
            }
        }
    }
    assert!(sent > 100, "only {sent} requests were sent");
    assert!(
        failures.is_empty(),
        "{} of {sent} requests with {which_token} were not refused as `invalid_token`:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn a_token_never_issued_is_a_401_on_every_operation_that_documents_one(app: TestApp) {
    let (existing, _) = alices_things(&app).await;
    assert_refused_everywhere(
        &app,
        UNKNOWN_TOKEN,
        "a token never issued",
        &[PathValues::unknown(), existing],
    )
    .await;
}

async fn a_revoked_token_is_a_401_on_every_operation_that_documents_one(app: TestApp) {
    let (existing, alice) = alices_things(&app).await;
    let revoked = app.token("alice@example.com", PASSWORD).await;
    app.logout(&revoked).await;
    assert_refused_everywhere(
        &app,
        &revoked,
        "a revoked token",
        &[PathValues::unknown(), existing],
    )
    .await;
    // Only that session ended: alice's things are all still there for her other one.
    let me = app.get_ok("/api/v1/me", Some(&alice)).await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["posts_count"], 1);
    let schedules = app.get_ok("/api/v1/scheduled-posts", Some(&alice)).await;
    assert_eq!(schedules["items"].as_array().map(Vec::len), Some(1));
}

/// Every operation under `/api/v1` documents a 401; those that do not (the probes and the
/// image files) list no token in their security requirement, and answer a request with a
/// dead token as they answer it without one, with a status they document.
async fn operations_that_read_no_token_answer_a_dead_one_as_they_answer_none(app: TestApp) {
    let (existing, _) = alices_things(&app).await;
    let revoked = app.token("alice@example.com", PASSWORD).await;
    app.logout(&revoked).await;
    let operations = operations(&app).await;
    let left_out: Vec<&Operation> = operations
        .iter()
        .filter(|operation| !operation.documents(StatusCode::UNAUTHORIZED))
        .collect();
    let mut names: Vec<String> = left_out.iter().map(|operation| operation.name()).collect();
    names.sort();
    assert_eq!(
        names,
        ["GET /healthz", "GET /media/{key}", "GET /readyz"],
        "the operations without a 401"
    );
    let mut failures = Vec::new();
    for operation in left_out {
        assert!(
            !operation.lists_a_token,
            "{}: needs a token but documents no 401",
            operation.name()
        );
        for values in [PathValues::unknown(), existing.clone()] {
            let path = values.path(&operation.path);
            let anonymous = app
                .request(operation.method.clone(), &path, None)
                .send()
                .await
                .unwrap()
                .status();
            for (which, token) in [
                ("never issued", UNKNOWN_TOKEN),
                ("revoked", revoked.as_str()),
            ] {
                let status = app
                    .request(operation.method.clone(), &path, Some(token))
                    .send()
                    .await
                    .unwrap()
                    .status();
                if status != anonymous || !operation.documents(status) {
                    failures.push(format!(
                        "{} ({}) with a token {which} answered {status}; without a token \
                         {anonymous}; documented: {:?}",
                        operation.name(),
                        values.what,
                        operation.statuses
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "operations that read no token answered a dead one differently:\n{}",
        failures.join("\n")
    );
}

both_databases!(
    a_token_never_issued_is_a_401_on_every_operation_that_documents_one,
    a_revoked_token_is_a_401_on_every_operation_that_documents_one,
    operations_that_read_no_token_answer_a_dead_one_as_they_answer_none,
);
