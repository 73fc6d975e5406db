//! The pool against the real PostgreSQL: connections are reused without extra round trips,
//! never more are opened than allowed, and what sqlx's pool did with a ping on every release
//! still happens when it matters: abandoned transactions roll back at once, cancelled queries
//! are drained, failed connections are never handed out again.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::HashSet;
use std::time::Duration;

use futures::FutureExt;
use futures::future::join_all;
use microshop_db::{Db, DbConfig, VERIFY_AFTER};
use microshop_testkit::TcpProxy;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

fn config(max_connections: u32) -> DbConfig {
    DbConfig {
        max_connections,
        acquire_timeout_ms: 3_000,
        ..DbConfig::default()
    }
}

fn db_on(pool: &PgPool, max_connections: u32) -> Db {
    Db::new((*pool.connect_options()).clone(), &config(max_connections))
}

async fn backend_pid(db: &Db) -> i32 {
    sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(db)
        .await
        .unwrap()
}

/// The test database behind a proxy the test can cut.
async fn proxied(pool: &PgPool) -> (TcpProxy, Db) {
    let options = pool.connect_options();
    let upstream = tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = TcpProxy::start(upstream).await.unwrap();
    let through: PgConnectOptions = (*options)
        .clone()
        .host("127.0.0.1")
        .port(proxy.addr().port());
    (proxy, Db::new(through, &config(1)))
}

#[sqlx::test]
async fn one_connection_serves_query_after_query(pool: PgPool) {
    let db = db_on(&pool, 4);

    let first = backend_pid(&db).await;
    let second = backend_pid(&db).await;

    assert_eq!(first, second, "the released connection is reused");
}

#[sqlx::test]
async fn never_more_connections_than_allowed_however_many_ask(pool: PgPool) {
    let db = db_on(&pool, 2);

    let pids = join_all((0..12).map(|_| async {
        sqlx::query_scalar::<_, i32>("select pg_backend_pid() from pg_sleep(0.05)")
            .fetch_one(&db)
            .await
            .unwrap()
    }))
    .await;

    let distinct: HashSet<_> = pids.into_iter().collect();
    assert!(distinct.len() <= 2, "{} connections opened", distinct.len());
}

#[sqlx::test]
async fn a_transaction_dropped_unfinished_rolls_back_and_frees_its_locks_at_once(pool: PgPool) {
    sqlx::query("create table stock (id int primary key, units int not null)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("insert into stock values (1, 10)")
        .execute(&pool)
        .await
        .unwrap();
    let db = db_on(&pool, 4);

    let mut tx = db.begin().await.unwrap();
    sqlx::query("update stock set units = 0 where id = 1")
        .execute(&mut *tx)
        .await
        .unwrap();
    drop(tx); // an error path: no commit

    // The abandoned transaction held the row lock; nobody uses its connection again, so only
    // an immediate rollback lets this update through.
    let mut other = PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap();
    sqlx::query("set lock_timeout = '2s'")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("update stock set units = units - 1 where id = 1")
        .execute(&mut other)
        .await
        .expect("the row lock was released");
    let units: i32 = sqlx::query_scalar("select units from stock where id = 1")
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!(units, 9, "the abandoned update was rolled back");
}

#[sqlx::test]
async fn a_committed_transaction_is_durable_and_its_connection_reused(pool: PgPool) {
    sqlx::query("create table notes (body text not null)")
        .execute(&pool)
        .await
        .unwrap();
    let db = db_on(&pool, 1);

    let mut tx = db.begin().await.unwrap();
    sqlx::query("insert into notes values ('kept')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let count: i64 = sqlx::query_scalar("select count(*) from notes")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test]
async fn a_query_cancelled_mid_flight_leaves_its_connection_usable(pool: PgPool) {
    let db = db_on(&pool, 1);

    let slow = sqlx::query("select pg_sleep(0.3)").execute(&db);
    assert!(
        tokio::time::timeout(Duration::from_millis(50), slow)
            .await
            .is_err(),
        "the slow query was cancelled"
    );

    let answer: i32 = sqlx::query_scalar("select 42")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(answer, 42, "no leftover answer of the cancelled query");
}

#[sqlx::test]
async fn a_connection_that_failed_is_replaced_not_reused(pool: PgPool) {
    let (proxy, db) = proxied(&pool).await;
    let before = backend_pid(&db).await;

    proxy.cut().await;
    let failed = sqlx::query("select 1").execute(&db).await;
    assert!(
        microshop_db::breaks_connection(&failed.unwrap_err()),
        "a cut connection is reported as unavailable"
    );
    proxy.restore().await;

    // Well within VERIFY_AFTER: only closing the failed connection lets this succeed.
    let after = backend_pid(&db).await;
    assert_ne!(before, after, "a fresh connection");
}

#[sqlx::test]
async fn a_connection_that_broke_while_idle_is_found_before_use(pool: PgPool) {
    let (proxy, db) = proxied(&pool).await;
    let before = backend_pid(&db).await;

    // The pooled connection dies while nobody uses it.
    proxy.cut().await;
    proxy.restore().await;
    tokio::time::sleep(VERIFY_AFTER + Duration::from_millis(100)).await;

    let after = backend_pid(&db).await;
    assert_ne!(before, after, "the dead connection was replaced before use");
}

#[sqlx::test]
async fn a_full_pool_answers_pool_timed_out_after_the_acquire_timeout(pool: PgPool) {
    let db = Db::new(
        (*pool.connect_options()).clone(),
        &DbConfig {
            max_connections: 1,
            acquire_timeout_ms: 100,
            ..DbConfig::default()
        },
    );
    let held = db.acquire().await.unwrap();

    let error = sqlx::query("select 1").execute(&db).await.unwrap_err();

    assert!(matches!(error, sqlx::Error::PoolTimedOut), "{error:?}");
    assert!(microshop_db::breaks_connection(&error));
    drop(held);
}

/// Whether the next statements on `db`'s (single) connection run inside a transaction that
/// was left open: `now()` is the transaction's start, so it only stands still inside one.
async fn transaction_left_open(db: &Db) -> bool {
    let mut conn = db.acquire().await.unwrap();
    let first: String = sqlx::query_scalar("select now()::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second: String = sqlx::query_scalar("select now()::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    first == second
}

#[sqlx::test]
async fn a_begin_cancelled_half_way_leaves_no_transaction_open(pool: PgPool) {
    let db = db_on(&pool, 1);
    backend_pid(&db).await; // one verified idle connection: acquiring it does not wait

    // Poll `begin` once and drop it: BEGIN is on its way, its answer never read. (When the
    // answer happens to arrive within that one poll, finish that transaction and try again: on a
    // busy two-core machine the server can answer inside the poll many times in a row.)
    let mut cut_off = false;
    for _ in 0..2_000 {
        match db.begin().now_or_never() {
            None => {
                cut_off = true;
                break;
            }
            Some(begun) => begun.unwrap().commit().await.unwrap(),
        }
    }
    assert!(cut_off, "a begin could not be cut off half-way");

    assert!(
        !transaction_left_open(&db).await,
        "a connection went back to the pool inside a transaction"
    );
}
