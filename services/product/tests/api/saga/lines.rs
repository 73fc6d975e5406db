//! Orders of several lines through the real RabbitMQ: all lines reserved or none, each short
//! line named, every line given back once, and events of the single-product shape still read.

use microshop_events::{Event, StockReleased, Topology};
use microshop_messaging::OutgoingMessage;
use microshop_testkit::{TestApp, TestBroker, eventually, json};
use serde_json::json;
use sqlx::PgPool;

use super::{cancelled_of, message, order_of, product_with_stock, publish, replies, stock_of};
use crate::helpers::{admin, metric, spawn_app_with_broker};
use crate::inventory::{answers, drain};

/// The reservation of `order_id`: its status and its lines `(product_id, quantity, status)` by
/// product; `None` when it has none.
pub async fn reservation(
    pool: &PgPool,
    order_id: i64,
) -> Option<(String, Vec<(i64, i64, String)>)> {
    let status: Option<String> =
        sqlx::query_scalar("select status from stock_reservations where order_id = $1")
            .bind(order_id)
            .fetch_optional(pool)
            .await
            .unwrap();
    let lines = sqlx::query_as(
        "select product_id, quantity, status from stock_reservation_lines
         where order_id = $1 order by product_id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
    .unwrap();
    status.map(|status| (status, lines))
}

/// `events`, and every event published after them once the outbox is empty (all of it
/// confirmed by the broker).
async fn everything_published(
    pool: &PgPool,
    broker: &TestBroker,
    mut events: Vec<Event>,
) -> Vec<Event> {
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

/// The `stock.released` among `events`.
fn releases(events: &[Event]) -> Vec<&StockReleased> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StockReleased(r) => Some(r),
            _ => None,
        })
        .collect()
}

async fn reservations_counted(app: &TestApp, outcome: &str) -> u64 {
    let label = format!("outcome=\"{outcome}\"");
    metric(app, "stock_reservations_total{", &[&label]).await
}

/// Events of the test's queue the service consumed with `outcome`.
async fn consumed(app: &TestApp, broker: &TestBroker, outcome: &str) -> u64 {
    let queue = format!("queue=\"{}\"", broker.topology.product_order_events());
    let outcome = format!("outcome=\"{outcome}\"");
    metric(app, "events_consumed_total{", &[&queue, &outcome]).await
}

fn held(lines: &[(i64, i64)]) -> Vec<(i64, i64, String)> {
    let mut lines: Vec<_> = lines
        .iter()
        .map(|&(product, quantity)| (product, quantity, "held".to_owned()))
        .collect();
    lines.sort_unstable();
    lines
}

#[sqlx::test]
async fn an_order_of_several_lines_takes_every_line_in_one_reservation(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let a = product_with_stock(&pool, 10).await;
    let b = product_with_stock(&pool, 5).await;
    let c = product_with_stock(&pool, 3).await;

    // Product a is named twice: one line of 3.
    let order = order_of(1, &[(a, 2), (b, 1), (c, 3), (a, 1)]);
    publish(&broker, &[message(&order)]).await;

    let events = everything_published(&pool, &broker, answers(&broker, 1).await).await;
    let reserved: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::StockReserved(r) => Some(r),
            _ => None,
        })
        .collect();
    let [reserved] = reserved[..] else {
        panic!("one stock.reserved: {events:?}")
    };
    let lines: Vec<_> = reserved
        .items
        .iter()
        .map(|l| (l.product_id, l.quantity, l.remaining))
        .collect();
    assert_eq!(lines, [(a, 3, 7), (b, 1, 4), (c, 3, 0)]);
    for (product, left) in [(a, 7), (b, 4), (c, 0)] {
        assert_eq!(stock_of(&pool, product).await, left);
    }
    let (status, lines) = reservation(&pool, 1).await.unwrap();
    assert_eq!(status, "held");
    assert_eq!(lines, held(&[(a, 3), (b, 1), (c, 3)]));
    let count: i64 = sqlx::query_scalar("select count(*) from stock_reservations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "one reservation for the order");

    // Each product's stock is announced once, with its final stock; the counters count orders.
    let mut updates: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ProductStockUpdated(u) => Some((u.product_id, u.stock, u.delta)),
            _ => None,
        })
        .collect();
    updates.sort_unstable();
    assert_eq!(updates, [(a, 7, -3), (b, 4, -1), (c, 0, -3)]);
    assert_eq!(reservations_counted(&app, "reserved").await, 1);
    let shown = json(admin(&app).get(&format!("/api/inventory/{a}")).await).await;
    assert_eq!(
        (shown["reserved"].as_i64(), shown["available"].as_i64()),
        (Some(3), Some(7))
    );
}

