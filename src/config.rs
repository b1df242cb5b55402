//! Typed configuration read from the environment (and `.env`), with every default in one place:
//! each `ROOST_*` variable is one clap argument (name, default, value parser, help text), and
//! clap parses them all, whatever the variables' source.

use std::error::Error as _;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue};
use clap::{Arg, ArgAction, Args as _, Command, FromArgMatches as _};
use ipnet::IpNet;

/// Everything the server needs to start, parsed once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Address the HTTP listener binds to.
    pub bind: SocketAddr,
    /// Directory where uploaded images are stored (unless `media_store` names a bucket).
    pub media_dir: PathBuf,
    /// The S3-compatible bucket uploaded images are stored in; `None`: `media_dir`.
    pub media_store: Option<ObjectStorage>,
    /// Base of image URLs when a CDN or the bucket serves them (the key is appended);
    /// `None`: Roost serves them at `{public_url}/media/{key}`.
    pub media_public_url: Option<String>,
    /// Base for absolute URLs in responses, without a trailing slash.
    pub public_url: String,
    /// Lifetime of a login token.
    pub token_ttl: Duration,
    /// Whether the per-client request budgets apply (the failed-login rule always does).
    pub rate_limits: bool,
    /// The request budgets, per client and minute, when `rate_limits` is on.
    pub budgets: Budgets,
    /// Client addresses the budgets do not apply to, when they connect directly (not
    /// through a proxy): by default the loopback addresses, for local tools and tests.
    pub rate_limit_exempt: Vec<IpNet>,
    /// Reverse proxies whose `X-Forwarded-For` is believed; empty (the default) means the
    /// client address is always the peer of the TCP connection.
    pub trusted_proxies: Vec<IpNet>,
    /// Origins allowed to call the API from a browser (CORS); empty (the default) allows
    /// none, `*` allows any.
    pub cors_origins: Vec<String>,
    /// Requests served at once; more are refused with 503 rather than queued.
    pub max_concurrent_requests: usize,
    /// Open connections at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Longest a request may take, body upload included, before it is answered 503 and
    /// its work rolled back.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's headers (slow-client protection).
    pub header_read_timeout: Duration,
    /// Largest accepted JSON request body, in bytes.
    pub json_body_limit: usize,
    /// Failed logins for one email address, within `login_failure_window`, after which
    /// every attempt for that address is refused with 429.
    pub login_max_failures: u32,
    /// The sliding window over which failed logins are counted.
    pub login_failure_window: Duration,
    /// Argon2id cost parameters for new password hashes.
    pub password_hash: PasswordHashConfig,
    /// Maximum number of pooled database connections.
    pub database_max_connections: u32,
    /// Longest a request waits for a pooled connection (pool exhausted, database down)
    /// before it is answered 503.
    pub database_acquire_timeout: Duration,
    /// Longest the publisher sleeps before re-checking for due schedules written by other
    /// processes (its own are noticed at once).
    pub scheduler_recheck: Duration,
    /// Largest accepted image upload, in bytes.
    pub max_image_bytes: usize,
    /// How often never-attached uploads (and expired idempotency keys) are cleaned up.
    pub media_cleanup_interval: Duration,
    /// Where the Mastodon-compatible client API listens; `None` when it is off.
    pub mastodon_bind: Option<SocketAddr>,
    /// Base of every URL the Mastodon-compatible API returns.
    pub mastodon_public_url: String,
    /// Lifetime of a token issued through OAuth; `None`: until revoked.
    pub oauth_token_ttl: Option<Duration>,
    /// Redis server keeping the request budgets for every process; `None`: each process
    /// keeps its own.
    pub redis_url: Option<String>,
    /// Start of every key Roost writes to Redis.
    pub redis_key_prefix: String,
}

/// An S3-compatible bucket (`ROOST_MEDIA_STORE=s3://bucket/prefix`) and how to reach it
/// (the usual `AWS_*` variables; without keys, the usual AWS sources: instance profile,
/// web identity …).
#[derive(Clone, PartialEq, Eq)]
pub struct ObjectStorage {
    pub bucket: String,
    /// Without leading or trailing slashes; empty for the bucket's root.
    pub prefix: String,
    pub region: String,
    /// Another S3-compatible server (MinIO, Garage, Ceph, R2 …); `None`: AWS.
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for ObjectStorage {
    /// Without the secret key and session token.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ObjectStorage")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Requests per minute a client may make in each class of request. A budget of `n`
/// allows a burst of `n`, then one request every `60/n` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Reads (`GET`) other than searches.
    pub read: u32,
    /// Writes (`POST`, `PUT`, `PATCH`, `DELETE`) other than those below.
    pub write: u32,
    /// Searches: `GET /users?q=` and `GET /posts?q=`.
    pub search: u32,
    /// Image uploads: `POST /media` and `PUT /me/avatar`.
    pub upload: u32,
    /// `POST /auth/register`, per client address.
    pub register: u32,
    /// `POST /auth/login`, per client address (the failed-login rule applies on top).
    pub login: u32,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            read: 600,
            write: 120,
            search: 60,
            upload: 20,
            register: 5,
            login: 60,
        }
    }
}

/// Argon2id cost. The defaults are OWASP's recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordHashConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// A configuration variable that is present but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    pub name: &'static str,
    pub message: String,
}

/// The pool size on PostgreSQL when `ROOST_DATABASE_MAX_CONNECTIONS` is unset.
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 16;
/// The pool size on SQLite when `ROOST_DATABASE_MAX_CONNECTIONS` is unset. SQLite has one
/// writer at a time and each connection is a thread of its own: a few connections keep reads
/// parallel, while more only add writers sleeping in SQLite's busy handler (which waits up to
/// 100 ms between tries) and thread hand-offs.
pub const DEFAULT_SQLITE_MAX_CONNECTIONS: u32 = 4;

