//! Builds the one Router that both the binary and the tests
//! serve; binds the listener and runs until a shutdown signal, draining in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa_axum::router::OpenApiRouter;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{problem_json_fallback, route_not_found};
use crate::server::ConnectionLimits;
pub use crate::state::AppState;
use crate::{
    accounts, auth, db, docs, media, notifications, ops, overload, posts, ratelimit, scheduler,
    security, server, stream, telemetry, users,
};

/// How often clients whose budgets are whole again are forgotten.
const FORGET_IDLE_CLIENTS_EVERY: Duration = Duration::from_secs(60);

/// Every documented route, with its OpenAPI description attached. The document is derived
/// from this same value, so a route cannot be served undocumented or documented unserved.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::base())
        .nest("/api/v1", v1_routes())
        .merge(media::routes::router())
        .merge(ops::router())
}

/// The API under `/api/v1`.
fn v1_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(accounts::routes::router())
        .merge(users::routes::router())
        .merge(users::graph::routes::router())
        .merge(users::avatar::router())
        .merge(media::upload_routes::router())
        .merge(scheduler::routes::router())
        .merge(posts::routes::router())
        .merge(posts::likes::routes::router())
        .merge(posts::comments::routes::router())
        .merge(notifications::routes::router())
        .merge(stream::routes::router())
}

/// The complete HTTP application: API routes, docs, fallbacks and middleware.
///
/// Built so that each layer covers what it must and nothing else:
/// - a dead token is reported before any other error on the API (`/api/v1`), where tokens
///   mean something; image files and the docs do not look at tokens;
/// - the health probes are merged in after the budgets and load shedding are layered onto
///   everything else, so that load balancers, which call them constantly, are never
///   budgeted or shed, and a probe still answers when the server is at capacity.
pub fn router(state: AppState) -> Router {
    let document = docs::openapi();
    let body_limit = state.config.json_body_limit;
    let (v1, _) = v1_routes().split_for_parts();
    let (files, _) = media::routes::router().split_for_parts();
    let (probes, _) = ops::router().split_for_parts();
    let budgeted = Router::new()
        .nest(
            "/api/v1",
            v1.route_layer(from_fn_with_state(
                state.clone(),
                auth::refuse_dead_tokens_first,
            ))
            .route_layer(from_fn_with_state(state.clone(), stream::publish_signals)),
        )
        .merge(files);
    let app = budgeted
        .merge(docs::router(document))
        .fallback(route_not_found)
        .layer(from_fn_with_state(state.clone(), overload::admit))
        .layer(from_fn_with_state(
            state.clone(),
            ratelimit::enforce_budgets,
        ))
        .merge(probes)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::new());
    // CORS outside the budgets, so that a browser can read a 429 too.
    let app = match security::cors_layer(&state.config.cors_origins) {
        Some(cors) => app.layer(cors),
        None => app,
    };
    app.layer(from_fn(security::security_headers))
        .layer(telemetry::trace_layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(map_response(problem_json_fallback))
        .with_state(state)
}

/// A bound, migrated, ready-to-serve instance.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// The Mastodon-compatible API's listener and router, unless it is off.
    mastodon: Option<(TcpListener, Router)>,
    state: AppState,
}

impl Application {
    /// Migrates the database, then binds `config.bind`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with a chosen clock (tests move time by hand).
    pub async fn build_with_clock(
        mut config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        db::migrate(&config).await?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        // With port 0 the OS picks the port; a default public URL must name the real one.
        let bound = listener.local_addr()?;
        if config.public_url == format!("http://{}", config.bind) {
            config.public_url = format!("http://{bound}");
        }
        let mastodon_listener = match config.mastodon_bind {
            Some(address) => {
                let listener = TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding {address} (ROOST_MASTODON_BIND)"))?;
                let bound = listener.local_addr()?;
                if config.mastodon_public_url == format!("http://{address}") {
                    config.mastodon_public_url = format!("http://{bound}");
                }
                Some(listener)
            }
            None => None,
        };
        let state = AppState::new(config, clock).await?;
        let mastodon =
            mastodon_listener.map(|listener| (listener, crate::mastodon::router(state.clone())));
        Ok(Self {
            listener,
            router: router(state.clone()),
            mastodon,
            state,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address the Mastodon-compatible API is bound to, unless it is off.
    pub fn mastodon_addr(&self) -> Option<SocketAddr> {
        self.mastodon
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting and waits for in-flight
    /// requests to finish. The media clean-up and the scheduled-post publisher run alongside for as
    /// long as the server does, and finish their round in progress before it exits.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(address = %self.listener.local_addr()?, "serving");
        if let Some(address) = self.mastodon_addr() {
            tracing::info!(%address, "serving the Mastodon-compatible API");
        }
        let cleanup = media::cleanup::CleanupTask::spawn(self.state.clone());
        let publisher = scheduler::publisher::Publisher::spawn(self.state.clone());
        let dispatcher = stream::dispatch::Dispatcher::spawn(self.state.clone());
        // Streams never finish by themselves: end them as soon as shutdown begins, so that
        // draining waits only for ordinary requests.
        let hub = self.state.stream.clone();
        // One signal stops both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            hub.close();
            let _ = stop.send(true);
        };
        let wait_for_stop = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let forgetting = self.state.rate_limiter.clone().map(|limiter| {
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(FORGET_IDLE_CLIENTS_EVERY);
                loop {
                    interval.tick().await;
                    limiter.forget_idle_clients();
                }
            })
        });
        let limits = ConnectionLimits {
            max_connections: self.state.config.max_connections,
            header_read_timeout: self.state.config.header_read_timeout,
        };
        let mastodon = self.mastodon.map(|(listener, router)| {
            tokio::spawn(server::serve(listener, router, limits, wait_for_stop()))
        });
        let main = server::serve(self.listener, self.router, limits, wait_for_stop());
        let (result, ()) = tokio::join!(main, shutdown);
        let result = match mastodon {
            Some(serving) => match serving.await {
                Ok(mastodon_result) => result.and(mastodon_result),
                Err(error) => Err(std::io::Error::other(error)),
            },
            None => result,
        };
        if let Some(forgetting) = forgetting {
            forgetting.abort();
        }
        dispatcher.stop().await;
        let leases = self.state.stream.ended_leases();
        if let Err(error) = stream::store::release_leases(&self.state.db, &leases).await {
            tracing::warn!(%error, "releasing the streams' leases failed; they expire");
        }
        publisher.stop().await;
        cleanup.stop().await;
        self.state.db.close_by_ref().await.ok();
        result
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM, whichever comes first. The handlers are
/// installed by this call, not when the future is first polled, so a signal that arrives
/// as soon as the server answers still shuts it down gracefully. Call inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                _ => std::future::pending::<()>().await,
            }
            tracing::info!("shutdown signal received; finishing in-flight requests");
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}
