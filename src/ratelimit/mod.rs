//! Per-client request budgets, and the client address they are keyed on.
//!
//! Every request except the health probes falls into one class (read, write, search,
//! upload, register, login; see [`Budgets`]) and is charged twice:
//!
//! - to its **client's** budget for that class: the bearer token when one is sent, the
//!   client address otherwise;
//! - to its **address's** cap for that class, [`ADDRESS_FACTOR`] times the client budget,
//!   so that one address cannot multiply its budget by cycling tokens, while a few users
//!   behind one NAT do not starve each other.
//!
//! A budget of `n` per minute is a GCRA bucket (the `governor` crate): a burst of `n`, then
//! one request every `60/n` seconds. Every budgeted response says where the client stands
//! (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, and the same with the
//! `X-` prefix); a refused one is `429 rate_limited` with `Retry-After`.
//!
//! By default budgets live in this process's memory. Behind a load balancer each process
//! enforces them on its own share of the traffic, so a client's effective budget is at most
//! the number of processes times the configured one. With `ROOST_REDIS_URL` set they are
//! kept in Redis instead ([`shared`]), the same budgets for every process, and in this
//! process's memory again whenever Redis does not answer. The failed-login rule, which must
//! hold exactly, is kept in the database either way (`auth::throttle`).
//!
//! `ROOST_RATE_LIMITS=off` turns budgets off. Clients in `ROOST_RATE_LIMIT_EXEMPT` (by
//! default loopback) are not budgeted when they connect directly: local tools, tests and
//! health checks. A request forwarded by a proxy that is not trusted is never exempt.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use crate::auth::extract::bearer_token;
use crate::config::{Budgets, Config};
use crate::error::AppError;
use crate::state::AppState;

pub mod shared;

pub use shared::Backend;
use shared::SharedBudgets;

/// How many times a client budget an address may spend in total.
pub const ADDRESS_FACTOR: u32 = 4;

/// The kinds of request that have budgets of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Read,
    Write,
    Search,
    Upload,
    Register,
    Login,
}

impl Class {
    const ALL: [Class; 6] = [
        Class::Read,
        Class::Write,
        Class::Search,
        Class::Upload,
        Class::Register,
        Class::Login,
    ];

    /// The class's name in Redis keys.
    fn name(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
            Class::Search => "search",
            Class::Upload => "upload",
            Class::Register => "register",
            Class::Login => "login",
        }
    }

    fn budget(self, budgets: &Budgets) -> u32 {
        match self {
            Class::Read => budgets.read,
            Class::Write => budgets.write,
            Class::Search => budgets.search,
            Class::Upload => budgets.upload,
            Class::Register => budgets.register,
            Class::Login => budgets.login,
        }
    }

    /// The class of a request. (The health probes never reach the budgets: the router
    /// is built so.)
    pub fn of(method: &Method, path: &str, query: Option<&str>) -> Class {
        let api = path.strip_prefix("/api/v1").unwrap_or("");
        let reading = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        match (reading, api) {
            (false, "/auth/register") => Class::Register,
            (false, "/auth/login") => Class::Login,
            (false, "/media" | "/me/avatar") if *method != Method::DELETE => Class::Upload,
            (true, "/users" | "/posts") if has_parameter(query, "q") => Class::Search,
            (true, _) => Class::Read,
            (false, _) => Class::Write,
        }
    }
}

impl Class {
    /// The class of a request to the Mastodon-compatible API: uploads, searches, sign-ins
    /// (the password grant and the authorize form) and account creation are charged as
    /// on Roost's own API.
    pub fn of_mastodon(method: &Method, path: &str) -> Class {
        let reading = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        match (reading, path.trim_end_matches('/')) {
            (false, "/oauth/token" | "/oauth/authorize") => Class::Login,
            (false, "/api/v1/accounts") => Class::Register,
            (false, "/api/v1/media" | "/api/v2/media" | "/api/v1/accounts/update_credentials") => {
                Class::Upload
            }
            (true, "/api/v2/search" | "/api/v1/accounts/search") => Class::Search,
            (true, _) => Class::Read,
            (false, _) => Class::Write,
        }
    }
}

fn has_parameter(query: Option<&str>, name: &str) -> bool {
    query.is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name))
    })
}

/// Who is charged for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    /// A digest of the presented token ([`shared::token_digest`]; valid or not: an invalid
    /// one is refused by the handler, and the address cap still bounds anyone inventing
    /// tokens).
    Token(u128),
    Address(IpAddr),
}

type Limiter<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