impl Config {
    /// Reads the process environment, after loading `.env` if one exists.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is the normal case; a malformed one is worth refusing to start over.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => {
                return Err(ConfigError {
                    name: ".env",
                    message: error.to_string(),
                });
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (the environment, or a map in tests).
    ///
    /// Each variable that is set becomes a `--long=value` argument of the variables' clap
    /// command, so that clap applies their defaults and value parsers; a blank value counts as
    /// unset. The process environment is never read here (clap's own `env` lookup is
    /// switched off), so tests can build configurations side by side.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut args = vec!["roost".to_owned()];
        for arg in VARIABLES.get_arguments() {
            let (Some(name), Some(long)) = (variable_name(arg), arg.get_long()) else {
                continue;
            };
            match lookup(name) {
                Some(value) if !value.trim().is_empty() => args.push(format!("--{long}={value}")),
                Some(_) if blank_is_a_value(arg) => args.push(format!("--{long}")),
                _ => {}
            }
        }
        let matches = VARIABLES
            .clone()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(args)
            .map_err(config_error)?;
        let variables = Variables::from_arg_matches(&matches).map_err(config_error)?;
        Ok(variables.into_config())
    }
}

/// Lists every variable with its default and meaning, for the end of `roost --help`.
pub fn environment_help() -> String {
    let mut help = String::from(
        "Environment variables (a .env file in the working directory is read too; \
         a blank value counts as unset):\n",
    );
    for arg in VARIABLES.get_arguments() {
        let Some(name) = variable_name(arg) else {
            continue;
        };
        // Every variable has at most one default; the others take theirs from another one.
        let default = match arg.get_default_values() {
            [] => String::new(),
            [value] if value.is_empty() => " [default: none]".to_owned(),
            values => {
                let values: Vec<_> = values.iter().map(|value| value.to_string_lossy()).collect();
                format!(" [default: {}]", values.join(","))
            }
        };
        let _ = writeln!(help, "  {name}{default}");
        if let Some(meaning) = arg.get_long_help().or(arg.get_help()) {
            for line in meaning.to_string().lines() {
                let _ = writeln!(help, "          {line}");
            }
        }
    }
    help
}

/// The definitions of the `ROOST_*` variables, built once: [`Config::from_lookup`] parses
/// with a copy of it, and [`environment_help`] lists it.
static VARIABLES: LazyLock<Command> = LazyLock::new(|| {
    let mut command = Variables::augment_args(Command::new("roost"));
    // Building settles each argument's final form, which clap's errors quote.
    command.build();
    command
});

/// Whether a blank value is a value of its own for this variable rather than "unset": so it is
/// for a variable that may be given without a value (it has a `default_missing_value`).
fn blank_is_a_value(arg: &Arg) -> bool {
    arg.get_num_args()
        .is_some_and(|count| count.min_values() == 0)
}

/// The variable an argument is read from, for as long as the program runs.
fn variable_name(arg: &'static Arg) -> Option<&'static str> {
    arg.get_env().and_then(OsStr::to_str)
}

/// Turns a clap error into one naming the variable and what it expects.
fn config_error(error: clap::Error) -> ConfigError {
    // clap names the argument whose value was refused as it displays it (`--bind <BIND>`).
    let refused = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(refused)) => Some(refused.as_str()),
        _ => None,
    };
    let name = VARIABLES
        .get_arguments()
        .find(|arg| refused == Some(arg.to_string().as_str()))
        .and_then(variable_name);
    ConfigError {
        // Only values are given, each at most once, so every error is a refused value; a
        // nameless one would be a mistake in the definitions below.
        name: name.unwrap_or("configuration"),
        message: error
            .source()
            .map_or_else(|| error.kind().to_string(), ToString::to_string),
    }
}

