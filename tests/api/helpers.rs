//! `TestApp`: a running Roost on its own fresh database, with typed helpers for the
//! requests scenarios are made of.
//!
//! - [`TestApp`] starts the application and sends requests (`get`, `post_json`, `request`);
//! - scenario steps, each asserting that it succeeded: accounts (`user`, `users`, `logout`,
//!   `delete_account`), the follow graph (`follow`, `unfollow`), posts (`create_post`,
//!   `delete_post`, `like`, `comment`), media (`upload_image`, `assert_files`) and
//!   publishing what is due (`publish_due`);
//! - lists: a page's `usernames`, `contents` or `ids`, one page with its `Link`
//!   ([`TestApp::fetch_page`]), and every page of a list ([`TestApp::walk`]);
//! - reading answers: [`json_ok`], [`json_created`], [`assert_problem`], [`timestamp`];
//! - waiting for what another task does (a publisher, a clean-up, a recovering database):
//!   [`eventually`], which polls instead of sleeping.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response, StatusCode};
use roost::clock::{Clock, ManualClock, SystemClock};
use roost::{Application, Config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// Password used by the helpers' accounts.
pub const PASSWORD: &str = "correct horse battery";

/// Has the shape of a token the server issues (43 characters of base64url), but was never
/// issued.
pub const UNKNOWN_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// A well-formed id that nothing has.
pub const UNKNOWN_ID: &str = "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53";

pub const POSTS: &str = "/api/v1/posts";

/// The path of one post.
pub fn post_path(id: &str) -> String {
    format!("{POSTS}/{id}")
}

/// Runs each named scenario `async fn name(app: TestApp)` on SQLite and, when
/// `ROOST_TEST_POSTGRES_URL` is set, on PostgreSQL.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::sqlite().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

/// As [`both_databases!`], with extra configuration: `both_databases_with!(VARS; name, …)`
/// where `VARS` is a `&[(&str, &str)]` constant in the calling module.
#[macro_export]
macro_rules! both_databases_with {
    ($vars:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::sqlite_with(super::$vars).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres_with(super::$vars).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

/// Runs each named scenario `async fn name(database: DatabaseKind)` on SQLite and on
/// PostgreSQL: for scenarios that configure their apps at run time (a server the test
/// starts, an address it picked), where [`both_databases_with!`] takes a constant.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::DatabaseKind::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::DatabaseKind::Postgres).await;
                }
            }
        )*
    };
}

/// Which database an [`on_both_databases!`] scenario runs on.
#[derive(Debug, Clone, Copy)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub address: String,
    /// Base URL of the Mastodon-compatible API (empty when it is off).
    pub mastodon_address: String,
    pub client: reqwest::Client,
    /// The application's clock; move it with `advance`. An app on the real clock
    /// (`*_realtime`) does not read it, and `advance` refuses to move it.
    pub clock: Arc<ManualClock>,
    /// The running application's state (database, statement counter, …).
    pub state: roost::AppState,
    /// The database and media folder served: [`TestApp::start_on`] starts another
    /// application on them (they live as long as the app that created them).
    pub database_url: String,
    pub media_dir: String,
    realtime: bool,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresDatabase>,
}

