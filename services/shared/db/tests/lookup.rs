//! Coalesced reads by id against the real PostgreSQL: concurrent reads share queries and each
//! still gets its own row, a lone read goes out at once, and a failed batch leaves each caller
//! with its own answer.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::join_all;
use microshop_db::{Db, DbConfig, Lookup};
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct Item {
    id: i64,
    label: String,
}

async fn items(pool: &PgPool, count: i64) -> Db {
    sqlx::query("create table items (id bigint primary key, label text not null)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("insert into items select n, 'item ' || n from generate_series(1, $1) n")
        .bind(count)
        .execute(pool)
        .await
        .unwrap();
    Db::new(
        (*pool.connect_options()).clone(),
        &DbConfig {
            max_connections: 8,
            acquire_timeout_ms: 3_000,
            ..DbConfig::default()
        },
    )
}

/// A lookup on `items` that counts its queries, and fails those for several ids if
/// `fail_batches`.
fn lookup(db: &Db, queries: &Arc<AtomicUsize>, fail_batches: bool) -> Lookup<Item> {
    let (one_queries, many_queries) = (Arc::clone(queries), Arc::clone(queries));
    Lookup::new(
        db.clone(),
        |item: &Item| item.id,
        move |db, id| {
            one_queries.fetch_add(1, Ordering::SeqCst);
            async move {
                sqlx::query_as::<_, Item>("select id, label from items where id = $1")
                    .bind(id)
                    .fetch_optional(&db)
                    .await
            }
        },
        move |db, ids| {
            many_queries.fetch_add(1, Ordering::SeqCst);
            async move {
                if fail_batches && ids.len() > 1 {
                    // As if the batch's connection died mid-query.
                    return Err(sqlx::Error::PoolTimedOut);
                }
                sqlx::query_as::<_, Item>("select id, label from items where id = any($1)")
                    .bind(ids)
                    .fetch_all(&db)
                    .await
            }
        },
    )
}

#[sqlx::test]
async fn concurrent_reads_share_queries_and_each_gets_its_own_row(pool: PgPool) {
    let db = items(&pool, 100).await;
    let queries = Arc::new(AtomicUsize::new(0));
    let lookup = lookup(&db, &queries, false);
    // 200 reads at once: every id twice, plus ids that do not exist.
    let ids: Vec<i64> = (1..=100).chain(1..=100).chain([0, 1_000, -5]).collect();

    let answers = join_all(ids.iter().map(|&id| {
        let lookup = lookup.clone();
        async move { (id, lookup.get(id).await.unwrap()) }
    }))
    .await;

    for (id, answer) in answers {
        if (1..=100).contains(&id) {
            assert_eq!(
                answer,
                Some(Item {
                    id,
                    label: format!("item {id}")
                })
            );
        } else {
            assert_eq!(answer, None, "id {id}");
        }
    }
    let queries = queries.load(Ordering::SeqCst);
    assert!(
        queries < ids.len() / 2,
        "{queries} queries for {} reads",
        ids.len()
    );
}

#[sqlx::test]
async fn a_lone_read_goes_out_at_once_and_sees_what_was_just_written(pool: PgPool) {
    let db = items(&pool, 3).await;
    let queries = Arc::new(AtomicUsize::new(0));
    let lookup = lookup(&db, &queries, false);

    for id in 1..=3 {
        assert_eq!(lookup.get(id).await.unwrap().unwrap().id, id);
    }
    sqlx::query("insert into items values (4, 'fresh')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(lookup.get(4).await.unwrap().unwrap().label, "fresh");

    assert_eq!(
        queries.load(Ordering::SeqCst),
        4,
        "one query per sequential read"
    );
}

#[sqlx::test]
async fn when_a_batch_fails_each_caller_reads_alone(pool: PgPool) {
    let db = items(&pool, 50).await;
    let queries = Arc::new(AtomicUsize::new(0));
    let lookup = lookup(&db, &queries, true);

    let answers = join_all((1..=50).map(|id| {
        let lookup = lookup.clone();
        async move { lookup.get(id).await.unwrap().map(|item| item.id) }
    }))
    .await;

    assert_eq!(answers, (1..=50).map(Some).collect::<Vec<_>>());
}
