//! Settling orders with the product service's answers: `stock.reserved` confirms a `PENDING`
//! order, `stock.rejected` rejects it, both at most once; an answer for an order this database
//! does not know is refused (dead-lettered). Stock reserved for an order that was settled
//! without it (rejected for want of an answer in time) is given back: the late `stock.reserved`
//! is answered with `order.cancelled`.

use std::collections::HashSet;

use microshop_events::{Envelope, Event, OrderCancelled};
use microshop_messaging::consumer::{Outcome, Rejected, event_span};
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::orders::{self, Settlement};
use crate::domain::OrderStatus;
use crate::metrics::OrderMetrics;

/// Orders that changed status, for the log and the metrics once committed.
pub type Settled = Vec<(tracing::Span, Settlement)>;

/// The status change an event asks for, if it is a stock answer.
fn settlement(event: &Event) -> Option<Settlement> {
    let (order_id, status, reason) = match event {
        Event::StockReserved(r) => (r.order_id, OrderStatus::Confirmed, None),
        Event::StockRejected(r) => (r.order_id, OrderStatus::Rejected, Some(r.reason.clone())),
        _ => return None,
    };
    Some(Settlement {
        order_id,
        status,
        reason,
    })
}

/// Whether `event` is a stock answer this use case applies.
pub fn is_stock_answer(event: &Event) -> bool {
    settlement(event).is_some()
}

/// Applies the stock answers of `events` inside `tx`, one statement for the whole batch.
pub async fn stock_answers(
    tx: &mut OutboxTransaction,
    events: &[Envelope],
) -> Result<Outcome<Settled>, sqlx::Error> {
    let wanted: Vec<(&Envelope, Settlement)> = events
        .iter()
        .filter_map(|envelope| settlement(&envelope.event).map(|s| (envelope, s)))
        .collect();
    let mut settlements: Vec<Settlement> = wanted.iter().map(|(_, s)| s.clone()).collect();
    // Rows are locked in id order, so replicas working on overlapping batches cannot deadlock.
    settlements.sort_by_key(|s| s.order_id);
    let changed = orders::settle_all(tx, &settlements).await?;
    let unchanged: Vec<i64> = settlements
        .iter()
        .map(|s| s.order_id)
        .filter(|id| !changed.contains(id))
        .collect();
    let current = orders::statuses(tx, &unchanged).await?;

    let mut settled = Vec::new();
    let mut counted = HashSet::new();
    let mut rejected = Vec::new();
    let mut releases = Vec::new();
    for (envelope, settlement) in wanted {
        let order_id = settlement.order_id;
        let span = event_span(envelope);
        if changed.contains(&order_id) && counted.insert(order_id) {
            settled.push((span, settlement));
        } else if let (Event::StockReserved(late), Some(OrderStatus::Rejected)) = (
            &envelope.event,
            current.get(&order_id).and_then(|s| OrderStatus::parse(s)),
        ) {
            span.in_scope(|| {
                tracing::warn!(
                    order.id = order_id,
                    quantity = late.quantity,
                    "stock reserved for an order already rejected; asking for it back"
                );
            });
            releases.push(
                Envelope::new(Event::OrderCancelled(OrderCancelled {
                    order_id,
                    product_id: late.product_id,
                    quantity: late.quantity,
                    reason: format!("order {order_id} was rejected before its stock was reserved"),
                    refund: false,
                }))
                .caused_by(envelope),
            );
        } else if let Some(now) = current.get(&order_id).map(String::as_str).or_else(|| {
            changed
                .contains(&order_id)
                .then_some("settled by an earlier event of this batch")
        }) {
            span.in_scope(|| {
                tracing::warn!(
                    order.id = order_id,
                    current = now,
                    wanted = settlement.status.as_str(),
                    "order already settled; event ignored"
                );
            });
        } else {
            rejected.push(Rejected {
                event_id: envelope.id,
                reason: format!("order {order_id} does not exist in this order database"),
            });
        }
    }
    tx.enqueue(&releases).await?;
    Ok(Outcome {
        rejected,
        applied: settled,
    })
}

/// Counts and logs what [`stock_answers`] settled, once it is committed.
pub fn committed(metrics: &OrderMetrics, settled: Settled) {
    for (span, settlement) in settled {
        metrics.entered(settlement.status);
        span.in_scope(|| {
            tracing::info!(
                order.id = settlement.order_id,
                status = settlement.status.as_str(),
                reason = settlement.reason,
                "order settled"
            );
        });
    }
}
