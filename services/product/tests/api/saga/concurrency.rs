//! Two replicas of the product service on one database and one queue, working through many
//! orders of several lines for the same few products at once: every order all or nothing, no
//! unit lost or sold twice, no deadlock.

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;
use microshop_events::{Event, Topology};
use microshop_testkit::eventually;
use sqlx::PgPool;

use super::{message, order_of, product_with_stock, publish, replies, stock_of};
use crate::helpers::{metric, spawn_app_with_broker, spawn_replica};

/// Orders published at once.
const ORDERS: i64 = 80;

/// A small deterministic generator (an LCG): the same orders every run, no extra dependency.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Each order's lines: 2 to 4 of the `products`, 1 to 3 units each (a product may come twice).
fn orders(products: &[i64]) -> BTreeMap<i64, Vec<(i64, i64)>> {
    let mut draw = Draw(18);
    (1..=ORDERS)
        .map(|order_id| {
            let count = 2 + draw.below(3);
            let lines = (0..count)
                .map(|_| {
                    let product = products[usize::try_from(draw.below(5)).unwrap()];
                    (product, 1 + i64::try_from(draw.below(3)).unwrap())
                })
                .collect();
            (order_id, lines)
        })
        .collect()
}

/// `lines` merged per product, by product: what a reservation of them holds.
fn merged(lines: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut merged: BTreeMap<i64, i64> = BTreeMap::new();
    for &(product, quantity) in lines {
        *merged.entry(product).or_default() += quantity;
    }
    merged.into_iter().collect()
}

async fn deadlocks(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select deadlocks from pg_stat_database where datname = current_database()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn two_replicas_reserve_many_multi_line_orders_all_or_nothing_without_overselling(
    pool: PgPool,
) {
    let (broker, app) = spawn_app_with_broker(pool.clone()).await;
    let replica = spawn_replica(microshop_testkit::db(&pool), &broker, &[]).await;
    let initial = [20, 15, 10, 12, 8];
    let mut products = Vec::new();
    for stock in initial {
        products.push(product_with_stock(&pool, stock).await);
    }
    let orders = orders(&products);
    let demand: i64 = orders.values().flatten().map(|(_, q)| q).sum();
    assert!(
        demand > initial.iter().sum::<i64>(),
        "more is ordered than there is"
    );
    let deadlocks_before = deadlocks(&pool).await;

    // Published at once from several channels, as several order-service replicas would.
    let messages: Vec<_> = orders
        .iter()
        .map(|(&id, lines)| message(&order_of(id, lines)))
        .collect();
    join_all(messages.chunks(8).map(|chunk| publish(&broker, chunk))).await;

    // One answer per order.
    let answers = replies(&broker, orders.len()).await;
    let mut answered: HashMap<i64, &Event> = HashMap::new();
    for answer in &answers {
        let order_id = match answer {
            Event::StockReserved(r) => r.order_id,
            Event::StockRejected(r) => r.order_id,
            other => panic!("unexpected answer {other:?}"),
        };
        assert!(
            answered.insert(order_id, answer).is_none(),
            "order {order_id} answered twice"
        );
    }

    // Each order is reserved with all its lines, or rejected with no reservation at all.
    let stored: Vec<(i64, String)> =
        sqlx::query_as("select order_id, status from stock_reservations")
            .fetch_all(&pool)
            .await
            .unwrap();
    let stored: HashMap<i64, String> = stored.into_iter().collect();
    let mut reserved = 0;
    for (order_id, lines) in &orders {
        let held: Vec<(i64, i64)> = sqlx::query_as(
            "select product_id, quantity from stock_reservation_lines
             where order_id = $1 order by product_id",
        )
        .bind(order_id)
        .fetch_all(&pool)
        .await
        .unwrap();
        if let Event::StockReserved(answer) = answered[order_id] {
            reserved += 1;
            assert_eq!(stored.get(order_id).map(String::as_str), Some("held"));
            assert_eq!(held, merged(lines), "order {order_id} holds all its lines");
            let mut told: Vec<_> = answer
                .items
                .iter()
                .map(|l| (l.product_id, l.quantity))
                .collect();
            told.sort_unstable();
            assert_eq!(told, held, "the answer names every line");
        } else {
            assert_eq!(
                stored.get(order_id),
                None,
                "rejected order {order_id} holds nothing"
            );
            assert!(held.is_empty());
        }
    }
    assert!(reserved > 0, "some orders fit");
    assert!(reserved < orders.len(), "some orders do not");

    // Every unit is either still on hand or held for exactly one order; none went below zero.
    for (product, initial) in products.iter().zip(initial) {
        let now = stock_of(&pool, *product).await;
        let held: i64 = sqlx::query_scalar(
            "select coalesce(sum(quantity), 0)::bigint from stock_reservation_lines
             where product_id = $1 and status = 'held'",
        )
        .bind(product)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(now >= 0, "product {product}: {now}");
        assert_eq!(
            initial,
            now + held,
            "product {product}: {now} on hand, {held} held"
        );
    }

    // The counters of both replicas count orders, one each.
    let total = u64::try_from(orders.len()).unwrap();
    eventually("both replicas counted every order once", async || {
        let mut counted = 0;
        for service in [&app, &replica] {
            for outcome in ["reserved", "rejected"] {
                let label = format!("outcome=\"{outcome}\"");
                counted += metric(service, "stock_reservations_total{", &[&label]).await;
            }
        }
        assert!(counted <= total, "{counted} counted for {total} orders");
        counted == total
    })
    .await;
    let dlq = Topology::dlq_of(&broker.topology.product_order_events());
    assert_eq!(broker.depth(&dlq).await, 0);
    assert_eq!(
        deadlocks(&pool).await,
        deadlocks_before,
        "the replicas lock in one order"
    );
}
