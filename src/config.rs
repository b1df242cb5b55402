//! Typed configuration read from the environment (and `.env`), with every default in one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Longest the publisher sleeps before re-checking for due schedules written by other
    /// processes (its own are noticed at once).
    pub scheduler_recheck: Duration,
    /// Largest accepted image upload, in bytes.
    pub max_image_bytes: usize,
    /// How often never-attached uploads (and expired idempotency keys) are cleaned up.
    pub media_cleanup_interval: Duration,
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
pub const DEFAULT_SCHEDULER_RECHECK_SECS: u64 = 5;
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_MEDIA_CLEANUP_INTERVAL_SECS: u64 = 60 * 60;

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
                DEFAULT_DATABASE_MAX_CONNECTIONS.into(),
                1,
            )? as u32,
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
