//! The accept loop, hyper's own rather than `axum::serve`, for what a service on the open network
//! needs and `axum::serve` cannot do:
//!
//! - a **header-read time-out**: a client that does not send a whole request head within it is
//!   disconnected, whether it trickles bytes (slowloris) or idles on a keep-alive connection;
//! - a **connection cap**: past it nothing more is accepted (new connections wait in the
//!   kernel's backlog) until one closes, so open connections cannot exhaust memory or file
//!   descriptors;
//! - **graceful close**: on [`Connections::close`] the listener is dropped (new connections are
//!   refused), keep-alive connections are closed after their request in flight, and the call
//!   returns when all are gone.
//!
//! HTTP/1.1 only: nothing that calls a service (probes, Prometheus, the other services, a gateway
//! or ingress in front) needs HTTP/2, and leaving its server out makes each connection and the
//! binary smaller (docs/decisions.md).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long to wait after a failed `accept` (out of file descriptors, ...) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What each connection may do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// A request head must arrive within this long (also the keep-alive idle time).
    pub header_read_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

/// The connections a listener accepted, and the means to close them gracefully.
pub(crate) struct Connections {
    graceful: GracefulShutdown,
}

impl Connections {
    pub(crate) fn new() -> Self {
        Self {
            graceful: GracefulShutdown::new(),
        }
    }

    /// Accepts and serves connections with `router` until `stop` is cancelled, then drops the
    /// listener. Connections already accepted keep being served.
    pub(crate) async fn accept(
        &self,
        listener: TcpListener,
        router: Router,
        limits: Limits,
        stop: CancellationToken,
    ) {
        let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let mut warned_full = false;
        loop {
            let permit = if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                permit
            } else {
                if !warned_full {
                    tracing::warn!(
                        limit = limits.max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    warned_full = true;
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    permit = Arc::clone(&permits).acquire_owned() => {
                        permit.expect("the connection semaphore is never closed")
                    }
                }
            };
            let accepted = tokio::select! {
                () = stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection; trying again");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            warned_full = false;
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            // The peer's address, for handlers that take `ConnectInfo<SocketAddr>` (log-in
            // throttling per client address).
            let service =
                router
                    .clone()
                    .map_request(move |request: axum::http::Request<Incoming>| {
                        let mut request = request.map(Body::new);
                        request.extensions_mut().insert(ConnectInfo(peer));
                        request
                    });
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let connection = self.graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "connection ended with an error");
                }
                drop(permit);
            });
        }
    }

    /// Asks every connection to finish its request in flight and close; returns once all are
    /// closed.
    pub(crate) async fn close(self) {
        self.graceful.shutdown().await;
    }
}
