//! `order.shipped` and `order.delivered` through the real RabbitMQ: fulfilled reservations and
//! verified purchases, each applied once.

use microshop_events::{
    Envelope, Event, OrderCancelled, OrderDelivered, OrderLine, OrderShipped, Topology,
};
use microshop_testkit::{TestApp, TestBroker, eventually};
use serde_json::json;
use sqlx::PgPool;

use super::{list, post};
use crate::helpers::{metric, spawn_app_with_broker};
use crate::saga::{message, order, product_with_stock, publish, stock_of};

fn delivered(order_id: i64, user_id: i64, products: &[i64]) -> Envelope {
    Envelope::new(Event::OrderDelivered(OrderDelivered {
        order_id,
        user_id,
        items: lines(products),
    }))
}

fn shipped(order_id: i64, user_id: i64, products: &[i64]) -> Envelope {
    Envelope::new(Event::OrderShipped(OrderShipped {
        order_id,
        user_id,
        items: lines(products),
        tracking_number: "1Z999AA10123456784".into(),
    }))
}

fn cancelled(order_id: i64, product_id: i64, quantity: i64) -> Envelope {
    Envelope::new(Event::OrderCancelled(OrderCancelled {
        order_id,
        user_id: Some(1),
        items: vec![OrderLine {
            product_id,
            quantity,
        }],
        reason: "the buyer changed their mind".into(),
        refund: true,
    }))
}

fn lines(products: &[i64]) -> Vec<OrderLine> {
    products
        .iter()
        .map(|&product_id| OrderLine {
            product_id,
            quantity: 1,
        })
        .collect()
}

async fn reservation_status(pool: &PgPool, order_id: i64) -> String {
    sqlx::query_scalar("select status from stock_reservations where order_id = $1")
        .bind(order_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_delivery_reported_after_the_review_verifies_the_purchase(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 5).await;
    let other = product_with_stock(&pool, 5).await;
    post(&app, 7, product, &json!({"rating": 5, "text": "Arrived!"})).await;
    post(
        &app,
        8,
        product,
        &json!({"rating": 1, "text": "Never bought it"}),
    )
    .await;

    publish(&broker, &[message(&delivered(1, 7, &[product, other]))]).await;

    eventually("user 7's review is verified", async || {
        let listed = list(&app, product).await;
        listed
            .iter()
            .any(|r| r["user_id"] == 7 && r["verified_purchase"] == true)
    })
    .await;
    let listed = list(&app, product).await;
    let by_8 = listed.iter().find(|r| r["user_id"] == 8).unwrap();
    assert_eq!(
        by_8["verified_purchase"], false,
        "another buyer's delivery verifies nothing"
    );
    let later = post(&app, 7, other, &json!({"rating": 4})).await;
    assert_eq!(
        later["verified_purchase"], true,
        "a review after the delivery is verified"
    );
}

async fn consumed(app: &TestApp, broker: &TestBroker, outcome: &str) -> u64 {
    let queue = format!("queue=\"{}\"", broker.topology.product_order_events());
    metric(
        app,
        "events_consumed_total{",
        &[&queue, &format!("outcome=\"{outcome}\"")],
    )
    .await
}

#[sqlx::test]
async fn a_redelivered_order_delivered_event_changes_nothing(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 5).await;
    // Order 1's reservation is still held: its order.shipped was missed. Written as a pod of
    // the previous version writes it (no lines): the migration's trigger gives it its line.
    sqlx::query(
        "insert into stock_reservations (order_id, product_id, quantity) values (1, $1, 1)",
    )
    .bind(product)
    .execute(&pool)
    .await
    .unwrap();
    let event = delivered(1, 7, &[product]);

    publish(&broker, &[message(&event), message(&event)]).await;

    eventually(
        "the delivery is applied once and its copy seen as a duplicate",
        async || {
            consumed(&app, &broker, "applied").await == 1
                && consumed(&app, &broker, "duplicate").await == 1
        },
    )
    .await;
    let purchases: Vec<(i64, i64, i64)> =
        sqlx::query_as("select user_id, product_id, order_id from purchases")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(purchases, [(7, product, 1)]);
    assert_eq!(reservation_status(&pool, 1).await, "fulfilled");
    let line: String =
        sqlx::query_scalar("select status from stock_reservation_lines where order_id = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(line, "fulfilled", "the line follows its reservation");
    assert_eq!(metric(&app, "purchases_recorded_total", &[]).await, 1);
    assert_eq!(
        metric(
            &app,
            "stock_reservations_total{",
            &["outcome=\"fulfilled\""]
        )
        .await,
        1
    );
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());
    assert_eq!(broker.depth(&dlq).await, 0);
}

#[sqlx::test]
async fn a_shipped_order_fulfils_its_reservation_and_a_late_cancellation_gives_nothing_back(
    pool: PgPool,
) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    publish(&broker, &[message(&order(1, product, 3))]).await;
    eventually("order 1's stock is held", async || {
        sqlx::query_scalar::<_, String>("select status from stock_reservations where order_id = 1")
            .fetch_optional(&pool)
            .await
            .unwrap()
            .is_some_and(|status| status == "held")
    })
    .await;

    publish(&broker, &[message(&shipped(1, 1, &[product]))]).await;
    eventually("the reservation is fulfilled", async || {
        reservation_status(&pool, 1).await == "fulfilled"
    })
    .await;
    assert_eq!(
        stock_of(&pool, product).await,
        7,
        "shipping does not move stock again"
    );

    publish(&broker, &[message(&cancelled(1, product, 3))]).await;
    eventually("the cancellation is consumed", async || {
        consumed(&app, &broker, "applied").await == 3
    })
    .await;
    assert_eq!(
        stock_of(&pool, product).await,
        7,
        "shipped units do not come back"
    );
    assert_eq!(reservation_status(&pool, 1).await, "fulfilled");
    assert_eq!(
        metric(
            &app,
            "stock_reservations_total{",
            &["outcome=\"fulfilled\""]
        )
        .await,
        1
    );
}
