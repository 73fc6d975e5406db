//! Settings of the user service, read once from the environment at start-up.

use microshop_auth::IssueConfig;
use microshop_db::DbConfig;
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
    /// How long a refresh token is accepted (`30d`); each refresh issues a new one.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: std::time::Duration,
    /// Access token signing.
    #[command(flatten)]
    pub auth: IssueConfig,
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
