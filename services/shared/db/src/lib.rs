//! PostgreSQL for the Microshop services: typed settings, the connection pool, migrations run under
//! sqlx's advisory lock, a cheap readiness ping and helpers that turn constraint violations into
//! domain errors at the query site.

use std::pin::Pin;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

/// Database settings, read from the environment by each service's `Config`.
///
/// The URL has no default here because every service owns a different database; services supply
/// their own local default (`users_db`, `products_db`, ...).
#[derive(Debug, Clone, clap::Args)]
pub struct DbConfig {
    /// Upper bound of pooled connections per process.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,
    /// How long a request waits for a free connection before it fails.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000)]
    pub acquire_timeout_ms: u64,
}

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `DATABASE_URL` does not parse.
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    /// Migrations failed; the message names the migration.
    #[error(
        "running database migrations failed (is DATABASE_URL pointing at this service's own database?): {0}"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The server did not answer.
    #[error(
        "cannot reach PostgreSQL at {host}:{port} ({source}); is it running? `make deps` starts it locally"
    )]
    Unreachable {
        /// Host from the URL.
        host: String,
        /// Port from the URL.
        port: u16,
        /// What the driver said.
        #[source]
        source: sqlx::Error,
    },
}

/// Builds a pool for `url` without opening a connection yet.
///
/// Connections are opened on first use, so a service can start, report itself not ready and
/// recover on its own when PostgreSQL comes back.
pub fn pool(url: &SecretString, config: &DbConfig) -> Result<PgPool, DbError> {
    let options = connect_options(url)?;
    Ok(pool_with_options(options, config))
}

/// A connection idle for longer than this is pinged before it is handed out; busier ones are
/// not. sqlx's default pings on every acquire, which doubled the PostgreSQL round trips of a
/// primary-key read and halved `GET /api/products/{id}` throughput (docs/benchmarks.md).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(5);

/// Connections are replaced after this long, so a fail-over or a DNS change is picked up even
/// by a pool that is never idle.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Builds a pool from already parsed options (tests point these at a proxy).
pub fn pool_with_options(options: PgConnectOptions, config: &DbConfig) -> PgPool {
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
        .idle_timeout(Duration::from_secs(300))
        .max_lifetime(MAX_LIFETIME)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options)
}

/// Parses `url` and turns down per-statement logging, which would flood INFO logs.
pub fn connect_options(url: &SecretString) -> Result<PgConnectOptions, DbError> {
    let options: PgConnectOptions = url.expose_secret().parse().map_err(DbError::InvalidUrl)?;
    Ok(options
        .log_statements(log::LevelFilter::Debug)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500)))
}

/// Runs `migrator` against `pool`, holding sqlx's advisory lock so that several replicas starting
/// at once apply each migration exactly once.
pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> Result<(), DbError> {
    // Acquire first so that "server down" gets its own clear message instead of a migrate error.
    let conn = pool.acquire().await.map_err(|source| {
        let options = pool.connect_options();
        DbError::Unreachable {
            host: options.get_host().to_owned(),
            port: options.get_port(),
            source,
        }
    })?;
    drop(conn);
    migrator.run(pool).await?;
    tracing::info!(
        migrations = migrator.iter().count(),
        "database schema is up to date"
    );
    Ok(())
}

/// Checks that a connection can be had and answers within `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), String> {
    let check = async {
        let mut conn = pool.acquire().await?;
        sqlx::Connection::ping(&mut *conn).await
    };
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("database unavailable: {error}")),
        Err(_) => Err(format!(
            "database did not answer within {} ms",
            timeout.as_millis()
        )),
    }
}

/// A readiness check for `microshop_web::Health`: [`ping`] with a one-second budget.
pub fn readiness_check(
    pool: PgPool,
) -> impl Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync + 'static {
    move || {
        let pool = pool.clone();
        Box::pin(async move { ping(&pool, Duration::from_secs(1)).await })
    }
}

/// True when `error` is a unique-constraint violation of `constraint`.
///
/// Lets a query site turn "duplicate key" into a domain error (e.g. e-mail already registered)
/// without string-matching messages.
pub fn is_unique_violation(error: &sqlx::Error, constraint: &str) -> bool {
    matches!(
        error,
        sqlx::Error::Database(db) if db.is_unique_violation() && db.constraint() == Some(constraint)
    )
}

/// True when `error` means "the database cannot be reached right now" (connection refused or
/// lost, pool exhausted or closed) rather than a bad query: callers answer 503, not 500.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    )
}
