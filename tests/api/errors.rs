//! The error contract: every failure, including the framework's own, is problem+json.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_databases;
use crate::helpers::{TestApp, assert_problem};

async fn unknown_paths_are_404_problems(app: TestApp) {
    for path in ["/nope", "/api/v1/nope", "/api/v2/me", "/api/v1/auth"] {
        assert_problem(app.get(path, None).await, 404, "not_found").await;
    }
}

async fn wrong_methods_are_405_problems_with_allow(app: TestApp) {
    let response = app
        .request(Method::DELETE, "/healthz", None)
        .send()
        .await
        .unwrap();
    let allow = response
        .headers()
        .get("allow")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allow.contains("GET"), "{allow}");
    assert_problem(response, 405, "method_not_allowed").await;

    let response = app
        .request(Method::GET, "/api/v1/auth/login", None)
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("allow")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_problem(response, 405, "method_not_allowed").await;
}

async fn malformed_json_is_400(app: TestApp) {
    let response = app
        .request(Method::POST, "/api/v1/auth/login", None)
        .header("content-type", "application/json")
        .body("{\"email\": \"a@b.c\", ")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "malformed_json").await;
}

async fn non_json_bodies_are_415(app: TestApp) {
    let response = app
        .request(Method::POST, "/api/v1/auth/register", None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a%40b.c&password=12345678&username=abc")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;

    let response = app
        .request(Method::POST, "/api/v1/auth/login", None)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported_media_type").await;
}

async fn wrong_json_types_are_422_naming_the_field(app: TestApp) {
    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": ["a"], "password": "x"}),
            None,
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "email");
}

async fn unusual_methods_and_paths_never_fail_with_500(app: TestApp) {
    let paths = [
        "/api/v1/me/%00",
        "/api/v1/%ff%fe",
        "/api/../etc/passwd",
        "/api/docs/../../Cargo.toml",
    ];
    for path in paths {
        let response = app.get(path, None).await;
        assert!(
            response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
    }
    let response = app
        .request(Method::from_bytes(b"PURGE").unwrap(), "/api/v1/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let ok = app.get("/healthz", None).await;
    let failed = app.get("/nope", None).await;
    for response in [ok, failed] {
        let id = response
            .headers()
            .get("x-request-id")
            .expect("x-request-id");
        assert!(!id.is_empty());
    }
    let response = app
        .request(Method::GET, "/healthz", None)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
}

both_databases!(
    unknown_paths_are_404_problems,
    wrong_methods_are_405_problems_with_allow,
    malformed_json_is_400,
    non_json_bodies_are_415,
    wrong_json_types_are_422_naming_the_field,
    unusual_methods_and_paths_never_fail_with_500,
    every_response_carries_a_request_id,
);

async fn bodies_over_the_limit_are_413(app: TestApp) {
    let big = "x".repeat(4096);
    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": big, "password": "12345678"}),
            None,
        )
        .await;
    assert_problem(response, 413, "payload_too_large").await;
    // A body under the limit on the same endpoint is processed normally.
    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "a@example.com", "password": "12345678"}),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

const SMALL_BODIES: &[(&str, &str)] = &[("ROOST_JSON_BODY_LIMIT", "1024")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413_on_sqlite() {
    bodies_over_the_limit_are_413(TestApp::sqlite_with(SMALL_BODIES).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413_on_postgres() {
    if let Some(app) = TestApp::postgres_with(SMALL_BODIES).await {
        bodies_over_the_limit_are_413(app).await;
    }
}
