//! Settings of the gateway, read once from the environment at start-up.

use std::time::Duration;

use microshop_auth::VerifyConfig;
use microshop_limits::RedisConfig;
use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;

use crate::cache::ResponseCacheConfig;
use crate::limiter::RateLimitConfig;
use crate::storefront::StorefrontConfig;

/// Everything the gateway needs to run. Defaults suit a local `make up`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "gateway", version, about = "Microshop API gateway")]
pub struct Config {
    /// Port for the shop's front door, health and metrics.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8000)]
    pub http_port: u16,
    /// The user service.
    #[arg(
        long,
        env = "USER_SERVICE_URL",
        default_value = "http://127.0.0.1:8001"
    )]
    pub user_service_url: String,
    /// The product service.
    #[arg(
        long,
        env = "PRODUCT_SERVICE_URL",
        default_value = "http://127.0.0.1:8002"
    )]
    pub product_service_url: String,
    /// The order service.
    #[arg(
        long,
        env = "ORDER_SERVICE_URL",
        default_value = "http://127.0.0.1:8003"
    )]
    pub order_service_url: String,
    /// The payment service.
    #[arg(
        long,
        env = "PAYMENT_SERVICE_URL",
        default_value = "http://127.0.0.1:8004"
    )]
    pub payment_service_url: String,
    /// The notification service.
    #[arg(
        long,
        env = "NOTIFICATION_SERVICE_URL",
        default_value = "http://127.0.0.1:8005"
    )]
    pub notification_service_url: String,
    /// Longest a service may take to start answering a forwarded request (the caller's own
    /// deadline, when shorter, wins).
    #[arg(long, env = "UPSTREAM_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub upstream_timeout: Duration,
    /// Longest wait for each part of an aggregated answer (`/api/v1/orders/{id}/details`); a
    /// part not there by then is left out and named in `degraded`.
    #[arg(long, env = "DETAILS_PART_TIMEOUT", default_value = "1500ms", value_parser = humantime::parse_duration)]
    pub details_part_timeout: Duration,
    /// How long a service's circuit breaker stays open (after repeated failures) before one
    /// request probes it.
    #[arg(long, env = "BREAKER_COOL_DOWN", default_value = "3s", value_parser = humantime::parse_duration)]
    pub breaker_cool_down: Duration,
    /// Browser origins allowed to call the API from their own pages (CORS), comma-separated
    /// (`https://admin.example.com`). Empty: only the shop's own pages.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', num_args = 0..)]
    pub cors_allowed_origins: Vec<String>,
    /// The header a trusted proxy in front (an ingress) writes the client's address to
    /// (`x-forwarded-for`; its last entry counts). Unset: the TCP peer's address.
    #[arg(long, env = "CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<axum::http::HeaderName>,
    /// Access-token verification (the user service's public keys or JWKS).
    #[command(flatten)]
    pub auth: VerifyConfig,
    /// Redis, where the rate limits count.
    #[command(flatten)]
    pub redis: RedisConfig,
    /// Rate limits.
    #[command(flatten)]
    pub rate_limit: RateLimitConfig,
    /// The cache of public reads.
    #[command(flatten)]
    pub response_cache: ResponseCacheConfig,
    /// The storefront's session and forms.
    #[command(flatten)]
    pub storefront: StorefrontConfig,
    /// HTTP server settings.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogConfig,
}
