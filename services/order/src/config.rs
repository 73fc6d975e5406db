//! Settings of the order service, read once from the environment at start-up.

use microshop_auth::{CallerConfig, VerifyConfig};
use microshop_db::DbConfig;
use microshop_http_client::UpstreamArgs;
use microshop_limits::RedisConfig;
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
    /// Base URL of the user service (shipping addresses, read with the buyer's token).
    #[arg(
        long,
        env = "USER_SERVICE_URL",
        default_value = "http://127.0.0.1:8001"
    )]
    pub user_service_url: String,
    /// Base URL of the payment service (`POST /api/orders/{id}/pay` asks it for the order's
    /// payment, with the buyer's token).
    #[arg(
        long,
        env = "PAYMENT_SERVICE_URL",
        default_value = "http://127.0.0.1:8004"
    )]
    pub payment_service_url: String,
    /// The currency of every price and order (ISO 4217), told to the payment service.
    #[arg(long, env = "SHOP_CURRENCY", default_value = "USD", value_parser = currency)]
    pub shop_currency: String,
    /// How long a confirmed order may stay unpaid before it is cancelled and its stock given
    /// back (`30m`, `2h`, `500ms`).
    #[arg(long, env = "ORDER_PAYMENT_TIMEOUT", default_value = "30m", value_parser = humantime::parse_duration)]
    pub order_payment_timeout: std::time::Duration,
    /// How long an order may wait for its stock answer before its `order.created` is sent
    /// again; still unanswered one more timeout later, it is rejected (`60s`, `2m`, `500ms`).
    #[arg(long, env = "ORDER_RESERVATION_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub order_reservation_timeout: std::time::Duration,
    /// How long an `Idempotency-Key` is remembered (`24h`); a key is its caller's own.
    #[arg(long, env = "IDEMPOTENCY_KEY_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub idempotency_key_ttl: std::time::Duration,
    /// Most open orders (`PENDING`, or `CONFIRMED` and unpaid) one buyer may have; the next
    /// gets 409 `too_many_open_orders`.
    #[arg(long, env = "MAX_OPEN_ORDERS_PER_USER", default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_open_orders_per_user: i64,
    /// How long a cart is kept after its last change (`30d`, `12h`; at least a second).
    #[arg(long, env = "CART_TTL", default_value = "30d", value_parser = cart_ttl)]
    pub cart_ttl: std::time::Duration,
    /// Bound on each Redis round trip of a cart route, in milliseconds; past it the route
    /// answers 503 `cart_unavailable`.
    #[arg(long, env = "CART_REDIS_TIMEOUT_MS", default_value_t = 250,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub cart_redis_timeout_ms: u64,
    /// Deadlines and breakers of calls to the product, user and payment services.
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    /// The Redis of the carts (only the cart routes need it).
    #[command(flatten)]
    pub redis: RedisConfig,
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

/// A cart expiry: a humantime duration of at least a second.
fn cart_ttl(text: &str) -> Result<std::time::Duration, String> {
    let ttl = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if ttl < std::time::Duration::from_secs(1) {
        return Err(format!("must be at least 1s, got {text}"));
    }
    Ok(ttl)
}

/// An ISO 4217 code: three capital letters.
fn currency(text: &str) -> Result<String, String> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "must be three capital letters (ISO 4217, e.g. USD), got {text:?}"
        ))
    }
}