/// A database created for one test and dropped when the test ends, pass or fail.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; do the async clean-up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(db) = Database::connect(&admin_url).await {
                    let _ = db
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = db.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(&[]).await
    }

    /// A SQLite-backed app with extra configuration variables.
    pub async fn sqlite_with(vars: &[(&str, &str)]) -> Self {
        Self::sqlite_on_clock(vars, Some(manual_clock())).await
    }

    /// A SQLite-backed app on the real clock, for scenarios that must take real time.
    pub async fn sqlite_realtime() -> Self {
        Self::sqlite_on_clock(&[], None).await
    }

    async fn sqlite_on_clock(vars: &[(&str, &str)], clock: Option<Arc<ManualClock>>) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("roost.db").display());
        let media_dir = dir.path().join("media").display().to_string();
        let mut app = Self::start_on(&url, &media_dir, vars, clock).await;
        app._sqlite_dir = Some(dir);
        app
    }

    /// An app on `database` with extra configuration given at run time; `None` on
    /// PostgreSQL when no server is configured.
    pub async fn on(database: DatabaseKind, vars: &[(&str, String)]) -> Option<Self> {
        let vars: Vec<(&str, &str)> = vars
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        match database {
            DatabaseKind::Sqlite => Some(Self::sqlite_with(&vars).await),
            DatabaseKind::Postgres => Self::postgres_with(&vars).await,
        }
    }

    /// A PostgreSQL-backed app on a new database, or `None` when no server is configured.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(&[]).await
    }

    pub async fn postgres_with(vars: &[(&str, &str)]) -> Option<Self> {
        Self::postgres_on_clock(vars, Some(manual_clock())).await
    }

    /// A PostgreSQL-backed app on the real clock, or `None` when no server is configured.
    pub async fn postgres_realtime() -> Option<Self> {
        Self::postgres_on_clock(&[], None).await
    }

    async fn postgres_on_clock(
        vars: &[(&str, &str)],
        clock: Option<Arc<ManualClock>>,
    ) -> Option<Self> {
        let admin_url = std::env::var("ROOST_TEST_POSTGRES_URL").ok()?;
        let name = format!("roost_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await.unwrap_or_else(|error| {
            panic!("ROOST_TEST_POSTGRES_URL is set but unreachable: {error}")
        });
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let database = PostgresDatabase {
            admin_url: admin_url.clone(),
            name: name.clone(),
        };
        let url = with_database_name(&admin_url, &name);
        let media = tempfile::tempdir().expect("temporary directory");
        let mut app = Self::start_on(&url, &media.path().display().to_string(), vars, clock).await;
        app._sqlite_dir = Some(media);
        app.postgres = Some(database);
        Some(app)
    }

    /// Starts an application on `database_url` and `media_dir`, which this app does not own
    /// (they outlive it): with `clock` it reads that clock, with `None` the real one.
    pub async fn start_on(
        database_url: &str,
        media_dir: &str,
        vars: &[(&str, &str)],
        clock: Option<Arc<ManualClock>>,
    ) -> Self {
        let mut env: HashMap<String, String> = HashMap::from([
            ("ROOST_DATABASE_URL".into(), database_url.into()),
            ("ROOST_BIND".into(), "127.0.0.1:0".into()),
            ("ROOST_MASTODON_BIND".into(), "127.0.0.1:0".into()),
            ("ROOST_MEDIA_DIR".into(), media_dir.into()),
            // A cheap hash keeps the suite fast; one test checks the production default.
            ("ROOST_ARGON2_MEMORY_KIB".into(), "64".into()),
            ("ROOST_ARGON2_ITERATIONS".into(), "1".into()),
            ("ROOST_DATABASE_MAX_CONNECTIONS".into(), "5".into()),
        ]);
        for (name, value) in vars {
            env.insert((*name).into(), (*value).into());
        }
        let config =
            Config::from_lookup(|name| env.get(name).cloned()).expect("test configuration");
        let realtime = clock.is_none();
        let clock = clock.unwrap_or_else(manual_clock);
        let app_clock: Arc<dyn Clock> = if realtime {
            Arc::new(SystemClock)
        } else {
            clock.clone()
        };
        let application = Application::build_with_clock(config, app_clock)
            .await
            .expect("application starts");
        let address = format!("http://{}", application.local_addr().unwrap());
        let mastodon_address = application
            .mastodon_addr()
            .map_or_else(String::new, |address| format!("http://{address}"));
        let state = application.state().clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            application
                .run_until(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs");
        });
        Self {
            address,
            mastodon_address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            clock,
            state,
            database_url: database_url.to_owned(),
            media_dir: media_dir.to_owned(),
            realtime,
            shutdown: Some(shutdown),
            server: Some(server),
            _sqlite_dir: None,
            postgres: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request to `path` with an optional bearer token.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn register(&self, email: &str, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({"email": email, "username": username, "password": password}),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    /// Registers `username` (email `<username>@example.com`, password [`PASSWORD`]) and
    /// returns a fresh token for it.
    pub async fn user(&self, username: &str) -> String {
        let email = format!("{username}@example.com");
        let response = self.register(&email, username, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "registering {username}"
        );
        self.token(&email, PASSWORD).await
    }

    /// Logs in and returns the token.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), StatusCode::OK, "logging in {email}");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub fn advance(&self, by: std::time::Duration) {
        assert!(
            !self.realtime,
            "an app on the real clock cannot be advanced"
        );
        self.clock.advance(by);
    }

    /// Shuts the application down as the binary does (in-flight requests, the publisher's
    /// and the clean-up's rounds finish) and waits for it; the database stays.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server stops cleanly");
        }
    }
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut result = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// Asserts a problem+json with `status` and some `code`, for answers whose code the
/// contract leaves open; returns the body.
pub async fn assert_problem_status(response: Response, status: u16, what: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{what}: status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "{what}: content type"
    );
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{what}: status field: {body}");
    assert!(body["code"].is_string(), "{what}: a code: {body}");
    body
}

