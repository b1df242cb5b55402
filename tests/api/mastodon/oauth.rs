//! OAuth 2: registering apps, the authorize page driven like a browser (its cookie, its
//! hidden fields, its buttons), the code, client-credentials and password grants, PKCE,
//! revocation from either API, app tokens, scopes, and the server's metadata.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, Response, StatusCode, header};
use roost::clock::Clock;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{PASSWORD, TestApp, UNKNOWN_TOKEN, assert_masto_error, json_ok};
use crate::{both_databases, both_databases_with};

const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const CALLBACK: &str = "https://app.example/callback";

/// A registered app's credentials.
struct Client {
    id: String,
    secret: String,
}

async fn register_app(app: &TestApp, redirect_uris: &str, scopes: &str) -> Client {
    let registered = app
        .masto_post_form(
            "/api/v1/apps",
            &[
                ("client_name", "Test App"),
                ("redirect_uris", redirect_uris),
                ("scopes", scopes),
                ("website", "https://app.example"),
            ],
            None,
        )
        .await;
    Client {
        id: registered["client_id"].as_str().unwrap().to_owned(),
        secret: registered["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// PKCE: a verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_path(pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/oauth/authorize?{query}")
}

/// A browser's view of the authorize page: its cookie and its form's fields.
struct FormPage {
    cookie: String,
    fields: Vec<(String, String)>,
}

impl FormPage {
    fn with(&self, name: &str, value: &str) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(field, _)| field != name)
            .cloned()
            .collect();
        fields.push((name.to_owned(), value.to_owned()));
        fields
    }

    /// The form as submitted with this email and password and the Authorize button.
    fn signed_in(&self, email: &str, password: &str) -> Vec<(String, String)> {
        let mut fields = self.fields.clone();
        fields.retain(|(name, _)| name != "email" && name != "password");
        fields.push(("email".into(), email.into()));
        fields.push(("password".into(), password.into()));
        fields.push(("decision".into(), "authorize".into()));
        fields
    }
}

/// Opens the authorize page like a browser: asserts an HTML 200 with its own policy and the
/// CSRF cookie, and reads the form's fields by simple string search.
async fn open_form(app: &TestApp, path: &str) -> FormPage {
    let response = app.masto(Method::GET, path, None).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("form-action 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let html = response.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains("Test App"), "the page names the app");
    assert!(html.contains("name=\"email\""), "{html}");
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(html.contains(">Authorize</button>"), "{html}");
    assert!(html.contains(">Deny</button>"), "{html}");
    assert!(!html.contains("<script"), "no script on the page");
    FormPage {
        cookie,
        fields: hidden_fields(&html),
    }
}

/// The hidden inputs of a page, by string search.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .map(|rest| &rest[..rest.find('>').unwrap()])
        .filter(|tag| tag.contains("type=\"hidden\""))
        .map(|tag| (attribute(tag, "name"), unescape(&attribute(tag, "value"))))
        .collect()
}

