//! The stock side of the order saga, through the real RabbitMQ: order events in, stock changes
//! and `stock.*` events out, exactly once. Orders of several lines are in [`lines`], replicas
//! racing on one database in [`concurrency`].

mod concurrency;
mod lines;

use futures::future::join_all;
use microshop_events::{
    Envelope, Event, OrderCancelled, OrderCreated, OrderItem, OrderLine, Topology,
};
use microshop_messaging::{OutgoingMessage, Publisher};
use microshop_testkit::{ServiceProcess, TestBroker, eventually, json};
use sqlx::{ConnectOptions, PgPool};

use crate::helpers::spawn_app_with_broker;

/// `order.created` for one line.
pub fn order(order_id: i64, product_id: i64, quantity: i64) -> Envelope {
    order_of(order_id, &[(product_id, quantity)])
}

/// `order.created` for `lines` of `(product_id, quantity)`.
pub fn order_of(order_id: i64, lines: &[(i64, i64)]) -> Envelope {
    let items: Vec<OrderItem> = lines
        .iter()
        .map(|&(product_id, quantity)| OrderItem {
            product_id,
            quantity,
            unit_price_cents: 1000,
        })
        .collect();
    let total_price_cents = items.iter().map(|i| i.quantity * 1000).sum();
    Envelope::new(Event::OrderCreated(OrderCreated {
        order_id,
        user_id: 1,
        items,
        total_price_cents,
    }))
}

/// `order.cancelled` for one line.
pub fn cancelled(order_id: i64, product_id: i64, quantity: i64) -> Envelope {
    cancelled_of(order_id, &[(product_id, quantity)])
}

/// `order.cancelled` for `lines` of `(product_id, quantity)`.
pub fn cancelled_of(order_id: i64, lines: &[(i64, i64)]) -> Envelope {
    Envelope::new(Event::OrderCancelled(OrderCancelled {
        order_id,
        user_id: Some(1),
        items: lines
            .iter()
            .map(|&(product_id, quantity)| OrderLine {
                product_id,
                quantity,
            })
            .collect(),
        reason: "the buyer changed their mind".into(),
        refund: false,
    }))
}

pub fn message(envelope: &Envelope) -> OutgoingMessage {
    OutgoingMessage::from_envelope(envelope)
}

pub async fn publish(broker: &TestBroker, messages: &[OutgoingMessage]) {
    Publisher::new(broker.broker.clone(), broker.topology.order_events())
        .publish(messages)
        .await
        .expect("broker confirms");
}

pub async fn product_with_stock(pool: &PgPool, stock: i64) -> i64 {
    sqlx::query_scalar(
        "insert into products (name, price_cents, stock) values ('Widget', 1000, $1) returning id",
    )
    .bind(stock)
    .fetch_one(pool)
    .await
    .expect("insert a product")
}