/// Asserts `response` is a problem+json with `status` and `code`, and returns its body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    let body = assert_problem_status(response, status, "problem").await;
    assert_eq!(body["code"], code, "code field: {body}");
    assert_eq!(body["type"], "about:blank");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "title and detail: {body}"
    );
    body
}

/// The `field` names listed in a validation problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Reading answers
// ---------------------------------------------------------------------------------------

/// The body of a 200 response, with the body in the message when it is not a 200.
pub async fn json_ok(response: Response, what: &str) -> Value {
    json_with_status(response, StatusCode::OK, what).await
}

/// The body of a 201 response, with the body in the message when it is not a 201.
pub async fn json_created(response: Response, what: &str) -> Value {
    json_with_status(response, StatusCode::CREATED, what).await
}

async fn json_with_status(response: Response, expected: StatusCode, what: &str) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, expected, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{what}: {error}: {text}"))
}

/// The `id` of an object (a post, a comment, a schedule, a media), owned.
pub fn id_of(object: &Value) -> String {
    media_id(object).to_owned()
}

/// The `id` of an object, borrowed: handy for the `&[&str]` of `media_ids`.
pub fn media_id(object: &Value) -> &str {
    object["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an id: {object}"))
}

/// The ids of an object's `media`, in order.
pub fn media_ids_of(object: &Value) -> Vec<String> {
    object["media"]
        .as_array()
        .unwrap_or_else(|| panic!("media: {object}"))
        .iter()
        .map(id_of)
        .collect()
}

/// A response timestamp, which must be RFC 3339 in UTC with a `Z`.
pub fn timestamp(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp: {value}"));
    assert!(text.ends_with('Z'), "UTC with a Z: {text}");
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("RFC 3339 {text}: {error}"))
        .with_timezone(&Utc)
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// Asserts no item appears twice.
pub fn assert_unique(items: &[String]) {
    let mut sorted = items.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), items.len(), "duplicates in {items:?}");
}

pub fn assert_all_204(statuses: &[StatusCode]) {
    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::NO_CONTENT),
        "every request is a 204: {statuses:?}"
    );
}

/// A 422 `validation_failed` that names `field` (alone).
pub async fn assert_refused_field(response: Response, field: &str, what: &str) {
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), [field], "{what}: {problem}");
}

/// A multipart file part.
pub fn file_part(bytes: Vec<u8>, file_name: &str, mime: &str) -> Part {
    Part::bytes(bytes)
        .file_name(file_name.to_owned())
        .mime_str(mime)
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Lists and their pages
// ---------------------------------------------------------------------------------------

/// The usernames of a list page's users, in order.
pub fn usernames(page: &Value) -> Vec<String> {
    item_strings(page, "username")
}

/// The contents of a list page's posts, comments or schedules, in order.
pub fn contents(page: &Value) -> Vec<String> {
    item_strings(page, "content")
}

/// The ids of a list page's items, in order.
pub fn ids(page: &Value) -> Vec<String> {
    item_strings(page, "id")
}

fn item_strings(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list page: {page}"))
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} of {item}"))
                .to_owned()
        })
        .collect()
}

/// `[[c7, c6], [c5, c4], …]` for `contents` given oldest first: the pages of a newest-first
/// list of them.
pub fn newest_first_pages(contents: &[String], limit: usize) -> Vec<Vec<String>> {
    let mut newest_first = contents.to_vec();
    newest_first.reverse();
    newest_first.chunks(limit).map(<[String]>::to_vec).collect()
}

/// `path` with `param` (`name=value`) added to its query string.
pub fn with_param(path: &str, param: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}{param}")
}

/// The URL of a `Link: <url>; rel="next"` header, if the response has one.
pub fn next_link(response: &Response) -> Option<String> {
    let values: Vec<_> = response.headers().get_all("link").iter().collect();
    assert!(values.len() <= 1, "one Link header at most: {values:?}");
    let value = values.first()?.to_str().unwrap();
    let (target, params) = value
        .split_once(';')
        .unwrap_or_else(|| panic!("Link has a rel: {value}"));
    assert_eq!(params.trim(), "rel=\"next\"", "{value}");
    let target = target.trim();
    assert!(
        target.starts_with('<') && target.ends_with('>'),
        "Link target in angle brackets: {value}"
    );
    Some(target[1..target.len() - 1].to_owned())
}

