//! The stock side of the order saga, through the real RabbitMQ: order events in, stock changes
//! and `stock.*` events out, exactly once.

use futures::future::join_all;
use microshop_events::{Envelope, Event, OrderCreated, Topology};
use microshop_messaging::{OutgoingMessage, Publisher};
use microshop_testkit::{ServiceProcess, TestBroker, eventually, json};
use sqlx::{ConnectOptions, PgPool};

use crate::helpers::spawn_app_with_broker;

fn order(order_id: i64, product_id: i64, quantity: i64) -> Envelope {
    Envelope::new(Event::OrderCreated(OrderCreated {
        order_id,
        user_id: 1,
        product_id,
        quantity,
        unit_price_cents: 1000,
        total_price_cents: 1000 * quantity,
    }))
}

fn message(envelope: &Envelope) -> OutgoingMessage {
    OutgoingMessage::from_envelope(envelope)
}

async fn publish(broker: &TestBroker, messages: &[OutgoingMessage]) {
    Publisher::new(broker.broker.clone(), broker.topology.order_events())
        .publish(messages)
        .await
        .expect("broker confirms");
}

async fn product_with_stock(pool: &PgPool, stock: i64) -> i64 {
    sqlx::query_scalar(
        "insert into products (name, price_cents, stock) values ('Widget', 1000, $1) returning id",
    )
    .bind(stock)
    .fetch_one(pool)
    .await
    .expect("insert a product")
}

async fn stock_of(pool: &PgPool, id: i64) -> i64 {
    sqlx::query_scalar("select stock from products where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("read stock")
}

/// Takes every `stock.*` reply the service published, waiting until `count` arrived.
async fn replies(broker: &TestBroker, count: usize) -> Vec<Event> {
    let queue = broker.topology.order_product_events();
    let mut events = Vec::new();
    eventually(&format!("{count} replies arrive"), async || {
        while let Some(message) = broker.take(&queue).await {
            events.push(
                Envelope::from_json(&message.delivery.data)
                    .expect("replies are events")
                    .event,
            );
        }
        events.len() >= count
    })
    .await;
    assert_eq!(
        events.len(),
        count,
        "expected {count} replies, got {events:?}"
    );
    events
}

#[sqlx::test]
async fn an_order_reserves_stock_and_the_reply_says_what_is_left(pool: PgPool) {
    let (app, broker) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;

    publish(&broker, &[message(&order(1, product, 3))]).await;

    let events = replies(&broker, 1).await;
    assert!(
        matches!(&events[0], Event::StockReserved(r) if r.order_id == 1 && r.remaining == 47),
        "{events:?}"
    );
    let shown = json(app.client.get(&format!("/api/products/{product}")).await).await;
    assert_eq!(shown["stock"], 47);
}

#[sqlx::test]
async fn the_same_order_event_delivered_twice_takes_stock_once(pool: PgPool) {
    let (_app, broker) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    let event = order(1, product, 4);

    publish(&broker, &[message(&event), message(&event)]).await;

    let queue = broker.topology.product_order_events();
    eventually("both deliveries are consumed", async || {
        broker.depth(&queue).await == 0
    })
    .await;
    assert_eq!(replies(&broker, 1).await.len(), 1);
    assert_eq!(stock_of(&pool, product).await, 6);
}

#[sqlx::test]
async fn a_second_event_for_an_order_already_reserved_is_dead_lettered_not_retried_forever(
    pool: PgPool,
) {
    let (_app, broker) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    // Order 1 twice under different event ids (a foreign publisher, a bug upstream): the
    // second would take stock again; its reservation row collides and it must go to the DLQ
    // instead of blocking the queue in a retry loop.
    let first = order(1, product, 2);
    let conflicting = order(1, product, 2);
    let behind: Vec<_> = (2..=4).map(|id| order(id, product, 1)).collect();
    let mut messages = vec![message(&first), message(&conflicting)];
    messages.extend(behind.iter().map(message));

    publish(&broker, &messages).await;

    let events = replies(&broker, 4).await;
    assert!(
        events.iter().all(|e| matches!(e, Event::StockReserved(_))),
        "{events:?}"
    );
    assert_eq!(
        stock_of(&pool, product).await,
        10 - 2 - 3,
        "order 1 took stock once"
    );
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());
    eventually("the conflicting event is dead-lettered", async || {
        broker.depth(&dlq).await == 1
    })
    .await;
}

