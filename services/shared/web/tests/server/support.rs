//! A server built like a service's, with a few routes of its own, on a free loopback port.

use std::net::{IpAddr, SocketAddr};

use microshop_web::{Health, HttpServer, Metrics, ServerConfig};
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

/// Settings for a test server: everything small and quick.
pub fn config() -> ServerConfig {
    ServerConfig {
        host: IpAddr::from([127, 0, 0, 1]),
        request_timeout_ms: 10_000,
        shutdown_drain_delay_ms: 0,
        shutdown_timeout_ms: 2_000,
        header_read_timeout_ms: 10_000,
        max_connections: 64,
        max_in_flight: 64,
    }
}

/// A running server and what controls it.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub stopped: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/metrics` as text.
    pub async fn metrics(&self) -> String {
        self.get_text("/metrics").await
    }

    /// The `/health/ready` body.
    pub async fn readiness(&self) -> serde_json::Value {
        serde_json::from_str(&self.get_text("/health/ready").await).unwrap()
    }

    async fn get_text(&self, path: &str) -> String {
        reqwest::get(self.url(path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// Binds `api` with `health` under `config` and runs it.
pub async fn start(config: &ServerConfig, api: OpenApiRouter, health: Health) -> Running {
    let server = HttpServer::bind("test", config, 0, api, health, Metrics::new("test"))
        .await
        .unwrap();
    run(server)
}

/// Runs a bound server.
pub fn run(server: HttpServer) -> Running {
    let addr = server.local_addr();
    let shutdown = server.shutdown_token();
    let stopped = tokio::spawn(async move { server.run().await.unwrap() });
    Running {
        addr,
        shutdown,
        stopped,
    }
}

/// Health with no checks of its own.
pub fn health() -> Health {
    Health::new(CancellationToken::new())
}
