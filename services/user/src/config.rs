//! Settings of the user service, read once from the environment at start-up.

use microshop_auth::IssueConfig;
use microshop_db::DbConfig;
use microshop_limits::RedisConfig;
use microshop_messaging::AmqpConfig;
use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;
use secrecy::SecretString;

/// Everything the user service needs to run. Defaults suit a local `make up`.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "user-service", version, about = "Microshop user service")]
pub struct Config {
    /// Port for the HTTP API, health and metrics.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8001)]
    pub http_port: u16,
    /// This service's own database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/users_db?sslmode=disable",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// Password hashes computed at once (default: one per CPU); each argon2id hash holds 19 MiB
    /// for ~20 ms, and more hashes than CPUs only adds memory, not throughput.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY", default_value_t = default_hash_concurrency())]
    pub password_hash_concurrency: usize,
    /// Hashes (log-ins, registrations, password changes) that may wait for a free hasher; more
    /// are refused at once with 503 `overloaded`, so a log-in flood cannot hold every request
    /// slot the other routes need.
    #[arg(long, env = "PASSWORD_HASH_QUEUE", default_value_t = 64)]
    pub password_hash_queue: usize,
    /// Failed log-ins one account may have per `LOGIN_THROTTLE_WINDOW`; then 429.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ACCOUNT", default_value_t = 5)]
    pub login_max_failures_per_account: u32,
    /// Failed log-ins one client address may have per `LOGIN_THROTTLE_WINDOW`; then 429.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = 20)]
    pub login_max_failures_per_address: u32,
    /// The window failed log-ins are counted in, from the first failure (`15m`).
    #[arg(long, env = "LOGIN_THROTTLE_WINDOW", default_value = "15m", value_parser = humantime::parse_duration)]
    pub login_throttle_window: std::time::Duration,
    /// The header a trusted proxy in front writes the client's address to
    /// (`x-forwarded-for`; its last entry counts). Unset: the TCP peer's address.
    #[arg(long, env = "CLIENT_ADDRESS_HEADER")]
    pub client_address_header: Option<axum::http::HeaderName>,
    /// Redis, where log-in failures are counted.
    #[command(flatten)]
    pub redis: RedisConfig,
    /// How long a refresh token is accepted (`30d`); each refresh issues a new one.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: std::time::Duration,
    /// The shop's first admin: at start-up this account is created as an admin if the address
    /// is not registered, or made an admin if it is (its password is then left as it is). Set
    /// together with `BOOTSTRAP_ADMIN_PASSWORD`, or neither (empty counts as unset).
    #[arg(long, env = "BOOTSTRAP_ADMIN_EMAIL")]
    pub bootstrap_admin_email: Option<String>,
    /// The password of a bootstrap admin account created from scratch (8 to 128 characters).
    #[arg(long, env = "BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true)]
    pub bootstrap_admin_password: Option<SecretString>,
    /// Access token signing.
    #[command(flatten)]
    pub auth: IssueConfig,
    /// RabbitMQ settings (the user service publishes `user.events`; it consumes nothing).
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

fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}
