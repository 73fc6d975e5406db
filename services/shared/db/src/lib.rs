//! PostgreSQL for the Microshop services: typed settings, the connection pool ([`Db`]) and its
//! transactions, coalesced reads by id ([`Lookup`]), migrations run under sqlx's advisory lock, a cheap readiness ping and helpers
//! that turn constraint violations into domain errors at the query site.

mod executor;
mod lookup;
mod pool;
mod transaction;

use std::pin::Pin;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::ConnectOptions;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;

pub use lookup::{Lookup, MAX_BATCH};
pub use pool::{Db, IDLE_TIMEOUT, MAX_LIFETIME, PooledConnection, VERIFY_AFTER};
pub use transaction::Transaction;

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
pub fn connect_lazy(url: &SecretString, config: &DbConfig) -> Result<Db, DbError> {
    Ok(Db::new(connect_options(url)?, config))
}

/// Parses `url` and turns down per-statement logging, which would flood INFO logs.
pub fn connect_options(url: &SecretString) -> Result<PgConnectOptions, DbError> {
    let options: PgConnectOptions = url.expose_secret().parse().map_err(DbError::InvalidUrl)?;
    Ok(options
        .log_statements(log::LevelFilter::Debug)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500)))
}

/// Runs `migrator` against `db`, holding sqlx's advisory lock so that several replicas starting
/// at once apply each migration exactly once.
pub async fn migrate(db: &Db, migrator: &Migrator) -> Result<(), DbError> {
    // Acquire first so that "server down" gets its own clear message instead of a migrate error.
    let mut conn = db.acquire().await.map_err(|source| {
        let options = db.connect_options();
        DbError::Unreachable {
            host: options.get_host().to_owned(),
            port: options.get_port(),
            source,
        }
    })?;
    migrator.run(&mut *conn).await?;
    tracing::info!(
        migrations = migrator.iter().count(),
        "database schema is up to date"
    );
    Ok(())
}

/// Checks that a connection can be had and answers within `timeout`.
pub async fn ping(db: &Db, timeout: Duration) -> Result<(), String> {
    let check = sqlx::Executor::execute(db, "select 1");
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(format!("database unavailable: {error}")),
        Err(_) => Err(format!(
            "database did not answer within {} ms",
            timeout.as_millis()
        )),
    }
}

/// A readiness check for `microshop_web::Health`: [`ping`] with a one-second budget.
pub fn readiness_check(
    db: Db,
) -> impl Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync + 'static {
    move || {
        let db = db.clone();
        Box::pin(async move { ping(&db, Duration::from_secs(1)).await })
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
/// The pool closes a connection whose operation failed this way.
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

/// True when retrying the same operation later may succeed: the database is unreachable
/// ([`is_unavailable`]), or PostgreSQL gave up on this attempt (deadlock, serialization failure,
/// too many connections, shutting down). False for errors that the same input will hit again
/// (a constraint violation, bad data, a bug in a query): consumers dead-letter such an event
/// instead of retrying it forever.
pub fn is_transient(error: &sqlx::Error) -> bool {
    if is_unavailable(error) || matches!(error, sqlx::Error::Protocol(_)) {
        return true;
    }
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    // SQLSTATE classes: 08 connection exception, 40 transaction rollback (deadlock,
    // serialization), 53 insufficient resources, 57 operator intervention (shutdown).
    db.code().is_some_and(|code| {
        ["08", "40", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class))
    })
}
