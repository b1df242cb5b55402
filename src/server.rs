//! The HTTP/1.1 listener: accepts connections and serves the Router on each with hyper.
//!
//! Written out (rather than `axum::serve`) for the limits a server on the open internet
//! needs and `axum::serve` does not offer:
//!
//! - a deadline for a request's headers, which also closes idle keep-alive connections
//!   (slow-client, "slowloris", protection; bodies are bounded by the request timeout);
//! - caps on header size and count (431 beyond them);
//! - a cap on open connections: beyond it, new ones wait in the kernel's backlog;
//! - on shutdown: stop accepting, close idle connections, let requests in progress finish;
//! - connections may be upgraded (WebSocket); an upgraded connection leaves hyper, and
//!   its handler ends it at shutdown;
//! - a request answered before its body was read (a 401, 413, 415 or 429 refused up front)
//!   still has its body read and discarded, within bounds ([`DrainOnDrop`]), so that the
//!   answer reaches the client.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::header;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tower::ServiceExt;

/// Largest accepted request head (request line and headers).
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Most headers accepted in one request.
const MAX_HEADERS: usize = 64;
/// The most of an unread request body that is read and discarded after the request was
/// answered without it; beyond this the connection is closed.
const MAX_DRAIN_BYTES: usize = 16 * 1024 * 1024;
/// How long the rest of an unread body may take to arrive before the connection is closed.
const DRAIN_DEADLINE: Duration = Duration::from_secs(3);

/// Connection-level limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let open_connections = Arc::new(Semaphore::new(limits.max_connections));
    // Raised at shutdown: each connection finishes its request in progress and closes.
    let (draining, drain) = watch::channel(false);
    // Every connection task holds a sender: once all are dropped, every connection ended.
    let (connection_open, mut connections_ended) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = Arc::clone(&open_connections).acquire_owned() => {
                permit.expect("the connection semaphore is never closed")
            }
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::error!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        stream.set_nodelay(true).ok();
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    // A client waiting for `100 Continue` has not sent its body: nothing
                    // to drain, and reading would invite it to send one nobody wants.
                    let drain = !request.headers().contains_key(header::EXPECT);
                    request.map(|body| DrainOnDrop::new(body, drain))
                });
        let connection = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut drain = drain.clone();
        let open = connection_open.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = async { drain.wait_for(|draining| *draining).await.is_ok() } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            // Errors here are the client's doing (reset, header timeout, malformed
            // request); hyper has already answered what could be answered.
            if let Err(error) = ended {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
            drop(open);
        });
    }

    drop(listener);
    draining.send_replace(true);
    drop(connection_open);
    connections_ended.recv().await;
    Ok(())
}

/// A request body that, when dropped unread (the request was answered without it), is
/// read to its end and discarded on a task of its own, up to [`MAX_DRAIN_BYTES`] and
/// [`DRAIN_DEADLINE`].
///
/// Without it hyper stops reading the connection as soon as the answer is ready and closes
/// it; the rest of the body, still arriving, then makes the kernel reset the connection,
/// and a client that had not yet read the answer sees "connection reset" or "server
/// disconnected without sending a response" instead of its 401, 413, 415 or 429. Drained,
/// the connection stays open and the answer always arrives.
pub struct DrainOnDrop<B: Body + Unpin + Send + 'static> {
    inner: Option<B>,
    drain: bool,
    ended: bool,
}

impl<B: Body + Unpin + Send + 'static> DrainOnDrop<B> {
    /// Wraps `body`; with `drain` false it is dropped as it is.
    pub fn new(body: B, drain: bool) -> Self {
        Self {
            inner: Some(body),
            drain,
            ended: false,
        }
    }
}

impl<B: Body + Unpin + Send + 'static> Body for DrainOnDrop<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl<B: Body + Unpin + Send + 'static> Drop for DrainOnDrop<B> {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if !self.drain || self.ended || body.is_end_stream() {
            return;
        }
        let too_large = body
            .size_hint()
            .upper()
            .is_some_and(|upper| upper > MAX_DRAIN_BYTES as u64);
        if too_large {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let drained = tokio::time::timeout(DRAIN_DEADLINE, discard(body)).await;
                if drained.is_err() {
                    tracing::debug!("an unread request body was still arriving; closing");
                }
            });
        }
    }
}

/// Reads `body` to its end (or [`MAX_DRAIN_BYTES`]) and discards it.
async fn discard<B: Body + Unpin>(mut body: B) {
    let mut read = 0usize;
    while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Some(data) = frame.data_ref() {
            read += hyper::body::Buf::remaining(data);
            if read > MAX_DRAIN_BYTES {
                return;
            }
        }
    }
}
