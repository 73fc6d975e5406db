//! Every connection carries the session limits, and what they and a fail-over produce is
//! classified once: transient (503 / retry), with the connection dropped when it is unusable.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use microshop_db::{Db, DbConfig, breaks_connection, is_transient};
use sqlx::{Connection, PgConnection, PgPool};

fn db_with(pool: &PgPool, config: &DbConfig) -> Db {
    Db::new((*pool.connect_options()).clone(), config)
}

fn one_connection() -> DbConfig {
    DbConfig {
        max_connections: 1,
        ..DbConfig::default()
    }
}

async fn setting(db: &Db, name: &str) -> String {
    sqlx::query_scalar("select current_setting($1)")
        .bind(name)
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test]
async fn every_connection_starts_with_the_configured_session_limits(pool: PgPool) {
    let db = db_with(
        &pool,
        &DbConfig {
            statement_timeout_ms: 4_000,
            lock_timeout_ms: 2_000,
            idle_in_transaction_timeout_ms: 9_000,
            ..one_connection()
        },
    );

    assert_eq!(setting(&db, "statement_timeout").await, "4s");
    assert_eq!(setting(&db, "lock_timeout").await, "2s");
    assert_eq!(
        setting(&db, "idle_in_transaction_session_timeout").await,
        "9s"
    );
}

#[sqlx::test]
async fn a_statement_over_its_limit_is_cancelled_and_transient(pool: PgPool) {
    let db = db_with(
        &pool,
        &DbConfig {
            statement_timeout_ms: 100,
            ..one_connection()
        },
    );

    let error = sqlx::query("select pg_sleep(5)")
        .execute(&db)
        .await
        .unwrap_err();

    assert!(is_transient(&error), "{error}");
    assert!(
        !breaks_connection(&error),
        "the connection is fine: {error}"
    );
    sqlx::query("select 1").execute(&db).await.unwrap();
}

#[sqlx::test]
async fn a_transaction_abandoned_on_a_server_that_became_read_only_drops_its_connection(
    pool: PgPool,
) {
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let admin = (*pool.connect_options()).clone().database("postgres");
    let mut admin = PgConnection::connect_with(&admin).await.unwrap();
    let read_only = |on: &str| {
        format!("alter database \"{database}\" set default_transaction_read_only = {on}")
    };
    sqlx::query(&read_only("on"))
        .execute(&mut admin)
        .await
        .unwrap();
    let db = db_with(&pool, &one_connection());
    let mut tx = db.begin().await.unwrap();

    let error = sqlx::query("create table written (id int)")
        .execute(&mut *tx)
        .await
        .unwrap_err();

    assert!(breaks_connection(&error), "{error}");
    drop(tx);
    sqlx::query(&read_only("off"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    sqlx::query("create table written (id int)")
        .execute(&mut *tx)
        .await
        .expect("the next transaction reaches a writable server");
    tx.commit().await.unwrap();
    admin.close().await.unwrap();
}

#[sqlx::test]
async fn a_lock_waited_for_beyond_the_limit_is_transient(pool: PgPool) {
    sqlx::query("create table things (id int primary key)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("insert into things values (1)")
        .execute(&pool)
        .await
        .unwrap();
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("select * from things where id = 1 for update")
        .execute(&mut *holder)
        .await
        .unwrap();
    let db = db_with(
        &pool,
        &DbConfig {
            lock_timeout_ms: 100,
            ..one_connection()
        },
    );

    let error = sqlx::query("update things set id = 2 where id = 1")
        .execute(&db)
        .await
        .unwrap_err();

    assert!(is_transient(&error), "{error}");
    holder.rollback().await.unwrap();
}

#[sqlx::test]
async fn a_transaction_left_idle_is_ended_by_the_server(pool: PgPool) {
    let db = db_with(
        &pool,
        &DbConfig {
            idle_in_transaction_timeout_ms: 100,
            ..one_connection()
        },
    );
    let mut tx = db.begin().await.unwrap();
    sqlx::query("select 1").execute(&mut *tx).await.unwrap();

    tokio::time::sleep(Duration::from_millis(500)).await;
    let error = sqlx::query("select 1").execute(&mut *tx).await.unwrap_err();

    assert!(is_transient(&error), "{error}");
    drop(tx);
    sqlx::query("select 1")
        .execute(&db)
        .await
        .expect("the pool opened a fresh connection");
}

#[sqlx::test]
async fn a_write_to_a_server_that_became_read_only_is_transient_and_its_connection_dropped(
    pool: PgPool,
) {
    // What a fail-over looks like to a connection still open to the old primary.
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let admin = (*pool.connect_options()).clone().database("postgres");
    let mut admin = PgConnection::connect_with(&admin).await.unwrap();
    let read_only = |on: bool| {
        format!(
            "alter database \"{database}\" set default_transaction_read_only = {}",
            if on { "on" } else { "off" }
        )
    };
    sqlx::query(&read_only(true))
        .execute(&mut admin)
        .await
        .unwrap();
    let db = db_with(&pool, &one_connection());

    let error = sqlx::query("create table written (id int)")
        .execute(&db)
        .await
        .unwrap_err();

    assert!(is_transient(&error), "{error}");
    assert!(breaks_connection(&error), "{error}");
    sqlx::query(&read_only(false))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("create table written (id int)")
        .execute(&db)
        .await
        .expect("the next connection reaches a writable server");
    admin.close().await.unwrap();
}
