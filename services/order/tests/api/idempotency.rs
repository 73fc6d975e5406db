//! Retried order requests never create a second order.

use futures::future::join_all;
use microshop_testkit::{checks, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::Shop;

#[sqlx::test]
async fn the_same_key_posted_twenty_times_at_once_creates_one_order(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let user = shop.user("retry@example.com").await;
    let product = shop.product(50).await;
    let body = json!({"user_id": user, "product_id": product, "quantity": 2});
    let url = format!("{}/api/orders", shop.orders.client.base_url());

    let responses = join_all((0..20).map(|_| {
        shop.orders
            .client
            .http()
            .post(&url)
            .header("Idempotency-Key", "checkout-42")
            .json(&body)
            .send()
    }))
    .await;

    let mut ids = Vec::new();
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(json(response).await["id"].as_i64().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the same order");
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 1);
    assert_eq!(shop.settled(ids[0]).await["status"], "CONFIRMED");
    assert_eq!(shop.stock(product).await, 48, "stock is taken once");
}

#[sqlx::test]
async fn a_replay_is_marked_and_a_reused_key_with_another_body_is_422(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let user = shop.user("replay@example.com").await;
    let product = shop.product(50).await;
    let first = json!({"user_id": user, "product_id": product, "quantity": 1, "request_id": "r-1"});

    let created = shop.orders.client.post_json("/api/orders", &first).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.headers().get("idempotent-replayed").is_none());
    let created = json(created).await;

    let again = shop.orders.client.post_json("/api/orders", &first).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        json(again).await,
        created,
        "the stored response is replayed as it was"
    );

    let different =
        json!({"user_id": user, "product_id": product, "quantity": 5, "request_id": "r-1"});
    let response = shop
        .orders
        .client
        .post_json("/api/orders", &different)
        .await;
    let body = checks::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "reused key").await;
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
}
