//! Settings of the gateway, read once from the environment at start-up.

use std::time::Duration;

use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;

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
    /// HTTP server settings.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogConfig,
}
