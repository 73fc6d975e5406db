//! Settings of the payment service, read once from the environment at start-up.

use microshop_auth::{CallerConfig, VerifyConfig};
use microshop_db::DbConfig;
use microshop_http_client::UpstreamArgs;
use microshop_messaging::AmqpConfig;
use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;
use secrecy::SecretString;

/// Everything the payment service needs to run. Defaults suit a local `make up`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "payment-service", version, about = "Microshop payment service")]
pub struct Config {
    /// Port for the HTTP API, health and metrics.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8004)]
    pub http_port: u16,
    /// This service's own database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/payments_db?sslmode=disable",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// Base URL of the order service (the amount of an order is read there, with this
    /// service's key).
    #[arg(
        long,
        env = "ORDER_SERVICE_URL",
        default_value = "http://127.0.0.1:8003"
    )]
    pub order_service_url: String,
    /// Base URL of the card provider's API (the payment sandbox locally).
    #[arg(long, env = "PROVIDER_URL", default_value = "http://127.0.0.1:8090")]
    pub provider_url: String,
    /// The provider's API key (or the path of a file holding it).
    #[arg(long, env = "PROVIDER_API_KEY", hide_env_values = true)]
    pub provider_api_key: SecretString,
    /// The shop's address as customers reach it: the provider's payment page links back to the
    /// order's page there once the buyer has paid.
    #[arg(long, env = "SHOP_URL", default_value = "http://127.0.0.1:8000")]
    pub shop_url: String,
    /// The secrets the provider signs webhooks with, separated by commas or new lines (several
    /// while one is rotated), or the path of a file holding them.
    #[arg(long, env = "WEBHOOK_SECRETS", hide_env_values = true)]
    pub webhook_secrets: SecretString,
    /// How long an `Idempotency-Key` is remembered (`24h`); a key is its caller's own.
    #[arg(long, env = "IDEMPOTENCY_KEY_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub idempotency_key_ttl: std::time::Duration,
    /// How often refunds not yet accepted by the provider are sent again (`5s`).
    #[arg(long, env = "REFUND_RETRY_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub refund_retry_interval: std::time::Duration,
    /// Deadlines and breakers of calls to the order service and the provider.
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    /// Access-token verification.
    #[command(flatten)]
    pub auth: VerifyConfig,
    /// This service's key for the order service's internal routes.
    #[command(flatten)]
    pub caller: CallerConfig,
    /// RabbitMQ settings.
    #[command(flatten)]
    pub amqp: AmqpConfig,
    /// HTTP server settings.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Connection pool settings.
    #[command(flatten)]
    pub db: DbConfig,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogConfig,
}
