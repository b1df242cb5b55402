//! Typed configuration read from the environment (and `.env`), with every default in one place.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

/// Everything the server needs to start, parsed once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Address the HTTP listener binds to.
    pub bind: SocketAddr,
    /// Directory where uploaded images are stored.
    pub media_dir: PathBuf,
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

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/roost.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_MEDIA_DIR: &str = "data/media";
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 30 * 24 * 60 * 60;
pub const DEFAULT_JSON_BODY_LIMIT: usize = 1024 * 1024;
pub const DEFAULT_LOGIN_MAX_FAILURES: u32 = 10;
pub const DEFAULT_LOGIN_FAILURE_WINDOW_SECS: u64 = 15 * 60;
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 16;
/// SQLite has one writer at a time and each connection is a thread of its own: a few
/// connections keep reads parallel, while more only add writers sleeping in SQLite's busy
/// handler (which waits up to 100 ms between tries) and thread hand-offs.
pub const DEFAULT_SQLITE_MAX_CONNECTIONS: u32 = 4;
pub const DEFAULT_DATABASE_ACQUIRE_TIMEOUT_SECS: u64 = 5;
pub const DEFAULT_SCHEDULER_RECHECK_SECS: u64 = 5;
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_MEDIA_CLEANUP_INTERVAL_SECS: u64 = 60 * 60;
pub const DEFAULT_RATE_LIMIT_EXEMPT: &str = "127.0.0.0/8, ::1";
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u64 = 512;
pub const DEFAULT_MAX_CONNECTIONS: u64 = 4096;
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;

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
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let database_url = get("ROOST_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError {
                name: "ROOST_DATABASE_URL",
                message: "must start with sqlite:// or postgres://".into(),
            });
        }
        let bind_text = get("ROOST_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
        let bind: SocketAddr = bind_text.parse().map_err(|_| ConfigError {
            name: "ROOST_BIND",
            message: format!("{bind_text:?} is not an address like 127.0.0.1:8080"),
        })?;
        let public_url = get("ROOST_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError {
                name: "ROOST_PUBLIC_URL",
                message: "must be an http:// or https:// URL".into(),
            });
        }
        let rate_limits = match get("ROOST_RATE_LIMITS")
            .as_deref()
            .map(str::to_ascii_lowercase)
        {
            None => true,
            Some(value) => match value.as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => {
                    return Err(ConfigError {
                        name: "ROOST_RATE_LIMITS",
                        message: "must be on or off".into(),
                    });
                }
            },
        };
        let defaults = PasswordHashConfig::default();
        let default_max_connections = if database_url.starts_with("sqlite:") {
            DEFAULT_SQLITE_MAX_CONNECTIONS
        } else {
            DEFAULT_DATABASE_MAX_CONNECTIONS
        };
        let budget_defaults = Budgets::default();
        let budget = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            Ok(number(&get, name, default.into(), 1)? as u32)
        };
        let budgets = Budgets {
            read: budget("ROOST_RATE_LIMIT_READ", budget_defaults.read)?,
            write: budget("ROOST_RATE_LIMIT_WRITE", budget_defaults.write)?,
            search: budget("ROOST_RATE_LIMIT_SEARCH", budget_defaults.search)?,
            upload: budget("ROOST_RATE_LIMIT_UPLOAD", budget_defaults.upload)?,
            register: budget("ROOST_RATE_LIMIT_REGISTER", budget_defaults.register)?,
            login: budget("ROOST_RATE_LIMIT_LOGIN", budget_defaults.login)?,
        };
        // Unlike the other variables, an empty value here is meaningful: no exemptions.
        let rate_limit_exempt = networks(
            "ROOST_RATE_LIMIT_EXEMPT",
            &lookup("ROOST_RATE_LIMIT_EXEMPT").unwrap_or_else(|| DEFAULT_RATE_LIMIT_EXEMPT.into()),
        )?;
        let trusted_proxies = networks(
            "ROOST_TRUSTED_PROXIES",
            &get("ROOST_TRUSTED_PROXIES").unwrap_or_default(),
        )?;
        let cors_origins = cors_origins(&get("ROOST_CORS_ORIGINS").unwrap_or_default())?;

        Ok(Self {
            database_url,
            bind,
            media_dir: get("ROOST_MEDIA_DIR")
                .unwrap_or_else(|| DEFAULT_MEDIA_DIR.into())
                .into(),
            public_url,
            token_ttl: Duration::from_secs(number(
                &get,
                "ROOST_TOKEN_TTL_SECS",
                DEFAULT_TOKEN_TTL_SECS,
                1,
            )?),
            rate_limits,
            budgets,
            rate_limit_exempt,
            trusted_proxies,
            cors_origins,
            max_concurrent_requests: number(
                &get,
                "ROOST_MAX_CONCURRENT_REQUESTS",
                DEFAULT_MAX_CONCURRENT_REQUESTS,
                1,
            )? as usize,
            max_connections: number(&get, "ROOST_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1)?
                as usize,
            request_timeout: Duration::from_secs(number(
                &get,
                "ROOST_REQUEST_TIMEOUT_SECS",
                DEFAULT_REQUEST_TIMEOUT_SECS,
                1,
            )?),
            header_read_timeout: Duration::from_secs(number(
                &get,
                "ROOST_HEADER_READ_TIMEOUT_SECS",
                DEFAULT_HEADER_READ_TIMEOUT_SECS,
                1,
            )?),
            json_body_limit: number(
                &get,
                "ROOST_JSON_BODY_LIMIT",
                DEFAULT_JSON_BODY_LIMIT as u64,
                1024,
            )? as usize,
            login_max_failures: number(
                &get,
                "ROOST_LOGIN_MAX_FAILURES",
                DEFAULT_LOGIN_MAX_FAILURES.into(),
                1,
            )? as u32,
            login_failure_window: Duration::from_secs(number(
                &get,
                "ROOST_LOGIN_FAILURE_WINDOW_SECS",
                DEFAULT_LOGIN_FAILURE_WINDOW_SECS,
                1,
            )?),
            password_hash: PasswordHashConfig {
                memory_kib: number(
                    &get,
                    "ROOST_ARGON2_MEMORY_KIB",
                    defaults.memory_kib.into(),
                    8,
                )? as u32,
                iterations: number(
                    &get,
                    "ROOST_ARGON2_ITERATIONS",
                    defaults.iterations.into(),
                    1,
                )? as u32,
                parallelism: number(
                    &get,
                    "ROOST_ARGON2_PARALLELISM",
                    defaults.parallelism.into(),
                    1,
                )? as u32,
            },
            database_max_connections: number(
                &get,
                "ROOST_DATABASE_MAX_CONNECTIONS",
                default_max_connections.into(),
                1,
            )? as u32,
            database_acquire_timeout: Duration::from_secs(number(
                &get,
                "ROOST_DATABASE_ACQUIRE_TIMEOUT_SECS",
                DEFAULT_DATABASE_ACQUIRE_TIMEOUT_SECS,
                1,
            )?),
            scheduler_recheck: Duration::from_secs(number(
                &get,
                "ROOST_SCHEDULER_RECHECK_SECS",
                DEFAULT_SCHEDULER_RECHECK_SECS,
                1,
            )?),
            max_image_bytes: number(&get, "ROOST_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES, 1024)?
                as usize,
            media_cleanup_interval: Duration::from_secs(number(
                &get,
                "ROOST_MEDIA_CLEANUP_INTERVAL_SECS",
                DEFAULT_MEDIA_CLEANUP_INTERVAL_SECS,
                1,
            )?),
        })
    }
}

