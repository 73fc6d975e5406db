//! Wiring: the services as upstreams, the storefront, the proxy and the aggregation, the edge's
//! authentication, rate limits and hardening, health, metrics and the server.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::routing::any;
use microshop_auth::Auth;
use microshop_http_client::UpstreamMetrics;
use microshop_limits::{RateLimiter, Redis};
use microshop_web::{ClientAddressHeader, Health, HttpServer, Metrics};
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cache::ResponseCache;
use crate::details::{self, Details};
use crate::limiter::{self, Limits};
use crate::proxy::{self, Proxy};
use crate::storefront::{self, Storefront};
use crate::upstreams::Upstreams;
use crate::{Config, SERVICE, edge, hardening};

#[derive(OpenApi)]
#[openapi(info(
    title = "Microshop gateway",
    description = "The shop's front door: the storefront's pages at /, /api/... forwarded to the service that owns the path (each service's own /openapi.json describes its routes), the seed's /api/v1 paths rewritten to them, and the aggregated order details below. Every /api route that is not public needs a bearer token; every caller is rate limited (429 with Retry-After, RateLimit and RateLimit-Policy headers)."
))]
struct ApiDoc;

/// Binds the gateway's port.
pub async fn build(config: &Config) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let registry = metrics.registry();
    let upstreams = Arc::new(Upstreams::new(
        config,
        &UpstreamMetrics::register(registry)?,
    ));
    let auth = Auth::from_config(&config.auth, registry).await?;
    let redis = Redis::connect(&config.redis)?;
    // A moment for Redis, so the first requests count where every replica sees them; without
    // it the gateway starts anyway and limits in-process until it connects.
    if !redis.wait_connected(Duration::from_secs(2)).await {
        tracing::warn!("Redis is not reachable yet; rate limits hold per process until it is");
    }
    let limiter = RateLimiter::new(redis, registry)?;
    let limits = Limits::new(&config.rate_limit, limiter, registry)?;
    let storefront = Storefront::new(&config.storefront, Arc::clone(&upstreams))?;
    let cache = ResponseCache::new(&config.response_cache, registry)?;
    let proxy = Proxy::new(Arc::clone(&upstreams), config.upstream_timeout, cache);
    let details = Details::new(Arc::clone(&upstreams), config.details_part_timeout);

    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(details::details))
        .with_state(details)
        .merge(
            OpenApiRouter::new()
                .route("/api/{*rest}", any(proxy::forward))
                .route("/.well-known/{*rest}", any(proxy::forward))
                .with_state(proxy),
        )
        .merge(OpenApiRouter::from(storefront::router(storefront)));
    // One stack for every route of the front door, outermost first: who the client is (its
    // address), the security headers (on every answer, refusals included), CORS (a preflight
    // needs no token), the header cap, the edge's authentication, the limits (keyed by the
    // caller the authentication names), the body cap. One `layer` call wraps each route once
    // instead of once per layer (a boxed clone per layer and request).
    let front_door = ServiceBuilder::new()
        .layer(Extension(ClientAddressHeader(
            config.client_address_header.clone(),
        )))
        .layer(hardening::security_headers())
        .option_layer(hardening::cors(&config.cors_allowed_origins)?)
        .layer(axum::middleware::from_fn(hardening::limit_headers))
        .layer(axum::middleware::from_fn_with_state(
            auth,
            edge::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(limits, limiter::limit));
    // The body cap changes the body's type: its own layer, innermost.
    let api = api
        .layer(RequestBodyLimitLayer::new(
            microshop_web::server::BODY_LIMIT_BYTES,
        ))
        .layer(front_door);
    let health = Health::new(CancellationToken::new());
    Ok(HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        api,
        health,
        metrics,
    )
    .await?)
}
