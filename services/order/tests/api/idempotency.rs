//! Retried order requests never create a second order.

use futures::future::join_all;
use microshop_testkit::{checks, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{Options, Shop, customer};

#[sqlx::test]
async fn the_same_key_posted_twenty_times_at_once_creates_one_order(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let user = shop.user("retry");
    let product = shop.product(50).await;
    let body = json!({"user_id": user, "product_id": product, "quantity": 2});
    let url = format!("{}/api/orders", shop.orders.client.base_url());

    let responses = join_all((0..20).map(|_| {
        shop.orders
            .client
            .http()
            .post(&url)
            .header("Idempotency-Key", "checkout-42")
            .bearer_auth(customer(user))
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
    let user = shop.user("replay");
    let product = shop.product(50).await;
    let first = json!({"user_id": user, "product_id": product, "quantity": 1, "request_id": "r-1"});

    let client = shop.orders.client.authorized(&customer(user));
    let created = client.post_json("/api/orders", &first).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.headers().get("idempotent-replayed").is_none());
    let created = json(created).await;

    let again = client.post_json("/api/orders", &first).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        json(again).await,
        created,
        "the stored response is replayed as it was"
    );

    let different =
        json!({"user_id": user, "product_id": product, "quantity": 5, "request_id": "r-1"});
    let response = client.post_json("/api/orders", &different).await;
    let body = checks::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "reused key").await;
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
}

#[sqlx::test]
async fn a_key_is_its_callers_own(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let (ann, bob) = (shop.user("ann"), shop.user("bob"));
    let product = shop.product(50).await;
    let body = json!({"product_id": product, "quantity": 1, "request_id": "cart-1"});

    let ann_order = json(
        shop.orders
            .client
            .post_json_as("/api/orders", &body, &customer(ann))
            .await,
    )
    .await;
    // Bob's request under the same key is his own first request: a new order, his.
    let response = shop
        .orders
        .client
        .post_json_as("/api/orders", &body, &customer(bob))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("idempotent-replayed").is_none());
    let bob_order = json(response).await;
    assert_eq!(bob_order["user_id"], bob);
    assert_ne!(bob_order["id"], ann_order["id"]);
    // Bob's retry replays his order, not Ann's.
    let again = shop
        .orders
        .client
        .post_json_as("/api/orders", &body, &customer(bob))
        .await;
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(json(again).await["id"], bob_order["id"]);
    let keys: i64 =
        sqlx::query_scalar("select count(*) from idempotency_keys where key = 'cart-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(keys, 2);
}

#[sqlx::test]
async fn an_expired_key_no_longer_counts_and_is_swept_away(pool: PgPool) {
    let options = Options {
        order_args: &["--idempotency-key-ttl", "2s"],
        ..Options::default()
    };
    let shop = Shop::start_with(pool.clone(), options).await;
    let user = shop.user("patient");
    let product = shop.product(50).await;
    let client = shop.orders.client.authorized(&customer(user));
    let body = json!({"product_id": product, "quantity": 1, "request_id": "weekly"});
    let first = json(client.post_json("/api/orders", &body).await).await;
    let replayed = client.post_json("/api/orders", &body).await;
    assert_eq!(
        replayed.headers().get("idempotent-replayed").unwrap(),
        "true"
    );

    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let response = client.post_json("/api/orders", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("idempotent-replayed").is_none());
    assert_ne!(json(response).await["id"], first["id"], "a new order");
    // The overdue sweep deletes keys once they expire.
    microshop_testkit::eventually("the expired key is deleted", async || {
        let keys: i64 = sqlx::query_scalar("select count(*) from idempotency_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
        keys == 0
    })
    .await;
}