/// One field per `ROOST_*` variable, and the one place each is defined: its name, its
/// default, the values it accepts (its value parser) and its help text.
///
/// The lists are one value each, whole: written `std::vec::Vec` so that clap does not take
/// them for a repeatable argument.
#[derive(Debug, clap::Args)]
struct Variables {
    /// `sqlite://PATH` (file and folder created if missing) or `postgres://user:pass@host/db`.
    #[arg(long, env = "ROOST_DATABASE_URL", default_value = "sqlite://data/roost.db",
          value_parser = database_url)]
    database_url: String,
    /// Listen address.
    #[arg(long, env = "ROOST_BIND", default_value = "127.0.0.1:8080", value_parser = bind)]
    bind: SocketAddr,
    /// Where uploaded images are stored.
    #[arg(long, env = "ROOST_MEDIA_DIR", default_value = "data/media")]
    media_dir: PathBuf,
    /// `local` (the folder `ROOST_MEDIA_DIR`) or `s3://bucket/prefix` (an S3-compatible
    /// bucket, reached with the `AWS_*` variables).
    #[arg(long, env = "ROOST_MEDIA_STORE", default_value = "local", value_parser = media_store)]
    media_store: MediaStoreUrl,
    /// Base URL images are served from by a CDN or the bucket itself (`{base}/{key}`);
    /// unset: Roost serves them at `{ROOST_PUBLIC_URL}/media/{key}`.
    #[arg(long, env = "ROOST_MEDIA_PUBLIC_URL", value_parser = public_url)]
    media_public_url: Option<String>,
    /// S3 endpoint of a server other than AWS (MinIO, Garage, Ceph, R2 …); `http://` is
    /// allowed.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_parser = public_url)]
    aws_endpoint_url: Option<String>,
    /// Region of the bucket.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    aws_region: String,
    /// Access key of the bucket; unset: the usual AWS sources (instance profile …).
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    aws_access_key_id: Option<String>,
    /// Secret key of the bucket.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    aws_secret_access_key: Option<String>,
    /// Session token of temporary credentials.
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    aws_session_token: Option<String>,
    /// Base for absolute URLs in responses (set it behind a proxy); `http://` and
    /// `ROOST_BIND` by default.
    #[arg(long, env = "ROOST_PUBLIC_URL", value_parser = public_url)]
    public_url: Option<String>,
    /// Lifetime of a login token, in seconds.
    #[arg(long, env = "ROOST_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 60 * 60,
          value_parser = whole_number(1))]
    token_ttl_secs: u32,
    /// `off` turns off the per-client request budgets; the failed-login rule always applies.
    #[arg(long, env = "ROOST_RATE_LIMITS", default_value = "on", action = ArgAction::Set,
          value_parser = on_or_off)]
    rate_limits: bool,
    /// Reads per client per minute.
    #[arg(long, env = "ROOST_RATE_LIMIT_READ", default_value_t = Budgets::default().read,
          value_parser = whole_number(1))]
    rate_limit_read: u32,
    /// Writes per client per minute.
    #[arg(long, env = "ROOST_RATE_LIMIT_WRITE", default_value_t = Budgets::default().write,
          value_parser = whole_number(1))]
    rate_limit_write: u32,
    /// Searches (`/users?q=`, `/posts?q=`) per client per minute.
    #[arg(long, env = "ROOST_RATE_LIMIT_SEARCH", default_value_t = Budgets::default().search,
          value_parser = whole_number(1))]
    rate_limit_search: u32,
    /// Image uploads (`POST /media`, `PUT /me/avatar`) per client per minute.
    #[arg(long, env = "ROOST_RATE_LIMIT_UPLOAD", default_value_t = Budgets::default().upload,
          value_parser = whole_number(1))]
    rate_limit_upload: u32,
    /// Registrations per client address per minute.
    #[arg(long, env = "ROOST_RATE_LIMIT_REGISTER",
          default_value_t = Budgets::default().register, value_parser = whole_number(1))]
    rate_limit_register: u32,
    /// Logins per client address per minute.
    #[arg(long, env = "ROOST_RATE_LIMIT_LOGIN", default_value_t = Budgets::default().login,
          value_parser = whole_number(1))]
    rate_limit_login: u32,
    /// Addresses (or networks) whose direct requests are not budgeted; empty for none.
    #[arg(long, env = "ROOST_RATE_LIMIT_EXEMPT", default_value = "127.0.0.0/8, ::1",
          num_args = 0..=1, default_missing_value = "", value_parser = networks)]
    rate_limit_exempt: std::vec::Vec<IpNet>,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` names the client.
    #[arg(long, env = "ROOST_TRUSTED_PROXIES", default_value = "", value_parser = networks)]
    trusted_proxies: std::vec::Vec<IpNet>,
    /// Origins browsers may call the API from (`https://app.example, …`, or `*`).
    #[arg(long, env = "ROOST_CORS_ORIGINS", default_value = "", value_parser = cors_origins)]
    cors_origins: std::vec::Vec<String>,
    /// Requests served at once; more get `503 overloaded` at once.
    #[arg(long, env = "ROOST_MAX_CONCURRENT_REQUESTS", default_value_t = 512,
          value_parser = whole_number(1))]
    max_concurrent_requests: u32,
    /// Longest a request may take, body upload included, in seconds (then `503 timeout`,
    /// changes rolled back).
    #[arg(long, env = "ROOST_REQUEST_TIMEOUT_SECS", default_value_t = 30,
          value_parser = whole_number(1))]
    request_timeout_secs: u32,
    /// Longest a client may take to send its headers, in seconds; also closes idle
    /// keep-alive connections.
    #[arg(long, env = "ROOST_HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = whole_number(1))]
    header_read_timeout_secs: u32,
    /// Open connections at once; more wait in the listen backlog.
    #[arg(long, env = "ROOST_MAX_CONNECTIONS", default_value_t = 4096,
          value_parser = whole_number(1))]
    max_connections: u32,
    /// Failed logins per email address that trigger the lock-out.
    #[arg(long, env = "ROOST_LOGIN_MAX_FAILURES", default_value_t = 10,
          value_parser = whole_number(1))]
    login_max_failures: u32,
    /// Window over which failed logins are counted, in seconds.
    #[arg(long, env = "ROOST_LOGIN_FAILURE_WINDOW_SECS", default_value_t = 15 * 60,
          value_parser = whole_number(1))]
    login_failure_window_secs: u32,
    /// Largest JSON request body, in bytes (larger gets `413`).
    #[arg(long, env = "ROOST_JSON_BODY_LIMIT", default_value_t = 1024 * 1024,
          value_parser = whole_number(1024))]
    json_body_limit: u32,
    /// Argon2id memory cost, in KiB.
    #[arg(long, env = "ROOST_ARGON2_MEMORY_KIB",
          default_value_t = PasswordHashConfig::default().memory_kib,
          value_parser = whole_number(8))]
    argon2_memory_kib: u32,
    /// Argon2id passes.
    #[arg(long, env = "ROOST_ARGON2_ITERATIONS",
          default_value_t = PasswordHashConfig::default().iterations,
          value_parser = whole_number(1))]
    argon2_iterations: u32,
    /// Argon2id lanes.
    #[arg(long, env = "ROOST_ARGON2_PARALLELISM",
          default_value_t = PasswordHashConfig::default().parallelism,
          value_parser = whole_number(1))]
    argon2_parallelism: u32,
    /// Longest the publisher waits before looking for due schedules written by other
    /// processes, in seconds.
    #[arg(long, env = "ROOST_SCHEDULER_RECHECK_SECS", default_value_t = 5,
          value_parser = whole_number(1))]
    scheduler_recheck_secs: u32,
    /// Largest image upload, in bytes (larger gets `413`).
    #[arg(long, env = "ROOST_MAX_IMAGE_BYTES", default_value_t = 10 * 1024 * 1024,
          value_parser = whole_number(1024))]
    max_image_bytes: u32,
    /// How often uploads never attached to a post are deleted, in seconds.
    #[arg(long, env = "ROOST_MEDIA_CLEANUP_INTERVAL_SECS", default_value_t = 60 * 60,
          value_parser = whole_number(1))]
    media_cleanup_interval_secs: u32,
    // Its default depends on the backend: the help quotes the two constants.
    #[arg(long, env = "ROOST_DATABASE_MAX_CONNECTIONS", value_parser = whole_number(1),
          help = format!("Database pool size; {DEFAULT_SQLITE_MAX_CONNECTIONS} on SQLite and \
                          {DEFAULT_DATABASE_MAX_CONNECTIONS} on PostgreSQL by default"))]
    database_max_connections: Option<u32>,
    /// Longest a request waits for a pooled connection, in seconds, then gets
    /// `503 service_unavailable`.
    #[arg(long, env = "ROOST_DATABASE_ACQUIRE_TIMEOUT_SECS", default_value_t = 5,
          value_parser = whole_number(1))]
    database_acquire_timeout_secs: u32,
    /// Listen address of the Mastodon-compatible client API, or `off`.
    #[arg(long, env = "ROOST_MASTODON_BIND", default_value = "127.0.0.1:8081",
          value_parser = bind_or_off)]
    mastodon_bind: Bind,
    /// Base for absolute URLs in the Mastodon-compatible API's responses; `http://` and
    /// `ROOST_MASTODON_BIND` by default.
    #[arg(long, env = "ROOST_MASTODON_PUBLIC_URL", value_parser = public_url)]
    mastodon_public_url: Option<String>,
    /// Lifetime of a token issued through OAuth, in seconds; unset: until revoked (the
    /// apps cannot refresh one).
    #[arg(long, env = "ROOST_OAUTH_TOKEN_TTL_SECS", value_parser = whole_number(1))]
    oauth_token_ttl_secs: Option<u32>,
    /// Redis server (`redis://[:password@]host[:port][/db]`) keeping the request budgets,
    /// shared by every process using it; unset: each process keeps its own.
    #[arg(long, env = "ROOST_REDIS_URL", value_parser = redis_url)]
    redis_url: Option<String>,
    /// Start of every key Roost writes to Redis (several deployments can share a server).
    #[arg(long, env = "ROOST_REDIS_KEY_PREFIX", default_value = "roost", value_parser = key_prefix)]
    redis_key_prefix: String,
}

