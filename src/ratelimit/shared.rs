//! Budgets kept in Redis (`ROOST_REDIS_URL`), so that a client's budget is the configured
//! one however many processes serve it.
//!
//! Each charge is one round trip: a Lua script ([`GCRA`]) checks the client's and the
//! address's buckets and charges both, or neither, atomically, on Redis's own clock (so
//! processes whose clocks differ still agree). A bucket is one key holding its theoretical
//! arrival time, which expires when the bucket is whole again: Redis holds only the
//! clients active in the last minute.
//!
//! Redis is an optimisation of fairness, not a dependency: when it cannot be reached (or
//! does not answer within [`RESPONSE_TIMEOUT`]), the charge falls back to this process's
//! own budgets, the log says so once, and a background task reconnects; the log says so
//! again when budgets are shared once more. `/readyz` does not look at Redis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client as RedisClient, Script};
use sha2::{Digest, Sha256};

use super::{Class, Client, Standing};

/// Longest a charge waits for Redis before falling back to local budgets.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
/// Longest a connection attempt takes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between reconnection attempts while Redis is unreachable.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// The period budgets are expressed in.
const PERIOD_MS: u64 = 60_000;

/// A GCRA over two buckets, charged together or not at all.
///
/// `KEYS[1]`, `KEYS[2]`: the client's and the address's buckets; `ARGV[1]`, `ARGV[2]`:
/// their budgets per period; `ARGV[3]`: the period in milliseconds. A budget of `n` per
/// period allows a burst of `n`, then one request every `period / n`. Returns
/// `{1, limit, remaining, ms until whole}` for the tighter bucket when charged, or
/// `{0, limit, 0, ms until a request would be allowed}` for the bucket that refused.
const GCRA: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local period = tonumber(ARGV[3])
local arrivals = {}
local best_limit, best_remaining, best_reset = 0, -1, 0
for i = 1, 2 do
  local limit = tonumber(ARGV[i])
  local interval = period / limit
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local arrival = tat + interval
  local allowed_at = arrival - period
  if allowed_at > now then
    return {0, limit, 0, math.ceil(allowed_at - now)}
  end
  arrivals[i] = arrival
  local remaining = math.floor((now - allowed_at) / interval + 1e-6)
  if best_remaining < 0 or remaining < best_remaining then
    best_limit, best_remaining, best_reset = limit, remaining, math.ceil(arrival - now)
  end
end
for i = 1, 2 do
  redis.call('SET', KEYS[i], string.format('%.3f', arrivals[i]), 'PX', math.ceil(arrivals[i] - now))
end
return {1, best_limit, best_remaining, best_reset}
";

/// Where budgets are kept right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In Redis, shared by every process using it.
    Redis,
    /// In this process (Redis configured but unreachable, or not yet reached).
    Local,
}

/// The connection to Redis and the script; see the module documentation.
pub(super) struct SharedBudgets {
    client: RedisClient,
    /// `host:port` of the server, for the log (never the URL: it may carry a password).
    server: String,
    prefix: String,
    script: Script,
    connection: RwLock<Option<MultiplexedConnection>>,
    reconnecting: AtomicBool,
}

impl SharedBudgets {
    /// Budgets on the Redis server at `url` (already validated by the configuration), under
    /// keys starting with `prefix`. Not connected yet: see [`SharedBudgets::connect`].
    pub(super) fn new(url: &str, prefix: &str) -> redis::RedisResult<Arc<Self>> {
        let client = RedisClient::open(url)?;
        let server = client.get_connection_info().addr().to_string();
        Ok(Arc::new(Self {
            client,
            server,
            prefix: prefix.to_owned(),
            script: Script::new(GCRA),
            connection: RwLock::new(None),
            reconnecting: AtomicBool::new(false),
        }))
    }

    pub(super) fn backend(&self) -> Backend {
        if self.current().is_some() {
            Backend::Redis
        } else {
            Backend::Local
        }
    }

    /// Connects, or — when Redis cannot be reached — says so and keeps trying in the
    /// background while budgets stay local.
    pub(super) async fn connect(self: &Arc<Self>) {
        match self.open().await {
            Ok(connection) => {
                self.set(Some(connection));
                tracing::info!(redis = %self.server, "request budgets are kept in Redis, shared by every process using it");
            }
            Err(error) => {
                tracing::warn!(redis = %self.server, %error, "Redis is unreachable: request budgets are kept in this process until it answers");
                self.reconnect_in_background();
            }
        }
    }

    /// Charges one request of `class` to both buckets; `None` when Redis did not answer (the
    /// caller then charges the local budgets).
    pub(super) async fn charge(
        self: &Arc<Self>,
        class: Class,
        budget: u32,
        client: &Client,
        address: std::net::IpAddr,
        address_budget: u32,
    ) -> Option<Result<Standing, Standing>> {
        let mut connection = self.current()?;
        let class_name = class.name();
        let client_key = match client {
            Client::Token(digest) => {
                format!("{}:budget:{class_name}:token:{digest:032x}", self.prefix)
            }
            Client::Address(address) => {
                format!("{}:budget:{class_name}:address:{address}", self.prefix)
            }
        };
        let address_key = format!("{}:budget:{class_name}:cap:{address}", self.prefix);
        let outcome: redis::RedisResult<(i64, u32, u32, u64)> = self
            .script
            .key(client_key)
            .key(address_key)
            .arg(budget.max(1))
            .arg(address_budget.max(1))
            .arg(PERIOD_MS)
            .invoke_async(&mut connection)
            .await;
        match outcome {
            Ok((charged, limit, remaining, wait_ms)) => {
                let standing = Standing {
                    limit,
                    remaining,
                    reset_secs: wait_ms.div_ceil(1000),
                };
                Some(if charged == 1 {
                    Ok(standing)
                } else {
                    Err(Standing {
                        reset_secs: standing.reset_secs.max(1),
                        ..standing
                    })
                })
            }
            Err(error) => {
                self.lost(&error);
                None
            }
        }
    }

    fn current(&self) -> Option<MultiplexedConnection> {
        self.connection
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, connection: Option<MultiplexedConnection>) {
        *self
            .connection
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = connection;
    }

    async fn open(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let mut connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await?;
        Ok(connection)
    }

    /// A charge failed: drop the connection (once, with one log line) and reconnect.
    fn lost(self: &Arc<Self>, error: &redis::RedisError) {
        let had_connection = self
            .connection
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .is_some();
        if had_connection {
            tracing::warn!(redis = %self.server, %error, "Redis stopped answering: request budgets are kept in this process until it answers again");
        }
        self.reconnect_in_background();
    }

    /// One reconnecting task at a time; it ends when connected, or when the budgets are
    /// dropped (the application stopped).
    fn reconnect_in_background(self: &Arc<Self>) {
        if self.reconnecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let budgets: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECONNECT_EVERY).await;
                let Some(budgets) = budgets.upgrade() else {
                    return;
                };
                if let Ok(connection) = budgets.open().await {
                    budgets.set(Some(connection));
                    budgets.reconnecting.store(false, Ordering::Release);
                    tracing::info!(redis = %budgets.server, "Redis answers again: request budgets are shared once more");
                    return;
                }
            }
        });
    }
}

/// The key of a bearer token's buckets: a digest, so that neither Redis nor its backups
/// hold anything a token could be recovered or used from.
pub(super) fn token_digest(token: &str) -> u128 {
    let digest = Sha256::new_with_prefix(b"roost request budget\0")
        .chain_update(token.as_bytes())
        .finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}
