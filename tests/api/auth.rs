//! Accounts and sessions: register, login, logout, logout-all, password change, `/me`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_databases;
use crate::helpers::{PASSWORD, TestApp};

async fn register_then_login_then_me(app: TestApp) {
    let response = app.register("Alice@Example.com", "Alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["username"], "alice");

    let token = app.token("ALICE@example.com", PASSWORD).await;
    let response = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched, me);
}

both_databases!(register_then_login_then_me);