/// The budgets of one class: per client, and per address.
struct ClassLimiters {
    per_client: Limiter<Client>,
    per_address: Limiter<IpAddr>,
}

/// All budgets of this process. Cheap to share; see the module documentation.
pub struct RateLimiter {
    classes: Vec<(Class, ClassLimiters)>,
    budgets: Budgets,
    /// Budgets in Redis, when `ROOST_REDIS_URL` is set.
    shared: Option<Arc<SharedBudgets>>,
    exempt: Vec<IpNet>,
    trusted_proxies: Vec<IpNet>,
    clock: DefaultClock,
}

/// Where a client stands in the budget that constrains it most.
#[derive(Debug, Clone, Copy)]
struct Standing {
    limit: u32,
    remaining: u32,
    /// Seconds until the budget is whole again.
    reset_secs: u64,
}

impl RateLimiter {
    /// The budgets `config` describes, or `None` when `ROOST_RATE_LIMITS=off`. With
    /// `ROOST_REDIS_URL` set they are local until [`RateLimiter::connect`] reaches Redis.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Arc<Self>>> {
        if !config.rate_limits {
            return Ok(None);
        }
        let shared = config
            .redis_url
            .as_deref()
            .map(|url| SharedBudgets::new(url, &config.redis_key_prefix))
            .transpose()?;
        let per_minute =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        let classes = Class::ALL
            .into_iter()
            .map(|class| {
                let budget = class.budget(&config.budgets);
                let limiters = ClassLimiters {
                    per_client: governor::RateLimiter::keyed(per_minute(budget))
                        .with_middleware::<StateInformationMiddleware>(),
                    per_address: governor::RateLimiter::keyed(per_minute(
                        budget.saturating_mul(ADDRESS_FACTOR),
                    ))
                    .with_middleware::<StateInformationMiddleware>(),
                };
                (class, limiters)
            })
            .collect();
        Ok(Some(Arc::new(Self {
            classes,
            budgets: config.budgets,
            shared,
            exempt: config.rate_limit_exempt.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            clock: DefaultClock::default(),
        })))
    }

    /// Reaches Redis when budgets are kept there (see [`shared`]); returns at once
    /// otherwise, and after one attempt when Redis cannot be reached.
    pub async fn connect(&self) {
        if let Some(shared) = &self.shared {
            shared.connect().await;
        }
    }

    /// Where budgets are kept now: `None` in this process's memory by configuration.
    pub fn backend(&self) -> Option<Backend> {
        self.shared.as_ref().map(|shared| shared.backend())
    }

    /// Charges one request of `class`, in Redis when budgets are kept there and it answers,
    /// in this process otherwise.
    async fn charge(
        &self,
        class: Class,
        client: Client,
        address: IpAddr,
    ) -> Result<Standing, Standing> {
        if let Some(shared) = &self.shared {
            let budget = class.budget(&self.budgets);
            let address_budget = budget.saturating_mul(ADDRESS_FACTOR);
            if let Some(outcome) = shared
                .charge(class, budget, &client, address, address_budget)
                .await
            {
                return outcome;
            }
        }
        self.charge_locally(class, client, address)
    }

    fn limiters(&self, class: Class) -> &ClassLimiters {
        &self
            .classes
            .iter()
            .find(|(candidate, _)| *candidate == class)
            .expect("every class has limiters")
            .1
    }

    /// Charges one request of `class` to this process's budgets; `Err` carries the seconds
    /// until it could succeed.
    fn charge_locally(
        &self,
        class: Class,
        client: Client,
        address: IpAddr,
    ) -> Result<Standing, Standing> {
        let limiters = self.limiters(class);
        let now = self.clock.now();
        let mut tightest: Option<Standing> = None;
        for outcome in [
            limiters.per_client.check_key(&client),
            limiters.per_address.check_key(&address),
        ] {
            match outcome {
                Ok(snapshot) => {
                    let quota = snapshot.quota();
                    let limit = quota.burst_size().get();
                    let remaining = snapshot.remaining_burst_capacity();
                    let standing = Standing {
                        limit,
                        remaining,
                        reset_secs: ceil_secs(quota.replenish_interval() * (limit - remaining)),
                    };
                    if tightest.is_none_or(|current| standing.remaining < current.remaining) {
                        tightest = Some(standing);
                    }
                }
                Err(refusal) => {
                    let wait = refusal.wait_time_from(now);
                    return Err(Standing {
                        limit: refusal.quota().burst_size().get(),
                        remaining: 0,
                        reset_secs: ceil_secs(wait).max(1),
                    });
                }
            }
        }
        Ok(tightest.expect("two budgets were checked"))
    }

    /// Forgets clients whose budgets are whole again, so memory follows active clients.
    pub fn forget_idle_clients(&self) {
        for (_, limiters) in &self.classes {
            limiters.per_client.retain_recent();
            limiters.per_client.shrink_to_fit();
            limiters.per_address.retain_recent();
            limiters.per_address.shrink_to_fit();
        }
    }

    /// The client's address: the TCP peer, or — when the peer is a trusted proxy — the
    /// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_address(peer, headers, &self.trusted_proxies)
    }

    /// Whether a request from `peer` with these headers skips the budgets.
    fn is_exempt(&self, peer: IpAddr, address: IpAddr, headers: &HeaderMap) -> bool {
        let forwarded_by_untrusted_peer = !is_in(peer, &self.trusted_proxies)
            && (headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED));
        !forwarded_by_untrusted_peer && is_in(address, &self.exempt)
    }
}

