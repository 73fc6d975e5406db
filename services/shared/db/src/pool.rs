//! The connection pool of every service: [`Db`].
//!
//! sqlx's own pool pings a connection (a round trip) every time it goes back to the pool, and
//! that cannot be turned off: for `GET /api/products/{id}` that was one of the two round trips
//! of every request, and without it the request rate rose by a quarter (docs/performance.md).
//! This pool keeps sqlx's connections and query API and replaces only the bookkeeping:
//!
//! - a connection is handed out as it was left; one not verified (pinged) for [`VERIFY_AFTER`]
//!   is pinged first, so a connection that broke while idle is found before it is used;
//! - a connection whose query failed because the connection itself failed is closed, never
//!   reused: every query through `&Db` and every [`Transaction`](crate::Transaction) commit
//!   reports its outcome;
//! - a transaction dropped before it finished (an error, a cancelled request) is rolled back
//!   at once in the background, so its locks never outlive the request, and a query cancelled
//!   mid-flight is drained before its connection is reused; a connection whose session no
//!   longer takes writes (a demoted primary: a statement inside a transaction met `25006`,
//!   which nothing reports to the pool) is closed then;
//! - connections are replaced after [`MAX_LIFETIME`] and closed after [`IDLE_TIMEOUT`] unused.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{DbConfig, breaks_connection};

/// A connection last verified longer ago than this is pinged before it is handed out.
pub const VERIFY_AFTER: Duration = Duration::from_secs(1);
/// Connections are replaced after this long, so a fail-over or a DNS change is picked up even
/// by a pool that is never idle.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Connections unused for this long are closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A pool of PostgreSQL connections; cheap to clone. Queries run on `&Db` directly (each takes
/// a connection for its duration), or on a [`Transaction`](crate::Transaction) from
/// [`Db::begin`]. Connections are opened on first use.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    options: PgConnectOptions,
    acquire_timeout: Duration,
    slots: Arc<Semaphore>,
    /// Most recently used last: hot connections stay hot and surplus ones age out.
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    conn: PgConnection,
    created_at: Instant,
    verified_at: Instant,
    released_at: Instant,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("host", &self.inner.options.get_host())
            .field("port", &self.inner.options.get_port())
            .field("database", &self.inner.options.get_database())
            .field("idle", &self.inner.idle().len())
            .field("free_slots", &self.inner.slots.available_permits())
            .finish()
    }
}

impl Db {
    /// A pool for `options`, every connection starting with the session limits of `config`;
    /// nothing is opened until the first query.
    pub fn new(options: PgConnectOptions, config: &DbConfig) -> Self {
        let options = options.options(config.session_settings());
        let slots = usize::try_from(config.max_connections.max(1)).unwrap_or(usize::MAX);
        Self {
            inner: Arc::new(Inner {
                options,
                acquire_timeout: Duration::from_millis(config.acquire_timeout_ms),
                slots: Arc::new(Semaphore::new(slots)),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Where the connections go.
    pub fn connect_options(&self) -> &PgConnectOptions {
        &self.inner.options
    }

    /// A connection for the caller alone until the returned guard is dropped. Waits at most the
    /// acquire timeout for a free slot (then [`sqlx::Error::PoolTimedOut`]); a connection
    /// that cannot be opened fails at once.
    pub async fn acquire(&self) -> Result<PooledConnection, sqlx::Error> {
        let inner = &self.inner;
        tokio::time::timeout(inner.acquire_timeout, async {
            let permit = Arc::clone(&inner.slots)
                .acquire_owned()
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            while let Some(mut idle) = inner.pop_idle() {
                if idle.verified_at.elapsed() > VERIFY_AFTER {
                    if idle.conn.ping().await.is_err() {
                        // Broke while idle; its socket closes as it drops.
                        continue;
                    }
                    idle.verified_at = Instant::now();
                }
                return Ok(PooledConnection::new(
                    idle.conn,
                    idle.created_at,
                    idle.verified_at,
                    permit,
                    Arc::clone(inner),
                ));
            }
            let conn = PgConnection::connect_with(&inner.options).await?;
            let now = Instant::now();
            Ok(PooledConnection::new(
                conn,
                now,
                now,
                permit,
                Arc::clone(inner),
            ))
        })
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
    }
}

impl Inner {
    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        // Pushing or popping cannot leave the vector half-changed, so a poisoned lock is safe.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently used idle connection that is still young enough, closing the others.
    fn pop_idle(&self) -> Option<Idle> {
        loop {
            let idle = self.idle().pop()?;
            if idle.created_at.elapsed() < MAX_LIFETIME {
                return Some(idle);
            }
            close_in_background(idle.conn);
        }
    }

    fn push_idle(&self, conn: PgConnection, created_at: Instant, verified_at: Instant) {
        let now = Instant::now();
        let mut idle = self.idle();
        // The oldest entry is the least recently used one.
        if idle
            .first()
            .is_some_and(|oldest| now.duration_since(oldest.released_at) > IDLE_TIMEOUT)
        {
            close_in_background(idle.remove(0).conn);
        }
        idle.push(Idle {
            conn,
            created_at,
            verified_at,
            released_at: now,
        });
    }
}

/// Ends a healthy connection politely (Terminate) without making anyone wait for it.
fn close_in_background(conn: PgConnection) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = conn.close().await;
        });
    }
}

