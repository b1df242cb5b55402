//! The OpenAPI document agrees with the server: every documented operation is served, every
//! contract route implemented so far is documented, and each operation is fully described.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::both_databases;
use crate::helpers::TestApp;
use crate::ordered_json::Json;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Routes of the contract that the server implements, as `(method, path)`.
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/logout-all"),
    ("post", "/api/v1/auth/password"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("delete", "/api/v1/me"),
    ("put", "/api/v1/me/avatar"),
    ("delete", "/api/v1/me/avatar"),
    ("get", "/api/v1/me/followers"),
    ("get", "/api/v1/me/following"),
    ("put", "/api/v1/me/following/{username}"),
    ("delete", "/api/v1/me/following/{username}"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/users/{username}"),
    ("get", "/api/v1/users/{username}/followers"),
    ("get", "/api/v1/users/{username}/following"),
    ("put", "/api/v1/posts/{id}/like"),
    ("delete", "/api/v1/posts/{id}/like"),
    ("get", "/api/v1/posts/{id}/likes"),
    ("get", "/api/v1/posts/{id}/comments"),
    ("post", "/api/v1/posts/{id}/comments"),
    ("get", "/api/v1/comments/{id}"),
    ("patch", "/api/v1/comments/{id}"),
    ("delete", "/api/v1/comments/{id}"),
    ("post", "/api/v1/media"),
    ("get", "/media/{key}"),
    ("post", "/api/v1/posts"),
    ("get", "/api/v1/posts"),
    ("get", "/api/v1/posts/{id}"),
    ("patch", "/api/v1/posts/{id}"),
    ("delete", "/api/v1/posts/{id}"),
    ("get", "/api/v1/feed"),
    ("get", "/api/v1/tags/{name}"),
    ("get", "/api/v1/tags/{name}/posts"),
    ("get", "/api/v1/me/posts"),
    ("get", "/api/v1/me/likes"),
    ("get", "/api/v1/users/{username}/posts"),
    ("post", "/api/v1/scheduled-posts"),
    ("get", "/api/v1/scheduled-posts"),
    ("get", "/api/v1/scheduled-posts/{id}"),
    ("patch", "/api/v1/scheduled-posts/{id}"),
    ("delete", "/api/v1/scheduled-posts/{id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

async fn every_documented_operation_is_served(app: TestApp) {
    let document = serde_json::to_value(roost::docs::openapi()).unwrap();
    let operations = operations(&document);
    assert!(!operations.is_empty());
    for (method, path, _) in operations {
        let concrete = path.replace(['{', '}'], "");
        let response = app
            .request(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                &concrete,
                None,
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not served"
        );
        if status == StatusCode::NOT_FOUND {
            let body: Value = response.json().await.unwrap();
            assert_ne!(
                body["detail"], "There is no resource at this path.",
                "{method} {path} is documented but not routed"
            );
        }
    }
}

both_databases!(every_documented_operation_is_served);

#[test]
fn every_implemented_contract_route_is_documented() {
    let document = serde_json::to_value(roost::docs::openapi()).unwrap();
    for (method, path) in CONTRACT_ROUTES {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
}

#[test]
fn every_operation_is_described_with_examples() {
    let document = serde_json::to_value(roost::docs::openapi()).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (method, path, operation) in operations(&document) {
        let name = format!("{method} {path}");
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: summary"
        );
        assert!(
            operation["description"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{name}: description"
        );
        assert!(
            operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{name}: tags"
        );
        assert!(
            operation["security"].is_array(),
            "{name}: security requirement"
        );
        if let Some(body) = operation.get("requestBody") {
            let content = body["content"].as_object().expect("request content");
            for (media_type, media) in content {
                assert!(
                    media["example"].is_object() || media["examples"].is_object(),
                    "{name} {media_type}: request example"
                );
            }
        }
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{name}: success response"
        );
        if path.starts_with("/api/v1") || path.starts_with("/media") {
            for status in ["429", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{name}: budgeted operations document {status}"
                );
            }
        }
        for (status, response) in responses {
            // Responses shared by many operations are declared once under components.
            let response = match response["$ref"].as_str() {
                Some(reference) => {
                    let name = reference
                        .strip_prefix("#/components/responses/")
                        .expect("a reference to a shared response");
                    &document["components"]["responses"][name]
                }
                None => response,
            };
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{name} {status}: description"
            );
            let Some(content) = response["content"].as_object() else {
                assert!(
                    status == "204" || status == "202",
                    "{name} {status}: only 204 and 202 responses have no body"
                );
                continue;
            };
            for (media_type, media) in content {
                assert!(
                    media.get("example").is_some() || media.get("examples").is_some(),
                    "{name} {status} {media_type}: example"
                );
                if !status.starts_with('2') && path.starts_with("/api/v1") {
                    assert_eq!(
                        media_type, "application/problem+json",
                        "{name} {status}: problem+json"
                    );
                }
            }
        }
        let protected = operation["security"]
            .as_array()
            .unwrap()
            .iter()
            .all(|requirement| requirement.get("bearer").is_some());
        if protected {
            assert!(
                responses.contains_key("401"),
                "{name}: protected operations document 401"
            );
        }
    }
}

/// Every operation documents the answers its kind gives whatever its own logic, and none
/// repeats a shared response inline: a JSON body may be malformed (400), too large (413) or
/// not JSON (415); a token is checked wherever one is needed and, under `/api/v1`, wherever
/// one is presented (401); the image files and the probes never read one.
#[test]
fn operations_of_a_kind_document_the_responses_they_share() {
    let document = serde_json::to_value(roost::docs::openapi()).unwrap();
    let shared = document["components"]["responses"]
        .as_object()
        .expect("shared responses");
    for (method, path, operation) in operations(&document) {
        let name = format!("{method} {path}");
        let responses = operation["responses"].as_object().expect("responses");
        if operation["requestBody"]["content"]["application/json"].is_object() {
            for status in ["400", "413", "415"] {
                assert!(
                    responses.contains_key(status),
                    "{name}: operations with a JSON body document {status}"
                );
            }
        }
        let public = operation["security"]
            .as_array()
            .unwrap()
            .iter()
            .any(|requirement| requirement.as_object().is_some_and(|r| r.is_empty()));
        let reads_token = !public || path.starts_with("/api/v1/");
        assert_eq!(
            responses.contains_key("401"),
            reads_token,
            "{name}: 401 exactly where a token is read"
        );
        if let Some(reference) = responses.get("401").and_then(|r| r["$ref"].as_str()) {
            let expected = if public {
                "InvalidToken"
            } else {
                "MissingOrInvalidToken"
            };
            assert_eq!(
                reference,
                format!("#/components/responses/{expected}"),
                "{name}: 401"
            );
        }
        for (status, response) in responses {
            if response.get("$ref").is_some() {
                continue;
            }
            for (shared_name, shared_response) in shared {
                assert_ne!(
                    response["description"], shared_response["description"],
                    "{name} {status}: a shared response, refer to #/components/responses/{shared_name}"
                );
            }
        }
    }
}

/// The committed snapshot of the document, which clients and tools can read without
/// running the server.
const SNAPSHOT: &str = "docs/openapi.json";

/// `docs/openapi.json` is the document the server serves, pretty-printed; with
/// `ROOST_BLESS=1` the test rewrites it instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_matches_the_committed_snapshot() {
    let app = TestApp::sqlite().await;
    let response = app.get("/api/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let served: Json = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    if std::env::var("ROOST_BLESS").is_ok_and(|value| !value.is_empty() && value != "0") {
        std::fs::write(&path, &pretty).expect("snapshot written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != pretty {
        let difference = committed
            .lines()
            .zip(pretty.lines())
            .enumerate()
            .find(|(_, (old, new))| old != new)
            .map_or_else(
                || "the files differ in length".to_owned(),
                |(index, (old, new))| {
                    format!(
                        "first difference at line {}:\n  committed: {old}\n  served:    {new}",
                        index + 1
                    )
                },
            );
        panic!(
            "{SNAPSHOT} differs from the document the server serves; {difference}\n\
             If the change is intended, update the snapshot with \
             `ROOST_BLESS=1 cargo test --test api docs::` and commit it."
        );
    }
}
