//! `AppState`: what every handler and service can reach (the database pool, the
//! configuration, the clock, password hashing, media storage, shared limits). It sits below
//! every feature: features import it, it imports no feature's routes or services.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, Semaphore};

use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::db;
use crate::media::storage::MediaStore;
use crate::overload::Admission;
use crate::ratelimit::RateLimiter;
use crate::stream::Hub;

/// Statements slower than this are logged as warnings.
const SLOW_STATEMENT: Duration = Duration::from_millis(250);

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub media: MediaStore,
    /// Bounds concurrent image decoding to the number of cores (each can hold a large
    /// decoded image in memory).
    pub image_permits: Arc<Semaphore>,
    /// SQL statements executed through the pool since start (diagnostics, and the tests
    /// that prove a page costs a fixed number of queries).
    pub sql_statements: Arc<AtomicU64>,
    /// Wakes the scheduled-post publisher when a schedule is created or edited.
    pub publisher_wake: Arc<Notify>,
    /// Per-client request budgets; `None` when `ROOST_RATE_LIMITS=off`.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// The bound on requests in progress, and their deadline.
    pub admission: Admission,
    /// The streams open on this process, and how signals reach them.
    pub stream: Hub,
    /// The scopes of OAuth tokens, for the Mastodon-compatible API's busiest reads.
    pub token_scopes: Arc<crate::mastodon::scopes::ScopeCache>,
}

impl AppState {
    /// Connects to the database (without migrating) and prepares the shared services.
    pub async fn new(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let mut db = db::connect(&config).await?;
        db::take_id_node(&db).await?;
        let sql_statements = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&sql_statements);
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            if info.elapsed >= SLOW_STATEMENT {
                // The SQL text only: bound values (which may be personal data) stay out of logs.
                tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, sql = %info.statement.sql, "slow SQL statement");
            }
        });
        let media = match &config.media_store {
            None => MediaStore::local(config.media_dir.clone()),
            Some(bucket) => MediaStore::object_storage(bucket)?,
        };
        // A bucket that does not answer is said at start; uploads fail with 503 until it
        // does, and everything else is served.
        if let Err(error) = media.check().await {
            tracing::warn!(store = %media.describe(), error = %format!("{error:#}"), "the media store does not answer");
        }
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let rate_limiter = RateLimiter::from_config(&config)?;
        if let Some(limiter) = &rate_limiter {
            limiter.connect().await;
        }
        Ok(Self {
            passwords: PasswordHasher::new(config.password_hash)?,
            media,
            image_permits: Arc::new(Semaphore::new(cores)),
            sql_statements,
            publisher_wake: Arc::new(Notify::new()),
            rate_limiter,
            admission: Admission::new(config.max_concurrent_requests, config.request_timeout),
            stream: Hub::new(!config.database_url.starts_with("sqlite:")),
            token_scopes: Arc::default(),
            db,
            config: Arc::new(config),
            clock,
        })
    }
}
