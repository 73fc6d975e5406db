//! Turns SIGTERM (Kubernetes) and SIGINT (Ctrl-C) into the cancellation of one token that every
//! part of a service watches: readiness goes false, the HTTP server drains, workers stop.

use tokio_util::sync::CancellationToken;

/// Spawns a task that cancels `token` on the first SIGTERM or SIGINT.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let signal = microshop_telemetry::signal::shutdown_signal().await;
        tracing::info!(
            signal,
            "shutdown requested: readiness is now false, draining requests"
        );
        token.cancel();
    });
}
