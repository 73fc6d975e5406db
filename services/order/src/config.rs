//! Settings of the order service, read once from the environment at start-up.

use microshop_auth::{CallerConfig, VerifyConfig};
use microshop_db::DbConfig;
use microshop_messaging::AmqpConfig;
use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;
use secrecy::SecretString;

/// Everything the order service needs to run. Defaults suit a local `make up`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "order-service", version, about = "Microshop order service")]
pub struct Config {
    /// Port for the HTTP API, health and metrics.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8003)]
    pub http_port: u16,
    /// This service's own database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/orders_db?sslmode=disable",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// Base URL of the product service.
    #[arg(
        long,
        env = "PRODUCT_SERVICE_URL",
        default_value = "http://127.0.0.1:8002"
    )]
    pub product_service_url: String,
    /// Deadline of one call to another service, retries included.
    #[arg(long, env = "UPSTREAM_DEADLINE_MS", default_value_t = 3_000)]
    pub upstream_deadline_ms: u64,
    /// How long an order may wait for its stock answer before its `order.created` is sent
    /// again; still unanswered one more timeout later, it is rejected (`60s`, `2m`, `500ms`).
    #[arg(long, env = "ORDER_RESERVATION_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub order_reservation_timeout: std::time::Duration,
    /// How long a circuit breaker stays open before it lets one probe through.
    #[arg(long, env = "BREAKER_COOL_DOWN_MS", default_value_t = 3_000)]
    pub breaker_cool_down_ms: u64,
    /// How long an `Idempotency-Key` is remembered (`24h`); a key is its caller's own.
    #[arg(long, env = "IDEMPOTENCY_KEY_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub idempotency_key_ttl: std::time::Duration,
    /// Most open orders (`PENDING`, or `CONFIRMED` and unpaid) one buyer may have; the next
    /// gets 409 `too_many_open_orders`.
    #[arg(long, env = "MAX_OPEN_ORDERS_PER_USER", default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_open_orders_per_user: i64,
    /// Access-token verification.
    #[command(flatten)]
    pub auth: VerifyConfig,
    /// This service's key for the product service's internal routes.
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
