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
/// their own local default (`users_db`, `products_db`, ...). The three session limits are set on
/// every connection, so no statement, lock wait or forgotten transaction can hold a connection
/// (and the locks it took) for long: the service answers 503 and the pool moves on.
#[derive(Debug, Clone, clap::Args)]
pub struct DbConfig {
    /// Upper bound of pooled connections per process.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,
    /// How long a request waits for a free connection before it fails.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000)]
    pub acquire_timeout_ms: u64,
    /// `statement_timeout`: the longest any one statement may run (0 for none).
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_MS", default_value_t = 5_000)]
    pub statement_timeout_ms: u64,
    /// `lock_timeout`: the longest a statement may wait for a lock (0 for none).
    #[arg(long, env = "DB_LOCK_TIMEOUT_MS", default_value_t = 3_000)]
    pub lock_timeout_ms: u64,
    /// `idle_in_transaction_session_timeout`: a transaction left idle this long is ended by the
    /// server (0 for never).
    #[arg(
        long,
        env = "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        default_value_t = 15_000
    )]
    pub idle_in_transaction_timeout_ms: u64,
}

impl Default for DbConfig {
    /// The same values as the command-line defaults.
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout_ms: 3_000,
            statement_timeout_ms: 5_000,
            lock_timeout_ms: 3_000,
            idle_in_transaction_timeout_ms: 15_000,
        }
    }
}

impl DbConfig {
    /// The session settings every connection starts with.
    pub fn session_settings(&self) -> [(&'static str, String); 3] {
        [
            ("statement_timeout", self.statement_timeout_ms.to_string()),
            ("lock_timeout", self.lock_timeout_ms.to_string()),
            (
                "idle_in_transaction_session_timeout",
                self.idle_in_transaction_timeout_ms.to_string(),
            ),
        ]
    }
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
    // A migration may rewrite a table: no statement limit. It may wait for a lock held by live
    // traffic, but not forever: a migration that cannot get its lock fails, and the next start
    // tries again, rather than queueing every request behind its lock request.
    sqlx::Executor::execute(
        &mut *conn,
        "set statement_timeout = 0; set lock_timeout = '30s'",
    )
    .await
    .map_err(sqlx::migrate::MigrateError::from)?;
    migrator.run(&mut *conn).await?;
    // The connection goes back to the pool with the service's own limits.
    sqlx::Executor::execute(&mut *conn, "reset statement_timeout; reset lock_timeout")
        .await
        .map_err(sqlx::migrate::MigrateError::from)?;
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

/// How long [`committed`] waits for a transaction that is still committing.
const COMMIT_STATUS_PATIENCE: Duration = Duration::from_secs(30);

/// Whether transaction `xid` (a `pg_current_xact_id()` value) committed, asked on a fresh
/// connection: for a commit whose connection broke before its answer arrived. Waits while the
/// transaction is still in progress and while the database cannot be asked, up to 30 s; an
/// error means the outcome could not be found out.
pub async fn committed(db: &Db, xid: &str) -> Result<bool, sqlx::Error> {
    let started = std::time::Instant::now();
    loop {
        let asked = sqlx::query_scalar::<_, Option<String>>("select pg_xact_status($1::xid8)")
            .bind(xid)
            .fetch_one(db)
            .await;
        match asked {
            Ok(Some(status)) if status == "committed" => return Ok(true),
            Ok(Some(status)) if status == "in progress" => {}
            // Aborted, or too old to know (it cannot be then: the commit was moments ago).
            Ok(_) => return Ok(false),
            Err(error) if !is_transient(&error) => return Err(error),
            Err(error) if started.elapsed() >= COMMIT_STATUS_PATIENCE => return Err(error),
            Err(_) => {}
        }
        if started.elapsed() >= COMMIT_STATUS_PATIENCE {
            return Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("transaction {xid} was still committing after {COMMIT_STATUS_PATIENCE:?}"),
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
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

/// True when `error` is a foreign-key violation of `constraint` (a row refers to one that does
/// not exist, or a deleted row is still referred to).
pub fn is_foreign_key_violation(error: &sqlx::Error, constraint: &str) -> bool {
    matches!(
        error,
        sqlx::Error::Database(db)
            if db.is_foreign_key_violation() && db.constraint() == Some(constraint)
    )
}

/// The one classification of database errors, for HTTP answers and consumers alike: true when
/// trying the same operation again later may succeed, so an HTTP request is answered `503` with
/// `Retry-After` and a consumer retries the event. That is:
///
/// - the database cannot be reached (connection refused or lost, pool exhausted or closed);
/// - PostgreSQL gave up on this attempt: deadlock or serialization failure (class 40), too many
///   connections or another shortage (53), shutting down, restarting, not accepting connections
///   yet, or a statement cancelled by `statement_timeout` (57), a connection exception (08), a
///   lock not granted within `lock_timeout` (`55P03`);
/// - a write that reached a read-only server (`25006`): after a fail-over the old primary takes
///   writes no longer; the pool drops that connection and the next one reaches the new primary.
///
/// False for errors that the same input will hit again (a constraint violation, bad data, a bug
/// in a query): an HTTP request is answered `500` and a consumer dead-letters the event instead of
/// retrying it forever.
pub fn is_transient(error: &sqlx::Error) -> bool {
    if breaks_connection(error) {
        return true;
    }
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    db.code().is_some_and(|code| {
        ["08", "40", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class))
            || code == "55P03"
    })
}

/// True when the connection an operation failed on must not be used again: it is lost, speaks
/// nonsense, was ended by the server (shutting down or restarting: `57P01`-`57P05`; a
/// transaction left idle or running too long: `25P03`, `25P04`), or leads to a server that no
/// longer takes writes (`25006`, a demoted primary).
pub fn breaks_connection(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("57P")
                || ["25006", "25P03", "25P04"].contains(&code.as_ref())
        }),
        _ => false,
    }
}
