//! Placing orders and following them to CONFIRMED or REJECTED.

use futures::future::join_all;
use microshop_events::{
    Envelope, Event, ShortLine, StockLine, StockRejected, StockReserved, Topology,
};
use microshop_messaging::{OutgoingMessage, Publisher};
use microshop_testkit::{checks, eventually, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{Options, Shop, customer};

#[sqlx::test]
async fn the_seed_walkthrough_confirms_the_order_and_takes_the_stock(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let user = shop.user("ann");
    let product = shop.product(50).await;

    let response = shop.order(user, product, 3).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order = json(response).await;
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["unit_price"], 12999.0);
    assert_eq!(order["total_price"], 38997.0);

    let settled = shop.settled(order["id"].as_i64().unwrap()).await;
    assert_eq!(settled["status"], "CONFIRMED");
    assert_eq!(shop.stock(product).await, 47);
    let listed = json(
        shop.orders
            .client
            .get_as("/api/orders", &customer(user))
            .await,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["user_id"], user);
    let metrics = shop
        .orders
        .client
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"orders_total{status="CONFIRMED",service="order-service"} 1"#),
        "{metrics}"
    );
}

#[sqlx::test]
async fn another_buyer_is_403_unknown_products_422_and_too_many_units_409(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let user = shop.user("bob");
    let product = shop.product(2).await;

    let body = json!({"user_id": 4242, "product_id": product, "quantity": 1});
    let response = shop
        .orders
        .client
        .post_json_as("/api/orders", &body, &customer(user))
        .await;
    let body = checks::assert_error(response, StatusCode::FORBIDDEN, "another buyer").await;
    assert_eq!(body["error"]["code"], "buyer_mismatch");
    // Naming oneself is fine (the seed's clients send user_id).
    let body = json!({"user_id": user, "product_id": product, "quantity": 1});
    let response = shop
        .orders
        .client
        .post_json_as("/api/orders", &body, &customer(user))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let placed = json(response).await;
    assert_eq!(
        shop.settled(placed["id"].as_i64().unwrap()).await["status"],
        "CONFIRMED"
    );
    let pool_orders = || async {
        let orders: i64 = sqlx::query_scalar("select count(*) from orders")
            .fetch_one(&pool)
            .await
            .unwrap();
        let events: i64 = sqlx::query_scalar("select count(*) from outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
        (orders, events)
    };
    let before = pool_orders().await;

    let response = shop.order(user, 4343, 1).await;
    let body = checks::assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown product",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "product 4343 does not exist or is no longer sold"
    );

    let response = shop.order(user, product, 3).await;
    let body = checks::assert_error(response, StatusCode::CONFLICT, "too many").await;
    assert_eq!(body["error"]["code"], "out_of_stock");
    assert_eq!(
        body["error"]["message"],
        format!("only 1 left of product {product}, 3 requested")
    );
    assert_eq!(
        pool_orders().await,
        before,
        "a refused order writes nothing"
    );
}

