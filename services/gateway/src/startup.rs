//! Wiring: the routing table's upstreams, the proxy route, health, metrics and the server.

use std::collections::HashMap;

use axum::routing::any;
use microshop_web::{Health, HttpServer, Metrics};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::metrics::GatewayMetrics;
use crate::proxy::{self, Proxy};
use crate::routing::Upstream;
use crate::{Config, SERVICE};

#[derive(OpenApi)]
#[openapi(info(
    title = "Microshop gateway",
    description = "The shop's front door: /api/... is forwarded to the service that owns the path; each service's own /openapi.json describes its routes."
))]
struct ApiDoc;

/// Binds the gateway's port.
pub async fn build(config: &Config) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let gateway_metrics = GatewayMetrics::register(metrics.registry())?;
    let bases = HashMap::from([
        (Upstream::Users, config.user_service_url.clone()),
        (Upstream::Products, config.product_service_url.clone()),
        (Upstream::Orders, config.order_service_url.clone()),
        (Upstream::Payments, config.payment_service_url.clone()),
        (
            Upstream::Notifications,
            config.notification_service_url.clone(),
        ),
    ]);
    let proxy = Proxy::new(bases, config.upstream_timeout, gateway_metrics)?;
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .route("/api/{*rest}", any(proxy::forward))
        .route("/.well-known/{*rest}", any(proxy::forward))
        .with_state(proxy);
    let health = Health::new(CancellationToken::new());
    Ok(HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        router,
        health,
        metrics,
    )
    .await?)
}
