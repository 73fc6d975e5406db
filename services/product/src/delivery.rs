//! What the product service learns from shipped and delivered orders: fulfilled reservations and
//! verified purchases.
//!
//! `order.shipped`: the order's units have left, so the reservation still held for it becomes
//! `fulfilled` (a cancellation afterwards gives nothing back to stock). `order.delivered` does the
//! same, in case the shipment's event was missed, and records that the buyer received each of its
//! products (`purchases`), which makes their reviews verified purchases. Both are idempotent: a
//! reservation is fulfilled once, a purchase recorded once, so a second event for an order
//! changes nothing; the consumer frame already drops redeliveries of the same event.

use microshop_events::{Envelope, Event, OrderLine};
use microshop_messaging::consumer::event_span;
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::reviews::{self, Purchase};

/// What a run of shipped and delivered orders did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Reservations that went from held to fulfilled.
    pub fulfilled: u64,
    /// Purchases recorded for the first time.
    pub purchases: u64,
}

/// Whether this use case applies `event`.
pub fn applies_to(event: &Event) -> bool {
    matches!(event, Event::OrderShipped(_) | Event::OrderDelivered(_))
}

/// Applies every `order.shipped` and `order.delivered` of `events` in `tx` (one statement for the
/// reservations, one for the purchases); other events are skipped.
pub async fn for_orders(
    tx: &mut OutboxTransaction,
    events: &[Envelope],
) -> Result<Delivered, sqlx::Error> {
    let mut orders = Vec::new();
    let mut purchases = Vec::new();
    for envelope in events {
        let (order_id, delivered_to) = match &envelope.event {
            Event::OrderShipped(shipped) => (shipped.order_id, None),
            Event::OrderDelivered(delivered) => (
                delivered.order_id,
                Some((delivered.user_id, &delivered.items)),
            ),
            _ => continue,
        };
        orders.push(order_id);
        if let Some((user_id, items)) = delivered_to {
            purchases.extend(items.iter().map(|&OrderLine { product_id, .. }| Purchase {
                user_id,
                product_id,
                order_id,
            }));
        }
    }
    // In key order, so two replicas on overlapping batches lock the same rows in the same order
    // and cannot deadlock.
    orders.sort_unstable();
    orders.dedup();
    purchases.sort_unstable();
    purchases.dedup_by_key(|p| (p.user_id, p.product_id));
    let fulfilled = reviews::fulfil_reservations(tx, &orders).await?;
    let recorded = reviews::record_purchases(tx, &purchases).await?;
    log(events, &fulfilled);
    Ok(Delivered {
        fulfilled: fulfilled.len() as u64,
        purchases: recorded,
    })
}

fn log(events: &[Envelope], fulfilled: &[i64]) {
    for envelope in events {
        let (order_id, what) = match &envelope.event {
            Event::OrderShipped(shipped) => (shipped.order_id, "order shipped"),
            Event::OrderDelivered(delivered) => (delivered.order_id, "order delivered"),
            _ => continue,
        };
        event_span(envelope).in_scope(|| {
            tracing::info!(
                order.id = order_id,
                reservation_fulfilled = fulfilled.contains(&order_id),
                "{what}"
            );
        });
    }
}