/// What must happen to a connection before it can be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Ready for the next user.
    Clean,
    /// A query was running when its future was dropped: drain its answer first.
    Busy,
    /// A transaction is open: roll it back first.
    InTransaction,
    /// The connection failed: close it.
    Broken,
}

/// A connection taken from a [`Db`]; goes back when dropped. Dereferences to the sqlx
/// connection.
pub struct PooledConnection {
    conn: Option<PgConnection>,
    state: State,
    created_at: Instant,
    verified_at: Instant,
    permit: Option<OwnedSemaphorePermit>,
    pool: Arc<Inner>,
}

impl PooledConnection {
    fn new(
        conn: PgConnection,
        created_at: Instant,
        verified_at: Instant,
        permit: OwnedSemaphorePermit,
        pool: Arc<Inner>,
    ) -> Self {
        Self {
            conn: Some(conn),
            state: State::Clean,
            created_at,
            verified_at,
            permit: Some(permit),
            pool,
        }
    }

    /// The sqlx connection.
    pub(crate) fn raw(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a pooled connection holds its connection until dropped")
    }

    pub(crate) fn set_state(&mut self, state: State) {
        self.state = state;
    }

    /// Records how an operation on this connection ended: a connection-level failure means the
    /// connection must not be reused.
    pub(crate) fn settle<T>(&mut self, result: &Result<T, sqlx::Error>, after: State) {
        self.state = match result {
            Err(error) if breaks_connection(error) => State::Broken,
            _ => after,
        };
    }

    /// Runs a transaction-control statement (`begin`, `commit`, `rollback`) and records the
    /// outcome. While it runs the connection counts as in a transaction: if the caller is
    /// cancelled half-way, a `begin` may still reach the server, and the cleanup's rollback
    /// (harmless when no transaction is open) makes sure none stays open.
    pub(crate) async fn transaction_control(
        &mut self,
        sql: &'static str,
        after: State,
    ) -> Result<(), sqlx::Error> {
        self.state = State::InTransaction;
        let result = self.raw().execute(sql).await.map(|_| ());
        self.settle(&result, after);
        result
    }
}

impl std::ops::Deref for PooledConnection {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.conn
            .as_ref()
            .expect("a pooled connection holds its connection until dropped")
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.raw()
    }
}

/// Rolls back the transaction abandoned on `conn`; whether the connection may be reused: the
/// rollback went through and its session still takes writes. A session that does not (the
/// server was demoted in a fail-over, or turned read-only) never will again, and the statements
/// of a transaction report their errors to their caller only, so the connection is judged here
/// (one more round trip, only for transactions that did not end with a commit or a rollback).
async fn rolled_back(conn: &mut PgConnection) -> bool {
    if conn.execute("rollback").await.is_err() {
        return false;
    }
    let read_only: Result<String, sqlx::Error> =
        sqlx::query_scalar("select current_setting('transaction_read_only')")
            .fetch_one(&mut *conn)
            .await;
    read_only.is_ok_and(|setting| setting == "off")
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let permit = self.permit.take();
        let (pool, created_at, verified_at) =
            (Arc::clone(&self.pool), self.created_at, self.verified_at);
        match self.state {
            State::Clean => pool.push_idle(conn, created_at, verified_at),
            State::Broken => drop(conn),
            State::Busy | State::InTransaction => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let rollback = self.state == State::InTransaction;
                runtime.spawn(async move {
                    // Either waits for the abandoned query's answer first, then confirms the
                    // connection is in sync again.
                    let cleaned = if rollback {
                        rolled_back(&mut conn).await
                    } else {
                        conn.ping().await.is_ok()
                    };
                    if cleaned {
                        pool.push_idle(conn, created_at, Instant::now());
                    }
                    drop(permit);
                });
                return;
            }
        }
        drop(permit);
    }
}