#[sqlx::test]
async fn an_order_with_two_short_lines_of_three_is_rejected_naming_both_and_takes_nothing(
    pool: PgPool,
) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let plenty = product_with_stock(&pool, 5).await;
    let scarce = product_with_stock(&pool, 1).await;
    let archived = product_with_stock(&pool, 9).await;
    sqlx::query("update products set archived_at = now() where id = $1")
        .bind(archived)
        .execute(&pool)
        .await
        .unwrap();

    let order = order_of(1, &[(plenty, 2), (scarce, 3), (archived, 1)]);
    publish(&broker, &[message(&order)]).await;

    let events = everything_published(&pool, &broker, answers(&broker, 1).await).await;
    let rejected = events
        .iter()
        .find_map(|e| match e {
            Event::StockRejected(r) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(
        rejected.reason,
        format!(
            "2 of 3 lines cannot be served: only 1 left of product {scarce}, 3 requested; \
             product {archived} is no longer sold"
        )
    );
    let lines: Vec<_> = rejected
        .lines
        .iter()
        .map(|l| (l.product_id, l.requested, l.available, l.reason.as_str()))
        .collect();
    let scarce_reason = format!("only 1 left of product {scarce}, 3 requested");
    let archived_reason = format!("product {archived} is no longer sold");
    assert_eq!(
        lines,
        [
            (scarce, 3, 1, scarce_reason.as_str()),
            (archived, 1, 0, archived_reason.as_str()),
        ]
    );
    for (product, stock) in [(plenty, 5), (scarce, 1), (archived, 9)] {
        assert_eq!(stock_of(&pool, product).await, stock, "nothing was taken");
    }
    assert_eq!(reservation(&pool, 1).await, None);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::ProductStockUpdated(_))),
        "{events:?}"
    );
    assert_eq!(reservations_counted(&app, "rejected").await, 1);
    assert_eq!(reservations_counted(&app, "reserved").await, 0);
}

#[sqlx::test]
async fn a_multi_line_order_cancelled_twice_gives_every_line_back_once(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let a = product_with_stock(&pool, 10).await;
    let b = product_with_stock(&pool, 4).await;
    publish(&broker, &[message(&order_of(1, &[(a, 2), (b, 4)]))]).await;
    assert!(matches!(
        replies(&broker, 1).await[0],
        Event::StockReserved(_)
    ));

    // The same cancellation delivered twice, and another one for the same order.
    let cancellation = cancelled_of(1, &[(a, 2), (b, 4)]);
    let again = cancelled_of(1, &[(a, 2), (b, 4)]);
    publish(
        &broker,
        &[
            message(&cancellation),
            message(&cancellation),
            message(&again),
        ],
    )
    .await;

    let mut events = Vec::new();
    eventually("every cancellation is consumed", async || {
        events.extend(drain(&broker).await);
        consumed(&app, &broker, "applied").await == 3
            && consumed(&app, &broker, "duplicate").await == 1
    })
    .await;
    let events = everything_published(&pool, &broker, events).await;
    let [released] = releases(&events)[..] else {
        panic!("one stock.released, no more: {events:?}")
    };
    let lines: Vec<_> = released
        .items
        .iter()
        .map(|l| (l.product_id, l.quantity, l.remaining))
        .collect();
    assert_eq!(lines, [(a, 2, 10), (b, 4, 4)]);
    assert_eq!(
        (stock_of(&pool, a).await, stock_of(&pool, b).await),
        (10, 4)
    );
    let (status, lines) = reservation(&pool, 1).await.unwrap();
    assert_eq!(status, "released");
    assert!(lines.iter().all(|(_, _, s)| s == "released"), "{lines:?}");
    assert_eq!(reservations_counted(&app, "released").await, 1);
    let shown = json(admin(&app).get(&format!("/api/inventory/{b}")).await).await;
    assert_eq!(shown["reserved"], 0);
}

