//! What stock changes announce (`product.stock.updated`, `inventory.low_stock` once per
//! crossing), whoever makes them, and the list of products low on stock.

use microshop_events::Event;
use microshop_testkit::{TestBroker, checks, eventually, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{answers, drain};
use crate::helpers::{admin, product_with_threshold, spawn_app, spawn_app_with_broker};
use crate::saga::{cancelled, message, order, product_with_stock, publish};

/// Every event published once the outbox is empty (all of it confirmed by the broker).
async fn published(pool: &PgPool, broker: &TestBroker, mut events: Vec<Event>) -> Vec<Event> {
    eventually("the outbox is published", async || {
        sqlx::query_scalar::<_, i64>("select count(*) from outbox")
            .fetch_one(pool)
            .await
            .unwrap()
            == 0
    })
    .await;
    events.extend(drain(broker).await);
    events
}

#[sqlx::test]
async fn every_stock_change_is_announced_and_each_crossing_of_the_threshold_once(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;
    let admin = admin(&app);
    let path = format!("/api/inventory/{product}");
    let put = async |body: Value| {
        let response = admin.send_as(Method::PUT, &path, None, Some(&body)).await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        json(response).await
    };
    let post = async |kind: &str, quantity: i64, reference: &str| {
        let body = json!({"product_id": product, "quantity": quantity, "reference": reference});
        let response = admin
            .post_json(&format!("/api/inventory/{kind}"), &body)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{kind} {quantity}");
    };

    put(json!({"low_stock_threshold": 10})).await; // 50 > 10: nothing to announce
    post("deduct", 45, "a").await; // 5: crosses
    post("deduct", 1, "b").await; // 4: still below, no second alert
    post("deduct", 1, "b").await; // a replay changes nothing
    post("restore", 20, "c").await; // 24: back above
    post("deduct", 20, "d").await; // 4: crosses again
    let shown = put(json!({"stock": 30})).await; // 30: above
    assert_eq!(shown["low_stock"], false);
    let shown = put(json!({"low_stock_threshold": 40})).await; // the threshold crosses
    assert_eq!(shown["low_stock"], true);
    publish(&broker, &[message(&order(1, product, 1))]).await; // 29 by the saga
    let events = answers(&broker, 1).await;

    let events = published(&pool, &broker, events).await;
    let updates: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ProductStockUpdated(u) => {
                assert_eq!(u.product_id, product);
                Some((u.stock, u.delta, u.cause.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        updates,
        [
            (5, -45, "deduct"),
            (4, -1, "deduct"),
            (24, 20, "restore"),
            (4, -20, "deduct"),
            (30, 26, "set"),
            (29, -1, "order"),
        ]
    );
    let alerts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::InventoryLowStock(low) => Some((low.stock, low.threshold)),
            _ => None,
        })
        .collect();
    assert_eq!(alerts, [(5, 10), (4, 10), (30, 40)]);
}

#[sqlx::test]
async fn a_batch_of_orders_announces_each_product_once_and_a_release_announces_the_return(
    pool: PgPool,
) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_threshold(&pool, 10, 2).await;
    let orders: Vec<_> = (1..=10).map(|id| message(&order(id, product, 1))).collect();

    publish(&broker, &orders).await;
    let events = published(&pool, &broker, answers(&broker, 10).await).await;

    let updates: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ProductStockUpdated(u) => Some((u.stock, u.delta)),
            _ => None,
        })
        .collect();
    // However the consumer batched them, the deltas add up and the last stock is the real one.
    assert_eq!(updates.iter().map(|(_, delta)| delta).sum::<i64>(), -10);
    assert_eq!(updates.last().unwrap().0, 0);
    assert!(updates.len() <= 10, "{updates:?}");
    let alerts = events
        .iter()
        .filter(|e| matches!(e, Event::InventoryLowStock(_)))
        .count();
    assert_eq!(alerts, 1, "{events:?}");

    publish(&broker, &[message(&cancelled(1, product, 1))]).await;
    let mut events = Vec::new();
    eventually("the stock is released", async || {
        events.extend(drain(&broker).await);
        events.iter().any(|e| matches!(e, Event::StockReleased(_)))
    })
    .await;
    let events = published(&pool, &broker, events).await;
    let announced: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ProductStockUpdated(u) => Some((u.stock, u.delta, u.cause.as_str())),
            Event::InventoryLowStock(_) => panic!("still low, no new alert: {events:?}"),
            _ => None,
        })
        .collect();
    assert_eq!(announced, [(1, 1, "release")]);
}

#[sqlx::test]
async fn alerts_list_exactly_the_products_at_or_below_their_threshold(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let below = product_with_threshold(&pool, 5, 10).await;
    let at = product_with_threshold(&pool, 10, 10).await;
    let _above = product_with_threshold(&pool, 11, 10).await;
    let sold_out = product_with_threshold(&pool, 0, 0).await;
    let _plenty = product_with_threshold(&pool, 1, 0).await;
    let admin = admin(&app);

    let listed = json(admin.get("/api/inventory/alerts").await).await;
    let ids: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|level| level["product_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [below, at, sold_out]);
    assert_eq!(
        listed[0],
        json!({"product_id": below, "stock": 5, "reserved": 0, "available": 5,
               "low_stock_threshold": 10, "low_stock": true})
    );
    let second = json(admin.get("/api/inventory/alerts?limit=1&offset=1").await).await;
    assert_eq!(second[0]["product_id"], at);
    assert_eq!(second.as_array().unwrap().len(), 1);
    checks::assert_bad_paging_rejected(&admin, "/api/inventory/alerts").await;
}