/// Reads a whole number of at least `min` (and at most `u32::MAX`), or the default when unset.
fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    min: u64,
) -> Result<u64, ConfigError> {
    let Some(text) = get(name) else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(value) if (min..=u64::from(u32::MAX)).contains(&value) => Ok(value),
        _ => Err(ConfigError {
            name,
            message: format!(
                "{text:?} is not a whole number between {min} and {}",
                u32::MAX
            ),
        }),
    }
}

/// Parses a comma-separated list of addresses and networks (`10.0.0.0/8, ::1`).
fn networks(name: &'static str, text: &str) -> Result<Vec<IpNet>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError {
                    name,
                    message: format!("{item:?} is not an IP address or a network like 10.0.0.0/8"),
                })
        })
        .collect()
}

/// Parses `ROOST_CORS_ORIGINS`: `*`, or a comma-separated list of `scheme://host[:port]`.
fn cors_origins(text: &str) -> Result<Vec<String>, ConfigError> {
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
            return Err(ConfigError {
                name: "ROOST_CORS_ORIGINS",
                message: format!("{origin:?} is not `*` or an origin like https://app.example"),
            });
        }
    }
    if origins.len() > 1 && origins.iter().any(|origin| origin == "*") {
        return Err(ConfigError {
            name: "ROOST_CORS_ORIGINS",
            message: "`*` cannot be combined with other origins".into(),
        });
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
}
