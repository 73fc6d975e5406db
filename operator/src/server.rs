//! `/metrics` and `/health` on the operator's HTTP port.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::health::Health;
use crate::metrics::Metrics;

#[derive(Clone)]
struct Shared {
    metrics: Metrics,
    health: Arc<Health>,
}

/// The routes.
pub fn router(metrics: Metrics, health: Arc<Health>) -> Router {
    Router::new()
        .route("/health", get(health_check))
        .route("/metrics", get(render))
        .with_state(Shared { metrics, health })
}

/// Serves the routes on `addr` until the task is dropped.
pub async fn serve(addr: SocketAddr, metrics: Metrics, health: Arc<Health>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    // The bound address (port 0 picks a free one); the services log the same line.
    let addr = listener.local_addr()?;
    tracing::info!(%addr, serves = "/metrics and /health", "listening");
    axum::serve(listener, router(metrics, health)).await
}

/// 200 while the watches work (or the replica stands by), 503 with the reason once a watch
/// has failed for longer than `WATCH_UNHEALTHY_AFTER_SECONDS`.
async fn health_check(State(shared): State<Shared>) -> impl IntoResponse {
    match shared.health.problem() {
        None => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        ),
        Some(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unhealthy", "problem": problem})),
        ),
    }
}

async fn render(State(shared): State<Shared>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
}
