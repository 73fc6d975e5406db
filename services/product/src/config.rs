//! Settings of the product service, read once from the environment at start-up.

use microshop_auth::VerifyConfig;
use microshop_cache::CacheConfig;
use microshop_db::DbConfig;
use microshop_limits::RedisConfig;
use microshop_messaging::AmqpConfig;
use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;
use secrecy::SecretString;

/// Everything the product service needs to run. Defaults suit a local `make up`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "product-service", version, about = "Microshop product service")]
pub struct Config {
    /// Port for the HTTP API, health and metrics.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8002)]
    pub http_port: u16,
    /// This service's own database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/products_db?sslmode=disable",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// RabbitMQ settings.
    #[command(flatten)]
    pub amqp: AmqpConfig,
    /// Access-token verification (product writes are for admins).
    #[command(flatten)]
    pub auth: VerifyConfig,
    /// The Redis of the read cache (reads go to PostgreSQL while it is away).
    #[command(flatten)]
    pub redis: RedisConfig,
    /// Read cache settings.
    #[command(flatten)]
    pub cache: CacheConfig,
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
