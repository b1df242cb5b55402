//! The database: connecting to SQLite or PostgreSQL from one URL, migrations, ids, and the
//! helpers every store shares.
//!
//! One set of SeaORM entities, migrations and queries serves both backends. Statements
//! beyond what the entities express are built with `sea_query` (compiled in through
//! SeaORM), which numbers placeholders for each backend; where the backends need different
//! SQL, the store has one function per dialect, side by side, chosen on
//! [`DatabaseConnection::get_database_backend`].

pub mod migrations;

pub mod ids;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sea_orm::sea_query::OnConflict;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

use crate::config::Config;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a locked database before reporting `busy`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a SQLite database file is read through a memory map rather than `read`
/// calls into each connection's own page cache: the pool's connections then share the
/// kernel's cached pages and a page read costs no system call. On the 1,000,000-post
/// benchmark dataset this took the feed from 2,650 to 3,650 requests/s. Mapped pages are
/// the kernel's page cache: they count in the process's resident set but are shared with
/// the file and reclaimable, not memory the server holds.
const SQLITE_MMAP_SIZE: u64 = 1 << 30;
/// A pooled PostgreSQL connection idle for this long is pinged before it is handed out
/// (one that was dropped by the server, a proxy or a firewall meanwhile is replaced); a
/// busy one is not, which spares every statement a round trip. The pool also pings each
/// connection when it is returned, so one broken in use never goes back into service.
const POSTGRES_PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// Arbitrary key of the PostgreSQL advisory lock that serialises concurrent migrators.
const MIGRATION_LOCK_KEY: i64 = 0x0072_6f6f_7374;

/// A new time-ordered id (UUIDv7): ids issued later compare greater, so keyset pagination
/// can sort on the id alone, and several processes can issue them without coordination
/// (see [`ids`] for the bits that make each id's 64-bit number unique).
pub fn new_id() -> Uuid {
    ids::new_id()
}

/// The id of the row of `table` whose 64-bit number (see [`ids`]) is `number`: a range
/// on the primary key. The first such row when ids written before the numbering scheme
/// share a number.
pub async fn id_by_number(
    db: &impl ConnectionTrait,
    table: &'static str,
    number: i64,
) -> Result<Option<Uuid>, DbErr> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
    let (lowest, end) = ids::range(number);
    let mut select = Query::select();
    select
        .column(Alias::new("id"))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("id")).gte(lowest));
    if let Some(end) = end {
        select.and_where(Expr::col(Alias::new("id")).lt(end));
    }
    select.order_by(Alias::new("id"), Order::Asc).limit(1);
    let backend = db.get_database_backend();
    match db.query_one_raw(backend.build(&select)).await? {
        Some(row) => Ok(Some(row.try_get::<Uuid>("", "id")?)),
        None => Ok(None),
    }
}

/// On PostgreSQL, where several processes issue ids, takes this process's id node from
/// the sequence that deals them out (see [`ids`]); on SQLite the one process keeps node 0.
pub async fn take_id_node(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT nextval('roost_id_nodes') AS node",
        ))
        .await
        .context("taking an id node")?
        .context("nextval returned no row")?;
    let node: i64 = row.try_get("", "node").context("reading the id node")?;
    ids::set_node(node as u64);
    Ok(())
}

/// Opens a connection pool for `config.database_url`, creating the SQLite file (and its
/// folder) on first use.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    connect_url(
        &config.database_url,
        config.database_max_connections,
        config.database_acquire_timeout,
    )
    .await
}

async fn connect_url(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .connect_timeout(CONNECT_TIMEOUT)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let parent = sqlite_path(url).and_then(Path::parent);
        if let Some(parent) = parent.filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the database folder {}", parent.display()))?;
        }
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .pragma("mmap_size", SQLITE_MMAP_SIZE.to_string())
        });
        // A connection to a local file cannot be dropped by anyone else: testing it before
        // each statement only costs a round trip to its worker thread.
        options.test_before_acquire(false);
    } else {
        options.test_before_acquire_if_idle_for(POSTGRES_PING_IF_IDLE_FOR);
    }
    let db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    Ok(db)
}

/// The file path inside a `sqlite:` URL, if it names a file (not `:memory:`).
fn sqlite_path(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| Path::new(path))
}