fn attribute(tag: &str, name: &str) -> String {
    let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
    let length = tag[start..].find('"').unwrap();
    tag[start..start + length].to_owned()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Posts the form as a browser would, with `cookie` (or none).
async fn submit(app: &TestApp, cookie: Option<&str>, fields: &[(String, String)]) -> Response {
    let mut request = app
        .masto(Method::POST, "/oauth/authorize", None)
        .form(fields);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

/// The code of an out-of-band page (in the element `id="code"`).
async fn code_on_page(response: Response) -> String {
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let start = html
        .find("id=\"code\">")
        .unwrap_or_else(|| panic!("no code on {html}"))
        + "id=\"code\">".len();
    let length = html[start..].find('<').unwrap();
    html[start..start + length].to_owned()
}

/// The query of a redirect's `Location`, after asserting it goes to `CALLBACK`.
fn redirect_query(response: &Response) -> Vec<(String, String)> {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    assert!(location.starts_with(CALLBACK), "{location}");
    url.query_pairs().into_owned().collect()
}

fn query_value(query: &[(String, String)], name: &str) -> Option<String> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// Signs `alice` in on the page for an out-of-band code.
async fn oob_code(app: &TestApp, client: &Client, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", OOB),
        ("scope", "read write"),
    ];
    pairs.extend_from_slice(extra);
    let page = open_form(app, &authorize_path(&pairs)).await;
    let response = submit(
        app,
        Some(&page.cookie),
        &page.signed_in("alice@example.com", PASSWORD),
    )
    .await;
    code_on_page(response).await
}

async fn token_request(app: &TestApp, form: &[(&str, &str)]) -> Response {
    app.masto(Method::POST, "/oauth/token", None)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Asserts an OAuth error answer: its status and `error`, and a description.
async fn assert_oauth_error(response: Response, status: u16, error: &str) {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

async fn exchange(app: &TestApp, client: &Client, code: &str, extra: &[(&str, &str)]) -> Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", client.id.as_str()),
        ("client_secret", client.secret.as_str()),
        ("redirect_uri", OOB),
    ];
    form.extend_from_slice(extra);
    token_request(app, &form).await
}

async fn password_grant(app: &TestApp, client: &Client, password: &str, scope: &str) -> Response {
    token_request(
        app,
        &[
            ("grant_type", "password"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("username", "alice@example.com"),
            ("password", password),
            ("scope", scope),
        ],
    )
    .await
}

async fn access_token(response: Response) -> String {
    let body = json_ok(response, "token").await;
    body["access_token"].as_str().unwrap().to_owned()
}

async fn status_with(app: &TestApp, path: &str, token: &str) -> u16 {
    app.masto(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn apps_register_with_their_rules(app: TestApp) {
    // JSON, with the URIs as an array.
    let registered = app
        .masto_post_json(
            "/api/v1/apps",
            &json!({"client_name": "Elk", "redirect_uris": [CALLBACK, OOB], "scopes": "read write push"}),
            None,
        )
        .await;
    assert_eq!(registered["name"], "Elk");
    assert_eq!(registered["scopes"], json!(["read", "write", "push"]));
    assert_eq!(registered["redirect_uris"], json!([CALLBACK, OOB]));
    assert_eq!(registered["redirect_uri"], format!("{CALLBACK}\n{OOB}"));
    assert_eq!(registered["vapid_key"], "");
    assert_eq!(registered["website"], Value::Null);
    assert!(registered["id"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(registered["client_id"].as_str().unwrap().len(), 43);
    assert_eq!(registered["client_secret"].as_str().unwrap().len(), 43);
    // A form, with the URIs in one string and the default scope.
    let registered = app
        .masto_post_form(
            "/api/v1/apps",
            &[
                ("client_name", "toot"),
                ("redirect_uris", &format!("{CALLBACK} {OOB}")),
            ],
            None,
        )
        .await;
    assert_eq!(registered["scopes"], json!(["read"]));
    assert_eq!(registered["redirect_uris"], json!([CALLBACK, OOB]));
    // The rules.
    for (form, field) in [
        (vec![("redirect_uris", OOB)], "client_name"),
        (vec![("client_name", "x")], "redirect_uris"),
        (
            vec![("client_name", "x"), ("redirect_uris", "/relative")],
            "redirect_uris",
        ),
        (
            vec![
                ("client_name", "x"),
                ("redirect_uris", "javascript:alert(1)"),
            ],
            "redirect_uris",
        ),
        (
            vec![
                ("client_name", "x"),
                ("redirect_uris", OOB),
                ("scopes", "read admin:write"),
            ],
            "scopes",
        ),
        (
            vec![("client_name", &"n".repeat(201)), ("redirect_uris", OOB)],
            "client_name",
        ),
    ] {
        let response = app
            .masto(Method::POST, "/api/v1/apps", None)
            .form(&form)
            .send()
            .await
            .unwrap();
        let message = assert_masto_error(response, 422, field).await;
        assert!(message.contains(field), "{message}");
    }
}

async fn client_credentials_make_an_app_token(app: TestApp) {
    let client = register_app(&app, OOB, "read write").await;
    let alice = app.user("alice").await;
    let response = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("scope", "read"),
        ],
    )
    .await;
    let body = json_ok(response, "client credentials").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body["created_at"].is_i64());
    let app_token = body["access_token"].as_str().unwrap().to_owned();

    // It names its app, without the secret.
    let verified = app
        .masto_get("/api/v1/apps/verify_credentials", Some(&app_token))
        .await;
    assert_eq!(verified["name"], "Test App");
    assert_eq!(verified["website"], "https://app.example");
    assert_eq!(verified["scopes"], json!(["read", "write"]));
    assert!(verified.get("client_secret").is_none());
    assert!(verified.get("client_id").is_none());

    // Valid but without an account: anonymous where anyone may read, refused where an
    // account is needed, on both APIs.
    let response = app.get("/api/v1/users/alice", Some(&app_token)).await;
    assert_eq!(response.status(), 200, "a public profile with an app token");
    let response = app.get("/api/v1/me", Some(&app_token)).await;
    assert_eq!(response.status(), 401, "/me with an app token");
    let registered = app
        .masto_post_form(
            "/api/v1/apps",
            &[("client_name", "Other"), ("redirect_uris", OOB)],
            Some(&app_token),
        )
        .await;
    assert_eq!(registered["name"], "Other");
    let response = app
        .masto(Method::POST, "/api/v1/statuses", Some(&app_token))
        .form(&[("status", "hello")])
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 401, "posting with an app token").await;

    // Scopes beyond the app's, and unknown clients.
    let response = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("scope", "read push"),
        ],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_scope").await;

    // Tokens that name no app.
    let response = app
        .masto(Method::GET, "/api/v1/apps/verify_credentials", Some(&alice))
        .send()
        .await
        .unwrap();
    assert_masto_error(response, 403, "a token of Roost's own API").await;
    for token in [Some(UNKNOWN_TOKEN), None] {
        let response = app
            .masto(Method::GET, "/api/v1/apps/verify_credentials", token)
            .send()
            .await
            .unwrap();
        assert_masto_error(response, 401, "no valid token").await;
    }
}

async fn the_code_flow_with_pkce_redirects_with_code_and_state(app: TestApp) {
    let client = register_app(&app, &format!("{CALLBACK} {OOB}"), "read write follow").await;
    app.user("alice").await;
    let (verifier, challenge) = pkce();
    let path = authorize_path(&[
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", CALLBACK),
        ("scope", "read write"),
        ("state", "s t&a=te"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("force_login", "true"),
        ("lang", "en"),
    ]);
    let page = open_form(&app, &path).await;
    for name in [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "csrf_token",
    ] {
        assert!(
            page.fields.iter().any(|(field, _)| field == name),
            "hidden field {name} in {:?}",
            page.fields
        );
    }
    let response = submit(
        &app,
        Some(&page.cookie),
        &page.signed_in("Alice@Example.com", PASSWORD),
    )
    .await;
    let query = redirect_query(&response);
    assert_eq!(query_value(&query, "state").as_deref(), Some("s t&a=te"));
    let code = query_value(&query, "code").unwrap();

    let response = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let body = json_ok(response, "exchanging the code").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    let created_at = body["created_at"].as_i64().unwrap();
    assert!((created_at - app.clock.now().timestamp()).abs() <= 1);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 43);

    // The token is a Roost token of alice's, naming its app.
    let me = json_ok(app.get("/api/v1/me", Some(token)).await, "/me").await;
    assert_eq!(me["username"], "alice");
    let verified = app
        .masto_get("/api/v1/apps/verify_credentials", Some(token))
        .await;
    assert_eq!(verified["name"], "Test App");
}

async fn an_out_of_band_code_is_shown_and_exchanged_with_basic_auth(app: TestApp) {
    let client = register_app(&app, OOB, "read write").await;
    app.user("alice").await;
    let code = oob_code(&app, &client, &[]).await;
    assert_eq!(code.len(), 43);
    let response = app
        .masto(Method::POST, "/oauth/token", None)
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", OOB),
        ])
        .send()
        .await
        .unwrap();
    let token = access_token(response).await;
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &token).await,
        200
    );

    // A wrong secret with Basic is challenged.
    let response = app
        .masto(Method::POST, "/oauth/token", None)
        .basic_auth(&client.id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    assert_oauth_error(response, 401, "invalid_client").await;

    // JSON bodies are read too.
    let code = oob_code(&app, &client, &[]).await;
    let response = app
        .masto(Method::POST, "/oauth/token", None)
        .json(&json!({"grant_type": "authorization_code", "code": code,
                      "client_id": client.id, "client_secret": client.secret, "redirect_uri": OOB}))
        .send()
        .await
        .unwrap();
    access_token(response).await;
}