/// `ROOST_MEDIA_STORE`: the local folder, or a bucket and prefix.
#[derive(Debug, Clone)]
enum MediaStoreUrl {
    Local,
    Bucket { bucket: String, prefix: String },
}

/// A listen address, or `off`.
#[derive(Debug, Clone, Copy)]
enum Bind {
    On(SocketAddr),
    Off,
}

impl Variables {
    /// Applies the defaults that depend on another variable and gives each value its type.
    fn into_config(self) -> Config {
        let seconds = |value: u32| Duration::from_secs(value.into());
        let default_max_connections = if self.database_url.starts_with("sqlite:") {
            DEFAULT_SQLITE_MAX_CONNECTIONS
        } else {
            DEFAULT_DATABASE_MAX_CONNECTIONS
        };
        Config {
            public_url: self
                .public_url
                .unwrap_or_else(|| format!("http://{}", self.bind)),
            database_max_connections: self
                .database_max_connections
                .unwrap_or(default_max_connections),
            database_url: self.database_url,
            bind: self.bind,
            media_dir: self.media_dir,
            media_store: match self.media_store {
                MediaStoreUrl::Local => None,
                MediaStoreUrl::Bucket { bucket, prefix } => Some(ObjectStorage {
                    bucket,
                    prefix,
                    region: self.aws_region,
                    endpoint: self.aws_endpoint_url,
                    access_key_id: self.aws_access_key_id,
                    secret_access_key: self.aws_secret_access_key,
                    session_token: self.aws_session_token,
                }),
            },
            media_public_url: self.media_public_url,
            token_ttl: seconds(self.token_ttl_secs),
            rate_limits: self.rate_limits,
            budgets: Budgets {
                read: self.rate_limit_read,
                write: self.rate_limit_write,
                search: self.rate_limit_search,
                upload: self.rate_limit_upload,
                register: self.rate_limit_register,
                login: self.rate_limit_login,
            },
            rate_limit_exempt: self.rate_limit_exempt,
            trusted_proxies: self.trusted_proxies,
            cors_origins: self.cors_origins,
            max_concurrent_requests: self.max_concurrent_requests as usize,
            max_connections: self.max_connections as usize,
            request_timeout: seconds(self.request_timeout_secs),
            header_read_timeout: seconds(self.header_read_timeout_secs),
            json_body_limit: self.json_body_limit as usize,
            login_max_failures: self.login_max_failures,
            login_failure_window: seconds(self.login_failure_window_secs),
            password_hash: PasswordHashConfig {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                parallelism: self.argon2_parallelism,
            },
            database_acquire_timeout: seconds(self.database_acquire_timeout_secs),
            scheduler_recheck: seconds(self.scheduler_recheck_secs),
            max_image_bytes: self.max_image_bytes as usize,
            media_cleanup_interval: seconds(self.media_cleanup_interval_secs),
            mastodon_public_url: match (self.mastodon_public_url, self.mastodon_bind) {
                (Some(url), _) => url,
                (None, Bind::On(address)) => format!("http://{address}"),
                (None, Bind::Off) => String::new(),
            },
            mastodon_bind: match self.mastodon_bind {
                Bind::On(address) => Some(address),
                Bind::Off => None,
            },
            oauth_token_ttl: self.oauth_token_ttl_secs.map(seconds),
            redis_url: self.redis_url,
            redis_key_prefix: self.redis_key_prefix,
        }
    }
}

