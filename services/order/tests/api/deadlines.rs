//! An order is answered with what happened to it: a request cut off at its deadline before it
//! committed changed nothing (503, try again), and one whose commit had started is never told to
//! try again, however long the commit takes.

use microshop_testkit::{eventually, json, scenarios};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{Options, Shop};

/// Makes every order insert (`deferred`: every commit of one) take `seconds` longer.
async fn slow_orders(pool: &PgPool, deferred: bool, seconds: f64) {
    sqlx::query(&format!(
        "create function slow_down() returns trigger language plpgsql as
         $$ begin perform pg_sleep({seconds}); return null; end $$"
    ))
    .execute(pool)
    .await
    .unwrap();
    let when = if deferred {
        "constraint trigger slow after insert on orders deferrable initially deferred"
    } else {
        "trigger slow after insert on orders"
    };
    sqlx::query(&format!(
        "create {when} for each row execute function slow_down()"
    ))
    .execute(pool)
    .await
    .unwrap();
}

async fn short_deadline_shop(pool: PgPool) -> Shop {
    Shop::start_with(
        pool,
        Options {
            order_args: &["--request-timeout-ms", "500"],
            ..Options::default()
        },
    )
    .await
}

#[sqlx::test]
async fn an_order_whose_commit_outlasts_the_deadline_is_answered_created(pool: PgPool) {
    let shop = short_deadline_shop(pool.clone()).await;
    let user = shop.user("slow-commit");
    let product = shop.product(10).await;
    slow_orders(&pool, true, 1.0).await;

    let response = shop.order(user, product, 1).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let id = json(response).await["id"].as_i64().unwrap();
    assert_eq!(shop.settled(id).await["status"], "CONFIRMED");
}

#[sqlx::test]
async fn an_order_whose_connection_breaks_during_its_commit_is_answered_created(pool: PgPool) {
    let (proxy, db) = scenarios::proxied_db(&pool).await;
    let shop = Shop::start_with(
        pool.clone(),
        Options {
            order_db: Some(db),
            ..Options::default()
        },
    )
    .await;
    let user = shop.user("broken-commit");
    let product = shop.product(10).await;
    slow_orders(&pool, true, 1.0).await;

    let ordering = shop.order(user, product, 1);
    let breaking = async {
        // The commit is under way (its deferred trigger sleeps): cut it off from its client.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        proxy.cut().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        proxy.restore().await;
    };
    let (response, ()) = tokio::join!(ordering, breaking);

    // PostgreSQL finished the commit without its client; the service found out it did.
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = json(response).await["id"].as_i64().unwrap();
    let stored: i64 = sqlx::query_scalar("select count(*) from orders where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[sqlx::test]
async fn an_order_cut_off_before_its_commit_is_503_and_leaves_nothing(pool: PgPool) {
    let shop = short_deadline_shop(pool.clone()).await;
    let user = shop.user("slow-insert");
    let product = shop.product(10).await;
    slow_orders(&pool, false, 1.0).await;

    let response = shop.order(user, product, 1).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(response).await["error"]["code"], "timeout");
    // The cancelled transaction is rolled back in the background.
    eventually("no order and no event were written", async || {
        let rows: i64 = sqlx::query_scalar(
            "select (select count(*) from orders) + (select count(*) from outbox)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        rows == 0
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 0, "and none appears later");
}