/// One fetched page of a list.
pub struct Page {
    pub body: Value,
    /// The `Link: rel="next"` URL.
    pub next: Option<String>,
}

impl Page {
    pub fn usernames(&self) -> Vec<String> {
        usernames(&self.body)
    }

    pub fn contents(&self) -> Vec<String> {
        contents(&self.body)
    }
}

// ---------------------------------------------------------------------------------------
// Scenario steps: each asserts that it succeeded
// ---------------------------------------------------------------------------------------

impl TestApp {
    /// `GET path` that must answer 200; returns the JSON body.
    pub async fn get_ok(&self, path: &str, token: Option<&str>) -> Value {
        json_ok(self.get(path, token).await, path).await
    }

    /// Registers `names` (as [`TestApp::user`] does) and returns their tokens in order.
    pub async fn users(&self, names: &[&str]) -> Vec<String> {
        let mut tokens = Vec::new();
        for name in names {
            tokens.push(self.user(name).await);
        }
        tokens
    }

    /// `POST /auth/logout`, which must answer 204: `token` is revoked from then on.
    pub async fn logout(&self, token: &str) {
        let response = self
            .request(Method::POST, "/api/v1/auth/logout", Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "logout");
    }

    /// `DELETE /me` with the helpers' password, which must answer 204.
    pub async fn delete_account(&self, token: &str) {
        let response = self
            .request(Method::DELETE, "/api/v1/me", Some(token))
            .json(&json!({"password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "delete account");
    }

    /// `PUT /me/following/{username}`, which must answer 204.
    pub async fn follow(&self, token: &str, username: &str) {
        let path = format!("/api/v1/me/following/{username}");
        let response = self
            .request(Method::PUT, &path, Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "follow {username}"
        );
    }

    /// `DELETE /me/following/{username}`, which must answer 204.
    pub async fn unfollow(&self, token: &str, username: &str) {
        let path = format!("/api/v1/me/following/{username}");
        let response = self
            .request(Method::DELETE, &path, Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "unfollow {username}"
        );
    }

    /// `(followers_count, following_count)` from the public profile.
    pub async fn follow_counts(&self, username: &str) -> (i64, i64) {
        let user = self
            .get_ok(&format!("/api/v1/users/{username}"), None)
            .await;
        (
            user["followers_count"].as_i64().unwrap(),
            user["following_count"].as_i64().unwrap(),
        )
    }

    /// `posts_count` from the public profile.
    pub async fn posts_count(&self, username: &str) -> i64 {
        let user = self
            .get_ok(&format!("/api/v1/users/{username}"), None)
            .await;
        user["posts_count"]
            .as_i64()
            .unwrap_or_else(|| panic!("posts_count: {user}"))
    }

    /// `POST /posts` with `body`.
    pub async fn send_post(&self, token: Option<&str>, body: &Value) -> Response {
        self.post_json(POSTS, body, token).await
    }

    /// Creates a post with `content`, which must answer 201; returns the post.
    pub async fn create_post(&self, token: &str, content: &str) -> Value {
        let response = self
            .send_post(Some(token), &json!({"content": content}))
            .await;
        json_created(response, content).await
    }

    /// Creates a post with `media_ids`, which must answer 201; returns the post.
    pub async fn create_post_with_media(&self, token: &str, media_ids: &[&str]) -> Value {
        let body = json!({"content": "with pictures", "media_ids": media_ids});
        json_created(self.send_post(Some(token), &body).await, &body.to_string()).await
    }

    /// Asserts a post with `media_ids` is refused as a `media_ids` validation failure.
    pub async fn assert_not_attachable(&self, token: &str, media_ids: &[&str], what: &str) {
        let body = json!({"content": "with pictures", "media_ids": media_ids});
        let response = self.send_post(Some(token), &body).await;
        assert_refused_field(response, "media_ids", what).await;
    }

    /// `DELETE /posts/{id}`, which must answer an empty 204.
    pub async fn delete_post(&self, token: &str, id: &str) {
        let response = self
            .request(Method::DELETE, &post_path(id), Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "delete post {id}"
        );
        assert!(response.text().await.unwrap().is_empty());
    }

    /// `PUT /posts/{id}/like`, which must answer an empty 204.
    pub async fn like(&self, token: &str, post: &str) {
        let path = format!("{}/like", post_path(post));
        let response = self
            .request(Method::PUT, &path, Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "like {post}");
        assert!(response.text().await.unwrap().is_empty());
    }

    /// `DELETE /posts/{id}/like`, which must answer an empty 204.
    pub async fn unlike(&self, token: &str, post: &str) {
        let path = format!("{}/like", post_path(post));
        let response = self
            .request(Method::DELETE, &path, Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "unlike {post}");
        assert!(response.text().await.unwrap().is_empty());
    }

    /// Comments `content` on `post`, which must answer 201; returns the comment.
    pub async fn comment(&self, token: &str, post: &str, content: &str) -> Value {
        let path = format!("{}/comments", post_path(post));
        let response = self
            .post_json(&path, &json!({"content": content}), Some(token))
            .await;
        json_created(response, &format!("comment {content:?}")).await
    }

    /// Uploads a small PNG (40×30), which must answer 201; returns the Media object.
    pub async fn upload_image(&self, token: &str) -> Value {
        let form = Form::new().part(
            "file",
            file_part(crate::images::png(40, 30), "photo.png", "image/png"),
        );
        let response = self
            .request(Method::POST, "/api/v1/media", Some(token))
            .multipart(form)
            .send()
            .await
            .unwrap();
        json_created(response, "upload").await
    }

    /// Fetches an absolute URL, which must be one of this server's.
    pub async fn fetch(&self, url: &str) -> Response {
        assert!(
            url.starts_with(&format!("{}/", self.address)),
            "{url} is absolute on this server"
        );
        self.client.get(url).send().await.unwrap()
    }

    /// Asserts both files of a Media object are served (`true`) or gone (`false`).
    pub async fn assert_files(&self, media: &Value, served: bool) {
        let expected = if served {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        for field in ["url", "preview_url"] {
            let url = media[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} of {media}"));
            assert_eq!(
                self.fetch(url).await.status(),
                expected,
                "{field} of {media}"
            );
        }
    }

    /// Sends `requests` (method, URL, token) all at once and returns their statuses.
    pub async fn in_parallel(&self, requests: Vec<(Method, String, String)>) -> Vec<StatusCode> {
        let mut set = JoinSet::new();
        for (method, url, token) in requests {
            let request = self.client.request(method, url).bearer_auth(token);
            set.spawn(async move { request.send().await.unwrap().status() });
        }
        let mut statuses = Vec::new();
        while let Some(status) = set.join_next().await {
            statuses.push(status.unwrap());
        }
        statuses
    }

    /// Fetches an absolute `url` (a first page, or a `Link` target used as-is) and checks that
    /// `next_cursor` and the `Link` header agree: both absent, or an absolute link carrying
    /// that cursor.
    pub async fn fetch_page(&self, url: &str, token: Option<&str>) -> Page {
        let mut request = self.client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let next = next_link(&response);
        let body = json_ok(response, url).await;
        match (&body["next_cursor"], &next) {
            (Value::Null, None) => {}
            (Value::String(cursor), Some(link)) => {
                assert!(
                    link.starts_with(&format!("{}/api/v1/", self.address)),
                    "Link is absolute: {link}"
                );
                assert!(
                    link.contains(&format!("cursor={cursor}")),
                    "Link carries next_cursor {cursor}: {link}"
                );
            }
            (cursor, link) => panic!("next_cursor {cursor} and Link {link:?} disagree ({url})"),
        }
        Page { body, next }
    }

    /// Walks a list from `path` by following each `Link` as-is; returns what `items` reads
    /// from each page (e.g. [`usernames`] or [`contents`]). Every page but the last must be
    /// full (`limit` items).
    pub async fn walk(
        &self,
        path: &str,
        token: Option<&str>,
        limit: usize,
        items: fn(&Value) -> Vec<String>,
    ) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut url = Some(self.url(path));
        while let Some(current) = url {
            assert!(pages.len() < 100, "the walk ends");
            let page = self.fetch_page(&current, token).await;
            let found = items(&page.body);
            let count = page.body["items"].as_array().map_or(0, Vec::len);
            assert!(count <= limit, "{current}: {found:?}");
            if page.next.is_some() {
                assert_eq!(count, limit, "a page before the last is full: {found:?}");
            }
            url = page.next;
            pages.push(found);
        }
        pages
    }

    /// `GET /posts` with `query` (properly encoded) and `limit=100`.
    pub async fn search_posts(&self, query: &[(&str, &str)], token: Option<&str>) -> Response {
        let mut query = query.to_vec();
        query.push(("limit", "100"));
        self.request(Method::GET, POSTS, token)
            .query(&query)
            .send()
            .await
            .unwrap()
    }

    /// Contents of `GET /posts` with `query`, which must answer 200.
    pub async fn search_contents(&self, query: &[(&str, &str)]) -> Vec<String> {
        let what = format!("GET /posts {query:?}");
        contents(&json_ok(self.search_posts(query, None).await, &what).await)
    }

    /// Usernames of a list's first page of up to 100.
    pub async fn list_usernames(&self, path: &str, token: Option<&str>) -> Vec<String> {
        usernames(&self.get_ok(&with_param(path, "limit=100"), token).await)
    }

    /// Contents of a list's first page of up to 100 (posts, comments or schedules).
    pub async fn list_contents(&self, path: &str, token: Option<&str>) -> Vec<String> {
        contents(&self.get_ok(&with_param(path, "limit=100"), token).await)
    }

    /// Publishes every schedule due as of the app's clock, with the publisher's own pass,
    /// and returns how many this call published. On PostgreSQL the app's background
    /// publisher may hold some due schedules, locked, in a round of its own (the pass skips
    /// those): this waits for them too, so that on return nothing due is left unpublished.
    pub async fn publish_due(&self) -> u64 {
        let mut published = 0;
        eventually(
            Duration::from_secs(2),
            "every schedule due by the app's clock is published",
            async || {
                published += roost::scheduler::publisher::publish_due(&self.state)
                    .await
                    .expect("a publishing pass");
                let next = roost::scheduler::store::next_due(&self.state.db)
                    .await
                    .expect("the next due time");
                let still_due = next.is_some_and(|due| due <= self.state.clock.now());
                (!still_due).then_some(())
            },
        )
        .await;
        published
    }
}

// ---------------------------------------------------------------------------------------
// Waiting for another task
// ---------------------------------------------------------------------------------------

/// How often [`eventually`] looks again.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// Polls `check` until it returns `Some`, and returns that value; fails, saying `what` was
/// expected, when `within` has passed first. Scenarios wait with this for what another
/// task brings about (the publisher, the media clean-up, a database coming back), never
/// with a fixed sleep: the test goes on as soon as the outcome shows.
pub async fn eventually<T>(
    within: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `check` until `within` has passed, and fails, saying what was expected, as soon as
/// it returns `false`: for what must stay true for a while (no duplicate appears).
pub async fn holds_for(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        assert!(check().await, "{what}: broken within {within:?}");
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Requests to the Mastodon-compatible API (its own listener).
#[allow(dead_code)]
impl TestApp {
    /// The absolute URL of `path` on the Mastodon-compatible API.
    pub fn masto_url(&self, path: &str) -> String {
        assert!(
            !self.mastodon_address.is_empty(),
            "the Mastodon-compatible API is off"
        );
        format!("{}{path}", self.mastodon_address)
    }

    /// A request to the Mastodon-compatible API with an optional bearer token.
    pub fn masto(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.masto_url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// `GET path` on the Mastodon-compatible API, asserting 200 and returning the JSON.
    pub async fn masto_get(&self, path: &str, token: Option<&str>) -> Value {
        let response = self.masto(Method::GET, path, token).send().await.unwrap();
        json_ok(response, &format!("GET {path}")).await
    }

    /// `POST path` with a form body on the Mastodon-compatible API, asserting 200.
    pub async fn masto_post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        token: Option<&str>,
    ) -> Value {
        let response = self
            .masto(Method::POST, path, token)
            .form(form)
            .send()
            .await
            .unwrap();
        json_ok(response, &format!("POST {path}")).await
    }

    /// `POST path` with a JSON body on the Mastodon-compatible API, asserting 200.
    pub async fn masto_post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Value {
        let response = self
            .masto(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap();
        json_ok(response, &format!("POST {path}")).await
    }
}

/// Asserts a Mastodon-style error: the status and a body `{"error": "…"}`; returns the
/// message.
pub async fn assert_masto_error(response: Response, status: u16, what: &str) -> String {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{what}: {body}");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no \"error\" in {body}"))
        .to_owned()
}