#[sqlx::test]
async fn fifty_orders_for_ten_units_reserve_exactly_ten(pool: PgPool) {
    let (_app, broker) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    let orders: Vec<_> = (1..=50).map(|id| order(id, product, 1)).collect();

    // Published concurrently from several channels, as several order-service replicas would.
    join_all(orders.chunks(10).map(|chunk| {
        let messages: Vec<_> = chunk.iter().map(message).collect();
        let broker = &broker;
        async move { publish(broker, &messages).await }
    }))
    .await;

    let events = replies(&broker, 50).await;
    let reserved = events
        .iter()
        .filter(|e| matches!(e, Event::StockReserved(_)))
        .count();
    let rejected = events
        .iter()
        .filter(|e| matches!(e, Event::StockRejected(_)))
        .count();
    assert_eq!((reserved, rejected), (10, 40));
    assert_eq!(stock_of(&pool, product).await, 0);
    let reservations: i64 = sqlx::query_scalar("select count(*) from stock_reservations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reservations, 10);
}

#[sqlx::test]
async fn poison_messages_go_to_the_dlq_and_a_real_order_behind_them_is_applied(pool: PgPool) {
    let (_app, broker) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 5).await;
    let poison = |payload: &str| OutgoingMessage {
        id: uuid::Uuid::now_v7(),
        event_type: "order.created".to_owned(),
        payload: payload.as_bytes().to_vec(),
        traceparent: None,
    };
    let unknown = r#"{"id":"0190a0a0-0000-7000-8000-000000000000","occurred_at":"2026-01-01T00:00:00Z","type":"order.teleported","data":{}}"#;

    publish(
        &broker,
        &[
            poison("{not json"),
            poison(unknown),
            message(&order(9, product, 2)),
        ],
    )
    .await;

    let events = replies(&broker, 1).await;
    assert!(
        matches!(&events[0], Event::StockReserved(r) if r.order_id == 9),
        "{events:?}"
    );
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());
    eventually("both poison messages are dead-lettered", async || {
        broker.depth(&dlq).await == 2
    })
    .await;
    assert_eq!(stock_of(&pool, product).await, 3);
}

#[sqlx::test]
async fn an_order_for_a_missing_product_is_rejected_with_a_reason(pool: PgPool) {
    let (_app, broker) = spawn_app_with_broker(pool.clone()).await;

    publish(&broker, &[message(&order(3, 4242, 1))]).await;

    let events = replies(&broker, 1).await;
    let Event::StockRejected(rejected) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(rejected.reason, "product 4242 does not exist");
    assert_eq!(rejected.available, 0);
}

#[sqlx::test]
async fn sigterm_under_load_loses_no_delivery_and_applies_none_twice(pool: PgPool) {
    let broker = TestBroker::new().await;
    let product = product_with_stock(&pool, 10_000).await;
    let url = pool.connect_options().to_url_lossy().to_string();
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("AMQP_TOPOLOGY_PREFIX", broker.topology.prefix()),
    ];
    let program = env!("CARGO_BIN_EXE_product-service");
    let mut service = ServiceProcess::spawn(program, &envs).await;
    // Enough that a consumer applying batches is still busy when the signal arrives.
    let orders: Vec<_> = (1..=3000).map(|id| order(id, product, 1)).collect();
    for chunk in orders.chunks(500) {
        publish(&broker, &chunk.iter().map(message).collect::<Vec<_>>()).await;
    }

    // Stop it in the middle of the stream, then start it again.
    eventually("some orders are applied", async || {
        stock_of(&pool, product).await < 10_000
    })
    .await;
    service.terminate();
    let status = service.wait().await;
    assert!(status.success(), "graceful exit, got {status}");
    let applied_before_restart = 10_000 - stock_of(&pool, product).await;
    let _restarted = ServiceProcess::spawn(program, &envs).await;

    let replies = replies(&broker, 3000).await;
    let mut order_ids: Vec<i64> = replies
        .iter()
        .map(|event| match event {
            Event::StockReserved(r) => r.order_id,
            other => panic!("unexpected reply {other:?}"),
        })
        .collect();
    order_ids.sort_unstable();
    order_ids.dedup();
    assert_eq!(order_ids.len(), 3000, "every order answered exactly once");
    assert_eq!(
        stock_of(&pool, product).await,
        7_000,
        "each order took exactly one unit"
    );
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());
    assert_eq!(
        broker.depth(&dlq).await,
        0,
        "a graceful stop dead-letters nothing"
    );
    assert!(
        applied_before_restart < 3000,
        "the stop came in the middle of the stream"
    );
}