/// The URL with any password replaced, for error messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Applies pending migrations. On PostgreSQL an advisory lock makes concurrent start-ups
/// of several processes take turns instead of racing on the same DDL.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    if config.database_url.starts_with("sqlite:") {
        let db = connect_url(&config.database_url, 1, CONNECT_TIMEOUT).await?;
        migrations::Migrator::up(&db, None)
            .await
            .context("applying migrations")?;
        db.close().await.ok();
        return Ok(());
    }
    // A one-connection pool keeps the session-level lock and the migrations on one session.
    let db = connect_url(&config.database_url, 1, CONNECT_TIMEOUT).await?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_lock($1)",
        [MIGRATION_LOCK_KEY.into()],
    ))
    .await
    .context("taking the migration lock")?;
    let result = migrations::Migrator::up(&db, None)
        .await
        .context("applying migrations");
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_unlock($1)",
        [MIGRATION_LOCK_KEY.into()],
    ))
    .await
    .ok();
    db.close().await.ok();
    result
}

/// Inserts `row` unless a row with the same values in the `unique` columns (a unique index)
/// exists; returns whether it was inserted. The index decides between concurrent inserts, so
/// a repeat, or a race of two, leaves one row and the first one's id.
pub async fn insert_once<A, C>(db: &impl ConnectionTrait, row: A, unique: C) -> Result<bool, DbErr>
where
    A: ActiveModelTrait,
    C: IntoIterator<Item = <A::Entity as EntityTrait>::Column>,
{
    let inserted = <A::Entity as EntityTrait>::insert(row)
        .on_conflict(OnConflict::columns(unique).do_nothing().to_owned())
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(rows) => Ok(rows > 0),
        Err(DbErr::RecordNotInserted) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of deadlocking
/// when both try to upgrade a read lock.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// How many times a transaction that lost a deadlock is run again.
const DEADLOCK_RETRIES: u32 = 3;

/// The database's own error code, when the error came from the database.
fn database_code(error: &DbErr) -> Option<String> {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(inner))
    | DbErr::Query(RuntimeErr::SqlxError(inner))
    | DbErr::Conn(RuntimeErr::SqlxError(inner))) = error
    else {
        return None;
    };
    inner
        .as_database_error()
        .and_then(|db_error| db_error.code())
        .map(|code| code.into_owned())
}

/// Whether SQLite gave up waiting for another writer (`SQLITE_BUSY` and its extended
/// codes, or `SQLITE_LOCKED`) after its busy timeout: the work can simply be run again.
pub fn is_busy(error: &DbErr) -> bool {
    database_code(error).is_some_and(|code| matches!(code.as_str(), "5" | "6" | "261" | "517"))
}

/// Whether the transaction can be run again as it is: PostgreSQL aborted it to break a
/// deadlock or a serialization conflict, or SQLite stayed busy past its timeout.
pub fn is_retryable(error: &DbErr) -> bool {
    is_busy(error) || database_code(error).is_some_and(|code| code == "40P01" || code == "40001")
}

/// Runs `work` as one write transaction, committing on success and running it again (a
/// few times) when the database aborted it to break a deadlock or stayed busy.
pub async fn write_transaction<T, F>(db: &DatabaseConnection, mut work: F) -> Result<T, DbErr>
where
    F: for<'t> FnMut(
        &'t DatabaseTransaction,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, DbErr>> + Send + 't>,
    >,
{
    let mut attempt = 0;
    loop {
        let transaction = begin_write(db).await?;
        let result = match work(&transaction).await {
            Ok(value) => transaction.commit().await.map(|()| value),
            Err(error) => {
                transaction.rollback().await.ok();
                Err(error)
            }
        };
        match result {
            Err(error) if attempt < DEADLOCK_RETRIES && is_retryable(&error) => {
                attempt += 1;
                tracing::debug!(
                    attempt,
                    "transaction lost a deadlock or found the database busy; running it again"
                );
            }
            other => return other,
        }
    }
}

/// Answers whether the database responds to a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(
            sqlite_path("sqlite://data/roost.db"),
            Some(Path::new("data/roost.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/roost.db?mode=rwc"),
            Some(Path::new("/var/lib/roost.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://roost:hunter2@db:5432/roost"),
            "postgres://roost:***@db:5432/roost"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }

    #[test]
    fn ids_are_time_ordered() {
        let first = new_id();
        let second = new_id();
        assert!(second > first);
        assert!(second.to_string() > first.to_string());
    }
}