// The value parsers: each error message says what the variable expects.

fn database_url(text: &str) -> Result<String, String> {
    if ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|prefix| text.starts_with(prefix))
    {
        Ok(text.to_owned())
    } else {
        Err("must start with sqlite:// or postgres://".into())
    }
}

/// `local`, or `s3://bucket[/prefix]` with a bucket name as S3 allows.
fn media_store(text: &str) -> Result<MediaStoreUrl, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("local") {
        return Ok(MediaStoreUrl::Local);
    }
    let Some(rest) = text.strip_prefix("s3://") else {
        return Err("must be local or s3://bucket/prefix".into());
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_char =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if !(3..=63).contains(&bucket.len()) || !bucket.chars().all(bucket_char) {
        return Err(format!(
            "{bucket:?} is not a bucket name (3 to 63 of a-z 0-9 . -)"
        ));
    }
    let prefix = prefix.trim_matches('/');
    let bad_part = |part: &str| part.is_empty() || part == "." || part == "..";
    if !prefix.is_empty() && prefix.split('/').any(bad_part) {
        return Err(format!(
            "{prefix:?} is not a prefix like media or site/media"
        ));
    }
    Ok(MediaStoreUrl::Bucket {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
    })
}

/// A Redis URL the client accepts (`redis://`, or `redis+unix://` for a socket).
fn redis_url(text: &str) -> Result<String, String> {
    if text.starts_with("rediss://") {
        return Err("TLS to Redis is not built in; use redis:// (on a private network or through a local TLS tunnel)".into());
    }
    redis::Client::open(text)
        .map(|_| text.to_owned())
        .map_err(|error| format!("is not a Redis URL like redis://127.0.0.1:6379: {error}"))
}

/// Letters, digits and `_-.:`, at most 64.
fn key_prefix(text: &str) -> Result<String, String> {
    let text = text.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.:".contains(c);
    if !text.is_empty() && text.len() <= 64 && text.chars().all(allowed) {
        Ok(text.to_owned())
    } else {
        Err("must be 1 to 64 letters, digits or _-.:".into())
    }
}

fn bind(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an address like 127.0.0.1:8080"))
}

/// An address, or `off` (any case).
fn bind_or_off(text: &str) -> Result<Bind, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        Ok(Bind::Off)
    } else {
        bind(text.trim()).map(Bind::On)
    }
}

/// An http(s) URL, kept without its trailing slashes.
fn public_url(text: &str) -> Result<String, String> {
    let url = text.trim_end_matches('/');
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.to_owned())
    } else {
        Err("must be an http:// or https:// URL".into())
    }
}

/// `on`, `true` or `1`; `off`, `false` or `0`; in any case.
fn on_or_off(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err("must be on or off".into()),
    }
}

/// A whole number of at least `min` (and at most `u32::MAX`), spaces around it allowed.
fn whole_number(min: u32) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync {
    move |text| match text.trim().parse::<u32>() {
        Ok(value) if value >= min => Ok(value),
        _ => Err(format!(
            "{text:?} is not a whole number between {min} and {}",
            u32::MAX
        )),
    }
}

/// A comma-separated list of addresses and networks (`10.0.0.0/8, ::1`).
fn networks(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not an IP address or a network like 10.0.0.0/8"))
        })
        .collect()
}