pub async fn stock_of(pool: &PgPool, id: i64) -> i64 {
    sqlx::query_scalar("select stock from products where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("read stock")
}

/// Whether `event` answers an order (`stock.*`), rather than announcing a stock change
/// (`product.stock.updated`, `inventory.low_stock`) on the same exchange.
fn is_answer(event: &Event) -> bool {
    !matches!(
        event,
        Event::ProductStockUpdated(_) | Event::InventoryLowStock(_)
    )
}

/// Takes every `stock.*` reply the service published, waiting until `count` arrived.
pub async fn replies(broker: &TestBroker, count: usize) -> Vec<Event> {
    let queue = broker.topology.order_product_events();
    let mut events = Vec::new();
    eventually(&format!("{count} replies arrive"), async || {
        while let Some(message) = broker.take(&queue).await {
            let event = Envelope::from_json(&message.delivery.data)
                .expect("replies are events")
                .event;
            if is_answer(&event) {
                events.push(event);
            }
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
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 50).await;

    publish(&broker, &[message(&order(1, product, 3))]).await;

    let events = replies(&broker, 1).await;
    assert!(
        matches!(&events[0], Event::StockReserved(r) if r.order_id == 1 && r.items[0].remaining == 47),
        "{events:?}"
    );
    let shown = json(app.client.get(&format!("/api/products/{product}")).await).await;
    assert_eq!(shown["stock"], 47);
}

#[sqlx::test]
async fn the_same_order_event_delivered_twice_takes_stock_once(pool: PgPool) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
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
async fn a_second_event_for_an_order_already_reserved_is_answered_again_without_taking_stock(
    pool: PgPool,
) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    // Order 1 twice under different event ids (a foreign publisher, a bug upstream): the
    // second must not take stock again, nor block the queue.
    let first = order(1, product, 2);
    let conflicting = order(1, product, 2);
    let behind: Vec<_> = (2..=4).map(|id| order(id, product, 1)).collect();
    let mut messages = vec![message(&first), message(&conflicting)];
    messages.extend(behind.iter().map(message));

    publish(&broker, &messages).await;

    let events = replies(&broker, 5).await;
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
    assert_eq!(broker.depth(&dlq).await, 0);
}

#[sqlx::test]
async fn a_cancelled_order_gets_its_stock_back_exactly_once(pool: PgPool) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    publish(&broker, &[message(&order(1, product, 3))]).await;
    assert!(matches!(
        replies(&broker, 1).await[0],
        Event::StockReserved(_)
    ));

    // Two cancellations of the same order under different event ids, and a redelivery.
    let cancellation = cancelled(1, product, 3);
    publish(
        &broker,
        &[
            message(&cancellation),
            message(&cancelled(1, product, 3)),
            message(&cancellation),
        ],
    )
    .await;

    let events = replies(&broker, 1).await;
    let Event::StockReleased(released) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(released.order_id, 1);
    assert_eq!(
        (released.items[0].quantity, released.items[0].remaining),
        (3, 10)
    );
    let queue = broker.topology.product_order_events();
    eventually("every cancellation is consumed", async || {
        broker.depth(&queue).await == 0
    })
    .await;
    assert_eq!(stock_of(&pool, product).await, 10);
    while let Some(message) = broker.take(&broker.topology.order_product_events()).await {
        let event = Envelope::from_json(&message.delivery.data).unwrap().event;
        assert!(!is_answer(&event), "one stock.released, no more: {event:?}");
    }
}

#[sqlx::test]
async fn an_order_cancelled_before_it_arrives_is_never_reserved(pool: PgPool) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;

    publish(
        &broker,
        &[
            message(&cancelled(5, product, 2)),
            message(&order(5, product, 2)),
        ],
    )
    .await;

    let events = replies(&broker, 1).await;
    let Event::StockRejected(rejected) = &events[0] else {
        panic!("{events:?}")
    };
    assert!(
        rejected.reason.contains("was cancelled"),
        "{}",
        rejected.reason
    );
    assert_eq!(stock_of(&pool, product).await, 10);
}

#[sqlx::test]
async fn an_order_that_fails_every_time_is_answered_rejected_instead_of_dead_lettered(
    pool: PgPool,
) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    // A rule order 1's reservation breaks every time it is tried, whatever the retries and
    // whichever orders share its batch.
    sqlx::query(
        "alter table stock_reservation_lines add constraint no_three check (quantity <> 3)",
    )
    .execute(&pool)
    .await
    .unwrap();

    publish(
        &broker,
        &[
            message(&order(1, product, 3)),
            message(&order(2, product, 1)),
        ],
    )
    .await;

    let events = replies(&broker, 2).await;
    let rejected = events
        .iter()
        .find_map(|e| match e {
            Event::StockRejected(r) if r.order_id == 1 => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("order 1 is answered stock.rejected: {events:?}"));
    assert!(rejected.reason.contains("no_three"), "{}", rejected.reason);
    assert!(
        rejected.lines.is_empty(),
        "the order as a whole: {rejected:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::StockReserved(r) if r.order_id == 2)),
        "{events:?}"
    );
    assert_eq!(stock_of(&pool, product).await, 9, "only order 2 took stock");
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());
    assert_eq!(broker.depth(&dlq).await, 0);
}

#[sqlx::test]
async fn fifty_orders_for_ten_units_reserve_exactly_ten(pool: PgPool) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
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
    let held: i64 = sqlx::query_scalar(
        "select sum(quantity)::bigint from stock_reservation_lines where status = 'held'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(held, 10, "one line of one unit per reservation");
}

#[sqlx::test]
async fn poison_messages_go_to_the_dlq_and_a_real_order_behind_them_is_applied(pool: PgPool) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
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
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;

    publish(&broker, &[message(&order(3, 4242, 1))]).await;

    let events = replies(&broker, 1).await;
    let Event::StockRejected(rejected) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(rejected.reason, "product 4242 does not exist");
    assert_eq!(rejected.lines.len(), 1);
    assert_eq!(
        (rejected.lines[0].product_id, rejected.lines[0].available),
        (4242, 0)
    );
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