fn is_in(address: IpAddr, networks: &[IpNet]) -> bool {
    let address = canonical(address);
    networks.iter().any(|network| network.contains(&address))
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, as a dual-stack listener reports IPv4
/// peers) are treated as the IPv4 address they carry.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// See [`RateLimiter::client_address`].
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !is_in(peer, trusted_proxies) {
        return peer;
    }
    // Each proxy appends the address it received the request from; read from the right,
    // skipping our own proxies, and stop at the first hop we cannot vouch for.
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) => {
                client = canonical(address);
                if !is_in(client, trusted_proxies) {
                    break;
                }
            }
            // A malformed entry cannot be vouched for: the last good hop is the client.
            Err(_) => break,
        }
    }
    client
}

fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// Middleware: charges the request to its budgets, refusing it with 429 when one is spent.
pub async fn enforce_budgets(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let class = Class::of(
        request.method(),
        request.uri().path(),
        request.uri().query(),
    );
    charge(&state, class, request, next).await
}

/// [`enforce_budgets`] for the Mastodon-compatible API, whose paths are classed by
/// [`Class::of_mastodon`]; the budgets are the same ones.
pub async fn enforce_mastodon_budgets(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let class = Class::of_mastodon(request.method(), request.uri().path());
    charge(&state, class, request, next).await
}

async fn charge(state: &AppState, class: Class, request: Request, next: Next) -> Response {
    let Some(limiter) = state.rate_limiter.as_deref() else {
        return next.run(request).await;
    };
    let Some(peer) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
    else {
        return next.run(request).await;
    };
    let headers = request.headers();
    let address = limiter.client_address(peer, headers);
    if limiter.is_exempt(peer, address, headers) {
        return next.run(request).await;
    }
    let client = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
        .map_or(Client::Address(address), |token| {
            Client::Token(shared::token_digest(token))
        });
    match limiter.charge(class, client, address).await {
        Ok(standing) => {
            let mut response = next.run(request).await;
            set_headers(response.headers_mut(), standing);
            response
        }
        Err(standing) => {
            let mut response = AppError::TooManyRequests {
                code: "rate_limited",
                detail: format!(
                    "Too many requests of this kind from this client; retry in {} s.",
                    standing.reset_secs
                ),
                retry_after_secs: standing.reset_secs,
            }
            .into_response();
            set_headers(response.headers_mut(), standing);
            response
        }
    }
}

