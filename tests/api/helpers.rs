//! `TestApp`: a running Roost on its own fresh database, with typed helpers for the
//! requests scenarios are made of.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use reqwest::{Method, Response, StatusCode};
use roost::clock::{Clock, ManualClock, SystemClock};
use roost::{Application, Config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Password used by the helpers' accounts.
pub const PASSWORD: &str = "correct horse battery";

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

pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub address: String,
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

/// Asserts `response` is a problem+json with `status` and `code`, and returns its body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json", "content type");
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "status field");
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