#[sqlx::test]
async fn a_multi_line_order_whose_cancellation_came_first_is_never_reserved(pool: PgPool) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
    let a = product_with_stock(&pool, 10).await;
    let b = product_with_stock(&pool, 10).await;

    publish(
        &broker,
        &[
            message(&cancelled_of(2, &[(a, 1), (b, 3)])),
            message(&order_of(2, &[(a, 1), (b, 3)])),
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
    assert!(rejected.lines.is_empty(), "{rejected:?}");
    assert_eq!(
        (stock_of(&pool, a).await, stock_of(&pool, b).await),
        (10, 10)
    );
    let (status, lines) = reservation(&pool, 2).await.unwrap();
    assert_eq!(status, "cancelled");
    let marked: Vec<_> = lines.iter().map(|(p, q, _)| (*p, *q)).collect();
    assert_eq!(marked, [(a, 1), (b, 3)], "the mark keeps the event's lines");

    // Sent again later, alone, it is still refused.
    publish(&broker, &[message(&order_of(2, &[(a, 1), (b, 3)]))]).await;
    assert!(matches!(
        replies(&broker, 1).await[0],
        Event::StockRejected(_)
    ));
    assert_eq!(stock_of(&pool, a).await, 10);
}

/// A message with `data` as the body of an event of `kind`, as a publisher of before wrote it.
fn raw(kind: &str, data: &serde_json::Value) -> OutgoingMessage {
    let id = uuid::Uuid::now_v7();
    let body = json!({"id": id, "type": kind, "occurred_at": "2026-12-07T10:00:00Z", "data": data});
    OutgoingMessage {
        id,
        event_type: kind.to_owned(),
        payload: body.to_string().into_bytes(),
        traceparent: None,
    }
}

#[sqlx::test]
async fn single_product_order_events_of_the_old_shape_are_still_reserved_and_given_back(
    pool: PgPool,
) {
    let (broker, _app) = spawn_app_with_broker(pool.clone()).await;
    let product = product_with_stock(&pool, 10).await;
    let created = json!({"order_id": 7, "user_id": 1, "product_id": product, "quantity": 2,
                         "unit_price_cents": 1000, "total_price_cents": 2000});

    publish(&broker, &[raw("order.created", &created)]).await;

    let events = replies(&broker, 1).await;
    let Event::StockReserved(reserved) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(reserved.order_id, 7);
    let lines: Vec<_> = reserved
        .items
        .iter()
        .map(|l| (l.product_id, l.quantity, l.remaining))
        .collect();
    assert_eq!(lines, [(product, 2, 8)]);
    assert_eq!(
        reservation(&pool, 7).await.unwrap().1,
        held(&[(product, 2)])
    );

    let cancelled = json!({"order_id": 7, "product_id": product, "quantity": 2,
                           "reason": "timed out", "refund": false});
    publish(&broker, &[raw("order.cancelled", &cancelled)]).await;
    let events = replies(&broker, 1).await;
    assert!(
        matches!(&events[0], Event::StockReleased(r) if r.items[0].remaining == 10),
        "{events:?}"
    );
    assert_eq!(stock_of(&pool, product).await, 10);
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());
    assert_eq!(broker.depth(&dlq).await, 0);
}