fn set_headers(headers: &mut HeaderMap, standing: Standing) {
    let pairs = [
        (
            "ratelimit-limit",
            "x-ratelimit-limit",
            u64::from(standing.limit),
        ),
        (
            "ratelimit-remaining",
            "x-ratelimit-remaining",
            u64::from(standing.remaining),
        ),
        ("ratelimit-reset", "x-ratelimit-reset", standing.reset_secs),
    ];
    for (name, legacy, value) in pairs {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        headers.insert(HeaderName::from_static(legacy), HeaderValue::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(text: &[&str]) -> Vec<IpNet> {
        text.iter().map(|net| net.parse().unwrap()).collect()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn requests_are_classified_by_method_and_path() {
        let class =
            |method: Method, path: &str, query: Option<&str>| Some(Class::of(&method, path, query));
        assert_eq!(
            class(Method::POST, "/api/v1/auth/register", None),
            Some(Class::Register)
        );
        assert_eq!(
            class(Method::POST, "/api/v1/auth/login", None),
            Some(Class::Login)
        );
        assert_eq!(
            class(Method::POST, "/api/v1/media", None),
            Some(Class::Upload)
        );
        assert_eq!(
            class(Method::PUT, "/api/v1/me/avatar", None),
            Some(Class::Upload)
        );
        assert_eq!(
            class(Method::DELETE, "/api/v1/me/avatar", None),
            Some(Class::Write)
        );
        assert_eq!(
            class(Method::GET, "/api/v1/users", Some("q=ali&limit=5")),
            Some(Class::Search)
        );
        assert_eq!(
            class(Method::GET, "/api/v1/posts", Some("limit=5&q=")),
            Some(Class::Search)
        );
        assert_eq!(
            class(Method::GET, "/api/v1/posts", Some("quiet=1")),
            Some(Class::Read)
        );
        assert_eq!(class(Method::GET, "/api/v1/feed", None), Some(Class::Read));
        assert_eq!(
            class(Method::GET, "/media/abc.jpg", None),
            Some(Class::Read)
        );
        assert_eq!(
            class(Method::POST, "/api/v1/posts", None),
            Some(Class::Write)
        );
        assert_eq!(
            class(Method::DELETE, "/api/v1/posts/x/like", None),
            Some(Class::Write)
        );
        // The auth paths only count as such under the API prefix.
        assert_eq!(class(Method::POST, "/auth/login", None), Some(Class::Write));
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_address(peer, &forwarded("198.51.100.1"), &[]), peer);
        assert_eq!(
            client_address(peer, &forwarded("198.51.100.1"), &nets(&["10.0.0.0/8"])),
            peer
        );
    }

    #[test]
    fn forwarded_hops_are_read_from_the_right_skipping_trusted_proxies() {
        let proxies = nets(&["10.0.0.0/8"]);
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        // A client-supplied leftmost entry cannot be used to pick another address.
        let headers = forwarded("1.1.1.1, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            client_address(peer, &headers, &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Only trusted hops: the leftmost one is the client.
        assert_eq!(
            client_address(peer, &forwarded("10.1.1.1"), &proxies),
            "10.1.1.1".parse::<IpAddr>().unwrap()
        );
        // No header: the proxy itself.
        assert_eq!(client_address(peer, &HeaderMap::new(), &proxies), peer);
        // Garbage stops the walk at the last good hop.
        assert_eq!(
            client_address(peer, &forwarded("198.51.100.7, nonsense"), &proxies),
            peer
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(is_in(mapped, &nets(&["127.0.0.0/8"])));
    }

    fn limiter(budgets: Budgets, exempt: &[&str]) -> Arc<RateLimiter> {
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.budgets = budgets;
        config.rate_limit_exempt = nets(exempt);
        RateLimiter::from_config(&config).unwrap().unwrap()
    }

    #[test]
    fn a_budget_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = limiter(
            Budgets {
                write: 3,
                ..Budgets::default()
            },
            &[],
        );
        let address: IpAddr = "198.51.100.1".parse().unwrap();
        let client = Client::Address(address);
        let remaining: Vec<u32> = (0..3)
            .map(|_| {
                limiter
                    .charge_locally(Class::Write, client, address)
                    .unwrap()
                    .remaining
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limiter
            .charge_locally(Class::Write, client, address)
            .unwrap_err();
        assert_eq!(refused.limit, 3);
        assert!((1..=20).contains(&refused.reset_secs), "{refused:?}");
        // Other classes and other clients have budgets of their own.
        assert!(limiter.charge_locally(Class::Read, client, address).is_ok());
        let other: IpAddr = "198.51.100.2".parse().unwrap();
        assert!(
            limiter
                .charge_locally(Class::Write, Client::Address(other), other)
                .is_ok()
        );
    }

    #[test]
    fn cycling_tokens_hits_the_address_cap() {
        let limiter = limiter(
            Budgets {
                write: 2,
                ..Budgets::default()
            },
            &[],
        );
        let address: IpAddr = "198.51.100.1".parse().unwrap();
        let allowed = (0..20u128)
            .filter(|token| {
                limiter
                    .charge_locally(Class::Write, Client::Token(*token), address)
                    .is_ok()
            })
            .count();
        assert_eq!(allowed, 2 * ADDRESS_FACTOR as usize);
    }

    #[test]
    fn exemption_needs_a_direct_connection() {
        let limiter = limiter(Budgets::default(), &["127.0.0.0/8"]);
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(limiter.is_exempt(loopback, loopback, &HeaderMap::new()));
        // A local proxy we were not told to trust: everyone behind it shares its budget.
        assert!(!limiter.is_exempt(loopback, loopback, &forwarded("198.51.100.1")));
        let remote: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(!limiter.is_exempt(remote, remote, &HeaderMap::new()));
    }
}