/// `*`, or a comma-separated list of `scheme://host[:port]`.
fn cors_origins(text: &str) -> Result<Vec<String>, String> {
    let origins: Vec<String> = text
        .split(',')
        .map(|origin| origin.trim().trim_end_matches('/'))
        .filter(|origin| !origin.is_empty())
        .map(str::to_owned)
        .collect();
    for origin in &origins {
        let valid = origin == "*"
            || url::Url::parse(origin).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.path() == "/"
                    && url.query().is_none()
                    && url.origin().ascii_serialization() == *origin
            });
        if !valid {
            return Err(format!(
                "{origin:?} is not `*` or an origin like https://app.example"
            ));
        }
    }
    if origins.len() > 1 && origins.iter().any(|origin| origin == "*") {
        return Err("`*` cannot be combined with other origins".into());
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url, "sqlite://data/roost.db");
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.media_dir, PathBuf::from("data/media"));
        assert_eq!(config.token_ttl, Duration::from_secs(2_592_000));
        assert!(config.rate_limits);
        assert_eq!(config.json_body_limit, 1024 * 1024);
        assert_eq!(config.login_max_failures, 10);
        assert_eq!(config.login_failure_window, Duration::from_secs(900));
        assert_eq!(config.password_hash, PasswordHashConfig::default());
        assert_eq!(config.max_image_bytes, 10 * 1024 * 1024);
        assert_eq!(config.media_cleanup_interval, Duration::from_secs(3600));
        assert_eq!(config.redis_url, None);
        assert_eq!(config.redis_key_prefix, "roost");
        assert_eq!(config.media_store, None);
        assert_eq!(config.media_public_url, None);
        assert_eq!(config.database_max_connections, 4);
        let postgres = super::tests::config(&[("ROOST_DATABASE_URL", "postgres://db/roost")]);
        assert_eq!(postgres.unwrap().database_max_connections, 16);
    }

    #[test]
    fn public_url_defaults_to_the_bind_address_and_drops_a_trailing_slash() {
        assert_eq!(
            config(&[("ROOST_BIND", "0.0.0.0:9000")])
                .unwrap()
                .public_url,
            "http://0.0.0.0:9000"
        );
        let config = config(&[("ROOST_PUBLIC_URL", "https://social.example/")]).unwrap();
        assert_eq!(config.public_url, "https://social.example");
    }

    #[test]
    fn media_stores_are_local_or_a_bucket() {
        for bad in [
            "s3://",
            "s3://Upper",
            "s3://ab",
            "gs://bucket",
            "s3://b_b/x",
            "s3://bucket/a//b",
            "s3://bucket/../x",
        ] {
            let error = config(&[("ROOST_MEDIA_STORE", bad)])
                .unwrap_err()
                .to_string();
            assert!(error.contains("ROOST_MEDIA_STORE"), "{bad}: {error}");
        }
        let root = config(&[("ROOST_MEDIA_STORE", "s3://media.example")]).unwrap();
        let root = root.media_store.unwrap();
        assert_eq!(
            (root.bucket.as_str(), root.prefix.as_str()),
            ("media.example", "")
        );
        assert_eq!(root.region, "us-east-1");
        assert_eq!(root.endpoint, None);
        let local = config(&[("ROOST_MEDIA_STORE", " LOCAL ")]).unwrap();
        assert_eq!(local.media_store, None);
    }

    #[test]
    fn redis_urls_and_key_prefixes_are_checked() {
        for bad in ["http://cache:6379", "rediss://cache:6379", "cache:6379"] {
            let error = config(&[("ROOST_REDIS_URL", bad)]).unwrap_err().to_string();
            assert!(error.contains("ROOST_REDIS_URL"), "{bad}: {error}");
        }
        for bad in ["a b", "roost/1", &"x".repeat(65)] {
            let error = config(&[("ROOST_REDIS_KEY_PREFIX", bad)])
                .unwrap_err()
                .to_string();
            assert!(error.contains("ROOST_REDIS_KEY_PREFIX"), "{bad}: {error}");
        }
        let unix = config(&[("ROOST_REDIS_URL", "redis+unix:///run/redis.sock")]).unwrap();
        assert_eq!(
            unix.redis_url.as_deref(),
            Some("redis+unix:///run/redis.sock")
        );
    }

    #[test]
    fn rate_limits_can_be_turned_off() {
        assert!(!config(&[("ROOST_RATE_LIMITS", "off")]).unwrap().rate_limits);
        assert!(config(&[("ROOST_RATE_LIMITS", "sometimes")]).is_err());
    }

    #[test]
    fn budgets_and_exemptions_have_safe_defaults_and_can_be_set() {
        let defaults = config(&[]).unwrap();
        assert_eq!(defaults.budgets, Budgets::default());
        assert!(
            defaults.budgets.login >= 60,
            "the contract allows 60 logins a minute"
        );
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            defaults
                .rate_limit_exempt
                .iter()
                .any(|net| net.contains(&loopback))
        );
        assert!(defaults.trusted_proxies.is_empty());
        assert!(defaults.cors_origins.is_empty());

        let custom = config(&[
            ("ROOST_RATE_LIMIT_READ", "3"),
            ("ROOST_RATE_LIMIT_EXEMPT", ""),
            ("ROOST_TRUSTED_PROXIES", "10.0.0.0/8, fd00::1"),
            (
                "ROOST_CORS_ORIGINS",
                "https://app.example, http://localhost:3000/",
            ),
        ])
        .unwrap();
        assert_eq!(custom.budgets.read, 3);
        assert!(custom.rate_limit_exempt.is_empty());
        assert_eq!(custom.trusted_proxies.len(), 2);
        assert!(custom.trusted_proxies[0].contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
        assert_eq!(
            custom.cors_origins,
            ["https://app.example", "http://localhost:3000"]
        );
    }

    #[test]
    fn bad_networks_and_origins_are_refused() {
        for (name, value) in [
            ("ROOST_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("ROOST_RATE_LIMIT_EXEMPT", "localhost"),
            ("ROOST_CORS_ORIGINS", "app.example"),
            ("ROOST_CORS_ORIGINS", "https://app.example/path"),
            ("ROOST_CORS_ORIGINS", "*, https://app.example"),
            ("ROOST_RATE_LIMIT_LOGIN", "0"),
        ] {
            assert_eq!(config(&[(name, value)]).unwrap_err().name, name, "{value}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            config(&[("ROOST_BIND", "nowhere")]).unwrap_err().name,
            "ROOST_BIND"
        );
        assert_eq!(
            config(&[("ROOST_TOKEN_TTL_SECS", "-5")]).unwrap_err().name,
            "ROOST_TOKEN_TTL_SECS"
        );
        assert_eq!(
            config(&[("ROOST_TOKEN_TTL_SECS", "0")]).unwrap_err().name,
            "ROOST_TOKEN_TTL_SECS"
        );
        assert_eq!(
            config(&[("ROOST_DATABASE_URL", "mysql://x")])
                .unwrap_err()
                .name,
            "ROOST_DATABASE_URL"
        );
    }

    #[test]
    fn blank_values_count_as_unset() {
        let blank = config(&[
            ("ROOST_DATABASE_URL", ""),
            ("ROOST_BIND", "  "),
            ("ROOST_PUBLIC_URL", "\t"),
            ("ROOST_TOKEN_TTL_SECS", ""),
            ("ROOST_RATE_LIMITS", " "),
            ("ROOST_RATE_LIMIT_READ", ""),
            ("ROOST_TRUSTED_PROXIES", " "),
            ("ROOST_CORS_ORIGINS", ""),
            ("ROOST_DATABASE_MAX_CONNECTIONS", " "),
        ])
        .unwrap();
        let defaults = config(&[]).unwrap();
        assert_eq!(blank.database_url, defaults.database_url);
        assert_eq!(blank.bind, defaults.bind);
        assert_eq!(blank.public_url, defaults.public_url);
        assert_eq!(blank.token_ttl, defaults.token_ttl);
        assert!(blank.rate_limits);
        assert_eq!(blank.budgets, defaults.budgets);
        assert!(blank.trusted_proxies.is_empty());
        assert!(blank.cors_origins.is_empty());
        assert_eq!(
            blank.database_max_connections,
            DEFAULT_SQLITE_MAX_CONNECTIONS
        );
    }

    #[test]
    fn a_blank_exemption_list_means_no_exemptions() {
        for blank in ["", "   ", " , "] {
            let config = config(&[("ROOST_RATE_LIMIT_EXEMPT", blank)]).unwrap();
            assert!(config.rate_limit_exempt.is_empty(), "{blank:?}");
        }
    }

    #[test]
    fn every_variable_reaches_its_field() {
        let config = config(&[
            ("ROOST_DATABASE_URL", "postgresql://db/roost"),
            ("ROOST_BIND", "[::1]:9000"),
            ("ROOST_MEDIA_DIR", "/srv/media"),
            ("ROOST_PUBLIC_URL", "https://social.example"),
            ("ROOST_TOKEN_TTL_SECS", "101"),
            ("ROOST_RATE_LIMITS", "off"),
            ("ROOST_RATE_LIMIT_READ", "1"),
            ("ROOST_RATE_LIMIT_WRITE", "2"),
            ("ROOST_RATE_LIMIT_SEARCH", "3"),
            ("ROOST_RATE_LIMIT_UPLOAD", "4"),
            ("ROOST_RATE_LIMIT_REGISTER", "5"),
            ("ROOST_RATE_LIMIT_LOGIN", "6"),
            ("ROOST_RATE_LIMIT_EXEMPT", "192.0.2.1"),
            ("ROOST_TRUSTED_PROXIES", "198.51.100.0/24"),
            ("ROOST_CORS_ORIGINS", "*"),
            ("ROOST_MAX_CONCURRENT_REQUESTS", "102"),
            ("ROOST_MAX_CONNECTIONS", "103"),
            ("ROOST_REQUEST_TIMEOUT_SECS", "104"),
            ("ROOST_HEADER_READ_TIMEOUT_SECS", "105"),
            ("ROOST_JSON_BODY_LIMIT", "2048"),
            ("ROOST_LOGIN_MAX_FAILURES", "106"),
            ("ROOST_LOGIN_FAILURE_WINDOW_SECS", "107"),
            ("ROOST_ARGON2_MEMORY_KIB", "108"),
            ("ROOST_ARGON2_ITERATIONS", "109"),
            ("ROOST_ARGON2_PARALLELISM", "110"),
            ("ROOST_DATABASE_MAX_CONNECTIONS", "111"),
            ("ROOST_DATABASE_ACQUIRE_TIMEOUT_SECS", "112"),
            ("ROOST_SCHEDULER_RECHECK_SECS", "113"),
            ("ROOST_MAX_IMAGE_BYTES", "4096"),
            ("ROOST_MEDIA_CLEANUP_INTERVAL_SECS", "114"),
            ("ROOST_REDIS_URL", "redis://:secret@cache.internal:6380/2"),
            ("ROOST_REDIS_KEY_PREFIX", "social-1"),
            ("ROOST_MEDIA_STORE", "s3://roost-media/site/images/"),
            ("ROOST_MEDIA_PUBLIC_URL", "https://cdn.example/images/"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_REGION", "eu-west-3"),
            ("AWS_ACCESS_KEY_ID", "key"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session"),
        ])
        .unwrap();
        assert_eq!(
            config.media_store,
            Some(ObjectStorage {
                bucket: "roost-media".into(),
                prefix: "site/images".into(),
                region: "eu-west-3".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                access_key_id: Some("key".into()),
                secret_access_key: Some("secret".into()),
                session_token: Some("session".into()),
            })
        );
        assert!(!format!("{:?}", config.media_store).contains("secret"));
        assert_eq!(
            config.media_public_url.as_deref(),
            Some("https://cdn.example/images")
        );
        assert_eq!(
            config.redis_url.as_deref(),
            Some("redis://:secret@cache.internal:6380/2")
        );
        assert_eq!(config.redis_key_prefix, "social-1");
        let seconds = Duration::from_secs;
        assert_eq!(config.database_url, "postgresql://db/roost");
        assert_eq!(config.bind.to_string(), "[::1]:9000");
        assert_eq!(config.media_dir, PathBuf::from("/srv/media"));
        assert_eq!(config.public_url, "https://social.example");
        assert_eq!(config.token_ttl, seconds(101));
        assert!(!config.rate_limits);
        assert_eq!(
            config.budgets,
            Budgets {
                read: 1,
                write: 2,
                search: 3,
                upload: 4,
                register: 5,
                login: 6,
            }
        );
        assert_eq!(config.rate_limit_exempt, ["192.0.2.1/32".parse().unwrap()]);
        assert_eq!(config.trusted_proxies, ["198.51.100.0/24".parse().unwrap()]);
        assert_eq!(config.cors_origins, ["*"]);
        assert_eq!(config.max_concurrent_requests, 102);
        assert_eq!(config.max_connections, 103);
        assert_eq!(config.request_timeout, seconds(104));
        assert_eq!(config.header_read_timeout, seconds(105));
        assert_eq!(config.json_body_limit, 2048);
        assert_eq!(config.login_max_failures, 106);
        assert_eq!(config.login_failure_window, seconds(107));
        assert_eq!(
            config.password_hash,
            PasswordHashConfig {
                memory_kib: 108,
                iterations: 109,
                parallelism: 110,
            }
        );
        assert_eq!(config.database_max_connections, 111);
        assert_eq!(config.database_acquire_timeout, seconds(112));
        assert_eq!(config.scheduler_recheck, seconds(113));
        assert_eq!(config.max_image_bytes, 4096);
        assert_eq!(config.media_cleanup_interval, seconds(114));
    }

    #[test]
    fn the_pool_size_can_be_set_on_sqlite_too() {
        let config = config(&[("ROOST_DATABASE_MAX_CONNECTIONS", "9")]).unwrap();
        assert_eq!(config.database_max_connections, 9);
    }

    #[test]
    fn numbers_are_whole_and_between_their_minimum_and_u32_max() {
        let ttl = |value| config(&[("ROOST_TOKEN_TTL_SECS", value)]).map(|c| c.token_ttl);
        assert_eq!(ttl(" 42 ").unwrap(), Duration::from_secs(42));
        assert_eq!(
            ttl("4294967295").unwrap(),
            Duration::from_secs(4_294_967_295)
        );
        for refused in ["4294967296", "1.5", "1e3", "ten", "0"] {
            assert!(ttl(refused).is_err(), "{refused}");
        }
        for (name, minimum) in [
            ("ROOST_JSON_BODY_LIMIT", 1024),
            ("ROOST_MAX_IMAGE_BYTES", 1024),
            ("ROOST_ARGON2_MEMORY_KIB", 8),
            ("ROOST_ARGON2_ITERATIONS", 1),
            ("ROOST_ARGON2_PARALLELISM", 1),
            ("ROOST_MAX_CONNECTIONS", 1),
            ("ROOST_DATABASE_MAX_CONNECTIONS", 1),
        ] {
            assert!(config(&[(name, &minimum.to_string())]).is_ok(), "{name}");
            let below = (minimum - 1).to_string();
            assert_eq!(config(&[(name, &below)]).unwrap_err().name, name);
        }
    }

    #[test]
    fn rate_limits_accept_on_and_off_in_any_spelling() {
        for on in ["on", "ON", "true", "True", "1"] {
            assert!(
                config(&[("ROOST_RATE_LIMITS", on)]).unwrap().rate_limits,
                "{on}"
            );
        }
        for off in ["off", "Off", "false", "FALSE", "0"] {
            assert!(
                !config(&[("ROOST_RATE_LIMITS", off)]).unwrap().rate_limits,
                "{off}"
            );
        }
    }

    #[test]
    fn the_public_url_must_be_http_or_https() {
        for refused in ["ftp://social.example", "social.example", "https://"] {
            assert_eq!(
                config(&[("ROOST_PUBLIC_URL", refused)]).unwrap_err().name,
                "ROOST_PUBLIC_URL",
                "{refused}"
            );
        }
        let config = config(&[("ROOST_PUBLIC_URL", "http://social.example/base//")]).unwrap();
        assert_eq!(config.public_url, "http://social.example/base");
    }

    #[test]
    fn errors_say_what_the_variable_expects() {
        let message = |name, value| config(&[(name, value)]).unwrap_err().to_string();
        assert_eq!(
            message("ROOST_TOKEN_TTL_SECS", "-5"),
            r#"ROOST_TOKEN_TTL_SECS: "-5" is not a whole number between 1 and 4294967295"#
        );
        assert_eq!(
            message("ROOST_BIND", "nowhere"),
            r#"ROOST_BIND: "nowhere" is not an address like 127.0.0.1:8080"#
        );
        assert_eq!(
            message("ROOST_DATABASE_URL", "mysql://x"),
            "ROOST_DATABASE_URL: must start with sqlite:// or postgres://"
        );
        assert_eq!(
            message("ROOST_RATE_LIMITS", "sometimes"),
            "ROOST_RATE_LIMITS: must be on or off"
        );
        assert_eq!(
            message("ROOST_TRUSTED_PROXIES", "10.0.0.1, proxy"),
            r#"ROOST_TRUSTED_PROXIES: "proxy" is not an IP address or a network like 10.0.0.0/8"#
        );
        assert_eq!(
            message("ROOST_CORS_ORIGINS", "*, https://app.example"),
            "ROOST_CORS_ORIGINS: `*` cannot be combined with other origins"
        );
        assert_eq!(
            message("ROOST_RATE_LIMIT_EXEMPT", "--help"),
            r#"ROOST_RATE_LIMIT_EXEMPT: "--help" is not an IP address or a network like 10.0.0.0/8"#
        );
    }

    #[test]
    fn values_are_taken_whole_whatever_they_contain() {
        let url = "postgres://user:p=a,s -s@db/roost?sslmode=require";
        let config = config(&[("ROOST_DATABASE_URL", url), ("ROOST_MEDIA_DIR", "-media")]);
        let config = config.unwrap();
        assert_eq!(config.database_url, url);
        assert_eq!(config.media_dir, PathBuf::from("-media"));
    }

    #[test]
    fn the_help_and_the_readme_list_every_variable() {
        let help = environment_help();
        let readme = include_str!("../README.md");
        let names: Vec<_> = VARIABLES
            .get_arguments()
            .filter_map(variable_name)
            .collect();
        assert_eq!(names.len(), 42);
        for name in names {
            assert!(help.contains(&format!("  {name}")), "{name} in the help");
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "{name} in the README"
            );
        }
        assert!(help.contains("ROOST_BIND [default: 127.0.0.1:8080]\n"));
        assert!(help.contains("ROOST_TOKEN_TTL_SECS [default: 2592000]\n"));
        assert!(help.contains("ROOST_TRUSTED_PROXIES [default: none]\n"));
        assert!(help.contains("ROOST_PUBLIC_URL\n"));
    }
}