async fn codes_are_single_use_short_lived_and_bound_by_pkce(app: TestApp) {
    let client = register_app(&app, OOB, "read write").await;
    app.user("alice").await;
    let (verifier, challenge) = pkce();
    let with_challenge = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    // A wrong verifier is refused, and the code is gone with it.
    let code = oob_code(&app, &client, &with_challenge).await;
    let (wrong, _) = pkce();
    let response = exchange(&app, &client, &code, &[("code_verifier", &wrong)]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    let response = exchange(&app, &client, &code, &[("code_verifier", &verifier)]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;

    // A missing verifier is refused.
    let code = oob_code(&app, &client, &with_challenge).await;
    let response = exchange(&app, &client, &code, &[]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;

    // A verifier without a challenge is refused.
    let code = oob_code(&app, &client, &[]).await;
    let response = exchange(&app, &client, &code, &[("code_verifier", &verifier)]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;

    // The right one works once.
    let code = oob_code(&app, &client, &with_challenge).await;
    let response = exchange(&app, &client, &code, &[("code_verifier", &verifier)]).await;
    access_token(response).await;
    let response = exchange(&app, &client, &code, &[("code_verifier", &verifier)]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;

    // A code lives ten minutes.
    let code = oob_code(&app, &client, &[]).await;
    app.advance(std::time::Duration::from_secs(601));
    let response = exchange(&app, &client, &code, &[]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    let code = oob_code(&app, &client, &[]).await;
    app.advance(std::time::Duration::from_secs(590));
    access_token(exchange(&app, &client, &code, &[]).await).await;
}

async fn codes_are_bound_to_their_client_and_redirect_uri(app: TestApp) {
    let client = register_app(&app, &format!("{OOB} {CALLBACK}"), "read").await;
    let other = register_app(&app, OOB, "read").await;
    app.user("alice").await;

    // A wrong secret, an unknown client.
    let code = oob_code_read(&app, &client).await;
    for (id, secret) in [
        (client.id.as_str(), "wrong"),
        ("nobody", client.secret.as_str()),
    ] {
        let response = token_request(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", id),
                ("client_secret", secret),
                ("redirect_uri", OOB),
            ],
        )
        .await;
        assert_oauth_error(response, 401, "invalid_client").await;
    }
    // The client's secret failing did not use the code up.
    let response = exchange(&app, &client, &code, &[]).await;
    access_token(response).await;

    // Another app cannot exchange it.
    let code = oob_code_read(&app, &client).await;
    let response = exchange(&app, &other, &code, &[]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;

    // Another redirect URI than the one it was issued for.
    let code = oob_code_read(&app, &client).await;
    let response = token_request(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_grant").await;

    // Unknown grants, missing fields.
    let response = token_request(
        &app,
        &[
            ("grant_type", "implicit"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ],
    )
    .await;
    assert_oauth_error(response, 400, "unsupported_grant_type").await;
    let response = token_request(&app, &[("client_id", &client.id)]).await;
    assert_oauth_error(response, 400, "invalid_request").await;
}

async fn oob_code_read(app: &TestApp, client: &Client) -> String {
    let page = open_form(
        app,
        &authorize_path(&[
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", OOB),
            ("scope", "read"),
        ]),
    )
    .await;
    let response = submit(
        app,
        Some(&page.cookie),
        &page.signed_in("alice@example.com", PASSWORD),
    )
    .await;
    code_on_page(response).await
}

async fn the_form_needs_its_cookie_and_untouched_fields(app: TestApp) {
    let client = register_app(&app, OOB, "read write").await;
    app.user("alice").await;
    let path = authorize_path(&[
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", OOB),
        ("scope", "read"),
    ]);
    let page = open_form(&app, &path).await;
    let other = {
        // A second browser: another cookie.
        let response = app.masto(Method::GET, &path, None).send().await.unwrap();
        let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_owned()
    };
    assert_ne!(other, page.cookie);
    let signed_in = page.signed_in("alice@example.com", PASSWORD);
    let no_token: Vec<(String, String)> = signed_in
        .iter()
        .filter(|(name, _)| name != "csrf_token")
        .cloned()
        .collect();
    let mut widened = page.with("scope", "read write");
    widened.extend(
        signed_in
            .iter()
            .filter(|(name, _)| name == "email" || name == "password" || name == "decision")
            .cloned(),
    );
    for (cookie, fields, what) in [
        (None, &signed_in, "no cookie"),
        (Some(other.as_str()), &signed_in, "another browser's cookie"),
        (Some(page.cookie.as_str()), &no_token, "no token"),
        (Some(page.cookie.as_str()), &widened, "a widened scope"),
    ] {
        let response = submit(&app, cookie, fields).await;
        assert_eq!(response.status(), 403, "{what}");
        assert!(!response.headers().contains_key(header::LOCATION));
        let html = response.text().await.unwrap();
        assert!(html.contains("Start again"), "{what}: {html}");
        assert!(!html.contains("id=\"code\""), "{what}");
    }
    // The page's own cookie and fields still work; a second tab keeps the cookie.
    let response = app
        .masto(Method::GET, &path, None)
        .header(header::COOKIE, &page.cookie)
        .send()
        .await
        .unwrap();
    let kept = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(kept.starts_with(&page.cookie), "{kept}");
    let response = submit(&app, Some(&page.cookie), &signed_in).await;
    code_on_page(response).await;
    // The form expires after an hour.
    app.advance(std::time::Duration::from_secs(3601));
    let response = submit(&app, Some(&page.cookie), &signed_in).await;
    assert_eq!(response.status(), 403);
}

async fn bad_requests_get_an_error_page_and_no_redirect(app: TestApp) {
    let client = register_app(&app, CALLBACK, "read write").await;
    let base = [
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", "read"),
    ];
    let replaced = |name: &str, value: &'static str| -> Vec<(String, String)> {
        base.iter()
            .map(|(key, old)| {
                let value = if *key == name { value } else { old };
                ((*key).to_owned(), value.to_owned())
            })
            .collect()
    };
    for (pairs, what) in [
        (replaced("client_id", "nobody"), "an unknown client"),
        (
            replaced("redirect_uri", "https://evil.example/"),
            "an unregistered redirect",
        ),
        (replaced("scope", "read admin:write"), "an unknown scope"),
        (replaced("scope", "read push"), "a scope beyond the app's"),
        (replaced("response_type", "token"), "the implicit grant"),
    ] {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let response = app
            .masto(Method::GET, &authorize_path(&pairs), None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{what}");
        assert!(!response.headers().contains_key(header::LOCATION), "{what}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"error\""), "{what}: {html}");
        assert!(!html.contains("<form"), "{what}");
    }
    let challenge = "x".repeat(43);
    let mut plain = base.to_vec();
    plain.extend([
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "plain"),
    ]);
    let response = app
        .masto(Method::GET, &authorize_path(&plain), None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "PKCE plain");
    // The redirect URI may be left out when the app registered only one.
    let without: Vec<(&str, &str)> = base
        .iter()
        .copied()
        .filter(|(k, _)| *k != "redirect_uri")
        .collect();
    open_form(&app, &authorize_path(&without)).await;
}

async fn deny_sends_access_denied(app: TestApp) {
    let client = register_app(&app, &format!("{CALLBACK} {OOB}"), "read").await;
    let page = open_form(
        &app,
        &authorize_path(&[
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", CALLBACK),
            ("state", "xyz"),
        ]),
    )
    .await;
    // No email or password needed to say no.
    let response = submit(&app, Some(&page.cookie), &page.with("decision", "deny")).await;
    let query = redirect_query(&response);
    assert_eq!(
        query_value(&query, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_value(&query, "state").as_deref(), Some("xyz"));
    assert_eq!(query_value(&query, "code"), None);
}

const THREE_FAILURES: &[(&str, &str)] = &[("ROOST_LOGIN_MAX_FAILURES", "3")];

async fn wrong_passwords_show_the_form_again_until_the_lock_out(app: TestApp) {
    let client = register_app(&app, OOB, "read").await;
    app.user("alice").await;
    let page = open_form(
        &app,
        &authorize_path(&[
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", OOB),
        ]),
    )
    .await;
    for attempt in 0..3 {
        let response = submit(
            &app,
            Some(&page.cookie),
            &page.signed_in("alice@example.com", "wrong password"),
        )
        .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("The email address or the password is wrong."),
            "{html}"
        );
        assert!(
            html.contains("value=\"alice@example.com\""),
            "the address is kept"
        );
        assert!(!html.contains("id=\"code\""));
        assert!(
            html.contains("name=\"csrf_token\""),
            "the form can be sent again"
        );
    }
    // An unknown address reads the same.
    let response = submit(
        &app,
        Some(&page.cookie),
        &page.signed_in("nobody@example.com", PASSWORD),
    )
    .await;
    assert_eq!(response.status(), 401);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The email address or the password is wrong.")
    );
    // Empty fields are not counted.
    let response = submit(&app, Some(&page.cookie), &page.signed_in("", "")).await;
    assert_eq!(response.status(), 422);

    // Locked out: the right password too, on the page, with the password grant and on
    // Roost's own login.
    let response = submit(
        &app,
        Some(&page.cookie),
        &page.signed_in("alice@example.com", PASSWORD),
    )
    .await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert!(!response.text().await.unwrap().contains("id=\"code\""));
    let response = password_grant(&app, &client, PASSWORD, "read").await;
    assert_masto_error(response, 429, "the password grant while locked out").await;
    let response = app.login("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 429);
}

async fn the_password_grant_signs_in(app: TestApp) {
    let client = register_app(&app, OOB, "read write").await;
    app.user("alice").await;
    let response = password_grant(&app, &client, PASSWORD, "read").await;
    let body = json_ok(response, "password grant").await;
    assert_eq!(body["scope"], "read");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", token).await,
        200
    );

    let response = password_grant(&app, &client, "wrong password", "read").await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    let response = password_grant(&app, &client, PASSWORD, "read follow").await;
    assert_oauth_error(response, 400, "invalid_scope").await;
    let response = password_grant(&app, &client, PASSWORD, "read nonsense").await;
    assert_oauth_error(response, 400, "invalid_scope").await;
}

async fn scopes_are_enforced(app: TestApp) {
    let client = register_app(&app, OOB, "read write").await;
    app.user("alice").await;
    let reader = access_token(password_grant(&app, &client, PASSWORD, "read").await).await;
    let writer =
        access_token(password_grant(&app, &client, PASSWORD, "write:statuses").await).await;
    for (token, status) in [(&reader, 403), (&writer, 200)] {
        let response = app
            .masto(Method::POST, "/api/v1/statuses", Some(token))
            .form(&[("status", "scoped")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{}",
            response.text().await.unwrap()
        );
    }
}

async fn revoking_works_from_either_api(app: TestApp) {
    let client = register_app(&app, OOB, "read write").await;
    let other = register_app(&app, OOB, "read").await;
    let roost = app.user("alice").await;

    // Revoked through OAuth: the token stops working on both APIs.
    let token = access_token(password_grant(&app, &client, PASSWORD, "read").await).await;
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
    // As Mastodon.py does: the client in the body, the token also as a bearer token (which
    // is not the caller's credentials here, dead or alive).
    let revoke = |token: String, client: &Client| {
        let request = app
            .masto(Method::POST, "/oauth/revoke", Some(&token))
            .form(&[
                ("token", token.clone()),
                ("client_id", client.id.clone()),
                ("client_secret", client.secret.clone()),
            ]);
        async move { request.send().await.unwrap() }
    };
    // Another app may not revoke it, nor may anyone revoke a token of Roost's own API.
    assert_oauth_error(
        revoke(token.clone(), &other).await,
        403,
        "unauthorized_client",
    )
    .await;
    assert_oauth_error(
        revoke(roost.clone(), &client).await,
        403,
        "unauthorized_client",
    )
    .await;
    let body = json_ok(revoke(token.clone(), &client).await, "revoke").await;
    assert_eq!(body, json!({}));
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 401);
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &token).await,
        401
    );
    // Again: fine.
    json_ok(revoke(token.clone(), &client).await, "revoking twice").await;
    // A wrong secret is refused.
    let wrong = Client {
        id: client.id.clone(),
        secret: "wrong".into(),
    };
    assert_oauth_error(revoke(token.clone(), &wrong).await, 401, "invalid_client").await;

    // Logging out of Roost's own API revokes an OAuth token too.
    let token = access_token(password_grant(&app, &client, PASSWORD, "read").await).await;
    app.logout(&token).await;
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &token).await,
        401
    );

    // An app's own token is revoked the same way.
    let response = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ],
    )
    .await;
    let app_token = access_token(response).await;
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &app_token).await,
        200
    );
    json_ok(
        revoke(app_token.clone(), &client).await,
        "revoking an app token",
    )
    .await;
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &app_token).await,
        401
    );
    assert_eq!(
        app.get("/api/v1/users/alice", Some(&app_token))
            .await
            .status(),
        401
    );
}