#[sqlx::test]
async fn fifty_concurrent_orders_for_ten_units_confirm_exactly_ten(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let product = shop.product(10).await;
    let buyers: Vec<i64> = (0..50).map(|_| shop.user("one of the crowd")).collect();

    let responses = join_all(buyers.iter().map(|&user| shop.order(user, product, 1))).await;

    let accepted = responses
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    let refused = responses
        .iter()
        .filter(|r| r.status() == StatusCode::CONFLICT)
        .count();
    assert_eq!(accepted + refused, 50, "every answer is 201 or 409");
    let statuses = shop.settled_statuses().await;
    let count = |status: &str| {
        statuses
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(count("CONFIRMED"), 10, "{statuses:?}");
    assert_eq!(
        count("REJECTED") + i64::try_from(refused).unwrap(),
        40,
        "{statuses:?}"
    );
    assert_eq!(shop.stock(product).await, 0);
}

#[sqlx::test]
async fn malformed_orders_are_4xx_and_store_nothing(pool: PgPool) {
    let shop = Shop::start(pool.clone()).await;
    let cases = [
        (
            json!({"user_id": 1, "product_id": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 1, "product_id": 1, "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 1, "product_id": 1, "quantity": 10_001}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 1, "product_id": 1, "quantity": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": "abc", "product_id": 1, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // The schema says integer: a string of digits is not one.
        (
            json!({"user_id": "1", "product_id": 1, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 1, "product_id": 1, "quantity": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 1, "product_id": 1, "quantity": 1, "request_id": "has space"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 0, "product_id": 1, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 1, "product_id": 1, "quantity": 1, "coupon": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"user_id": 1, "product_id": 1, "quantity": 1, "request_id": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    let client = shop.orders.client.authorized(&customer(1));
    for (body, expected) in cases {
        let response = client.post_json("/api/orders", &body).await;
        checks::assert_error(response, expected, &body.to_string()).await;
    }
    checks::assert_bad_ids_rejected(&client, "/api/orders").await;
    checks::assert_bad_paging_rejected(&client, "/api/orders").await;
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(orders, 0);
}

#[sqlx::test]
async fn a_stock_event_for_an_unknown_order_is_dead_lettered_and_its_batch_neighbours_apply(
    pool: PgPool,
) {
    // No product consumer: the test answers for the product service itself.
    let shop = Shop::start_with(
        pool,
        Options {
            product_args: &["--amqp-consume", "false"],
            ..Options::default()
        },
    )
    .await;
    let user = shop.user("ann");
    let product = shop.product(50).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let order = json(shop.order(user, product, 1).await).await;
        ids.push(order["id"].as_i64().unwrap());
    }
    let reserved = |order_id| {
        Envelope::new(Event::StockReserved(StockReserved {
            order_id,
            items: vec![StockLine {
                product_id: product,
                quantity: 1,
                remaining: 49,
            }],
        }))
    };
    let unknown = reserved(999_999);
    let replies = [
        reserved(ids[0]),
        unknown.clone(),
        Envelope::new(Event::StockRejected(StockRejected {
            order_id: ids[1],
            reason: "only 0 left".into(),
            lines: vec![ShortLine {
                product_id: product,
                requested: 1,
                available: 0,
                reason: "only 0 left".into(),
            }],
        })),
    ];
    let messages: Vec<_> = replies.iter().map(OutgoingMessage::from_envelope).collect();

    Publisher::new(
        shop.broker.broker.clone(),
        shop.broker.topology.product_events(),
    )
    .publish(&messages)
    .await
    .unwrap();

    assert_eq!(shop.settled(ids[0]).await["status"], "CONFIRMED");
    assert_eq!(shop.settled(ids[1]).await["status"], "REJECTED");
    let dlq = Topology::dlq_of(&shop.broker.topology.order_product_events());
    eventually("the unknown order's event is dead-lettered", async || {
        shop.broker.depth(&dlq).await == 1
    })
    .await;
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from processed_events where event_id = $1")
            .bind(unknown.id)
            .fetch_one(&shop.order_pool)
            .await
            .unwrap();
    assert_eq!(
        recorded, 0,
        "a dead-lettered event must apply when replayed"
    );
}

#[sqlx::test]
async fn a_price_change_leaves_orders_already_taken_as_they_were(pool: PgPool) {
    let shop = Shop::start(pool).await;
    let user = shop.user("ann");
    let product = shop.product(50).await;
    let placed = json(shop.order(user, product, 2).await).await;
    let id = placed["id"].as_i64().unwrap();
    assert_eq!(shop.settled(id).await["status"], "CONFIRMED");

    let changed = shop
        .products()
        .client
        .send_as(
            reqwest::Method::PATCH,
            &format!("/api/products/{product}"),
            Some(&crate::helpers::admin()),
            Some(&json!({"price": 5.0})),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);

    let order = json(shop.get(&format!("/api/orders/{id}")).await).await;
    assert_eq!(order["unit_price"], 12999.0);
    assert_eq!(order["total_price"], 25998.0);
    // The order service prices from its read model, which product.updated brings up to date
    // within moments; the next order after that is taken at the new price.
    microshop_testkit::eventually("the order service knows the new price", async || {
        let price: Option<i64> =
            sqlx::query_scalar("select price_cents from products where id = $1")
                .bind(product)
                .fetch_optional(&shop.order_pool)
                .await
                .unwrap();
        price == Some(500)
    })
    .await;
    let next = json(shop.order(user, product, 2).await).await;
    assert_eq!(next["unit_price"], 5.0);
    assert_eq!(next["total_price"], 10.0);
}