async fn tokens_last_until_revoked(app: TestApp) {
    let client = register_app(&app, OOB, "read").await;
    app.user("alice").await;
    let token = access_token(password_grant(&app, &client, PASSWORD, "read").await).await;
    app.advance(std::time::Duration::from_secs(5 * 365 * 24 * 3600));
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &token).await,
        200
    );
}

const SHORT_TOKENS: &[(&str, &str)] = &[("ROOST_OAUTH_TOKEN_TTL_SECS", "60")];

async fn tokens_expire_when_configured(app: TestApp) {
    let client = register_app(&app, OOB, "read").await;
    app.user("alice").await;
    let token = access_token(password_grant(&app, &client, PASSWORD, "read").await).await;
    let response = token_request(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ],
    )
    .await;
    let app_token = access_token(response).await;
    app.advance(std::time::Duration::from_secs(59));
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &app_token).await,
        200
    );
    app.advance(std::time::Duration::from_secs(2));
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 401);
    assert_eq!(
        status_with(&app, "/api/v1/apps/verify_credentials", &app_token).await,
        401
    );
}

async fn the_server_describes_its_oauth(app: TestApp) {
    let metadata = app
        .masto_get("/.well-known/oauth-authorization-server", None)
        .await;
    let base = &app.mastodon_address;
    assert_eq!(metadata["issuer"], format!("{base}/"));
    assert_eq!(
        metadata["authorization_endpoint"],
        format!("{base}/oauth/authorize")
    );
    assert_eq!(metadata["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(
        metadata["revocation_endpoint"],
        format!("{base}/oauth/revoke")
    );
    assert_eq!(
        metadata["app_registration_endpoint"],
        format!("{base}/api/v1/apps")
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    for grant in ["authorization_code", "client_credentials", "password"] {
        assert!(grants.contains(&json!(grant)), "{grant}");
    }
    let scopes = metadata["scopes_supported"].as_array().unwrap();
    for scope in [
        "read",
        "write",
        "follow",
        "push",
        "read:statuses",
        "write:media",
    ] {
        assert!(scopes.contains(&json!(scope)), "{scope}");
    }
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}

both_databases!(
    apps_register_with_their_rules,
    client_credentials_make_an_app_token,
    the_code_flow_with_pkce_redirects_with_code_and_state,
    an_out_of_band_code_is_shown_and_exchanged_with_basic_auth,
    codes_are_single_use_short_lived_and_bound_by_pkce,
    codes_are_bound_to_their_client_and_redirect_uri,
    the_form_needs_its_cookie_and_untouched_fields,
    bad_requests_get_an_error_page_and_no_redirect,
    deny_sends_access_denied,
    the_password_grant_signs_in,
    scopes_are_enforced,
    revoking_works_from_either_api,
    tokens_last_until_revoked,
    the_server_describes_its_oauth,
);

both_databases_with!(THREE_FAILURES; wrong_passwords_show_the_form_again_until_the_lock_out);
both_databases_with!(SHORT_TOKENS; tokens_expire_when_configured);
