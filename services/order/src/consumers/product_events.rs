//! `order.product-events`: moves each order to `CONFIRMED` or `REJECTED` as the product
//! service's answer arrives, exactly once: inbox records and status changes of a whole batch in
//! one transaction.

use std::collections::HashSet;

use microshop_db::Db;
use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handled, Handler, HandlerError, Rejected, event_span};
use microshop_messaging::inbox;
use uuid::Uuid;

use crate::db::orders::{self, Settlement};
use crate::domain::OrderStatus;
use crate::metrics::OrderMetrics;

/// Applies stock events to orders.
#[derive(Clone)]
pub struct ProductEventsHandler {
    db: Db,
    metrics: OrderMetrics,
}

impl ProductEventsHandler {
    /// A handler writing to `db`.
    pub fn new(db: Db, metrics: OrderMetrics) -> Self {
        Self { db, metrics }
    }
}

/// The status change an event asks for, if it is a stock event.
fn settlement(event: &Event) -> Option<Settlement> {
    let (order_id, status, reason) = match event {
        Event::StockReserved(r) => (r.order_id, OrderStatus::Confirmed, None),
        Event::StockRejected(r) => (r.order_id, OrderStatus::Rejected, Some(r.reason.clone())),
        Event::OrderCreated(_) => return None,
    };
    Some(Settlement {
        order_id,
        status,
        reason,
    })
}

impl Handler for ProductEventsHandler {
    async fn handle(&self, batch: &[Envelope]) -> Result<Handled, HandlerError> {
        let mut tx = self.db.begin().await?;
        let ids: Vec<Uuid> = batch.iter().map(|envelope| envelope.id).collect();
        let mut fresh = inbox::first_deliveries(&mut tx, &ids).await?;
        let mut duplicates = 0;
        let mut wanted: Vec<(Uuid, tracing::Span, Settlement)> = Vec::with_capacity(batch.len());
        for envelope in batch {
            let Some(settlement) = settlement(&envelope.event) else {
                continue;
            };
            if fresh.remove(&envelope.id) {
                wanted.push((envelope.id, event_span(envelope), settlement));
            } else {
                duplicates += 1;
                tracing::info!(
                    event.id = %envelope.id,
                    order.id = settlement.order_id,
                    "duplicate delivery; already applied"
                );
            }
        }
        let mut settlements: Vec<Settlement> = wanted.iter().map(|(_, _, s)| s.clone()).collect();
        // Rows are locked in id order, so replicas working on overlapping batches cannot deadlock.
        settlements.sort_by_key(|s| s.order_id);
        let changed = orders::settle_all(&mut tx, &settlements).await?;
        let unchanged: Vec<i64> = settlements
            .iter()
            .map(|s| s.order_id)
            .filter(|id| !changed.contains(id))
            .collect();
        let current = orders::statuses(&mut tx, &unchanged).await?;

        let mut settled_now = Vec::new();
        let mut counted = HashSet::new();
        let mut rejected = Vec::new();
        for (event_id, span, settlement) in wanted {
            let order_id = settlement.order_id;
            if changed.contains(&order_id) && counted.insert(order_id) {
                settled_now.push((span, settlement));
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
                    event_id,
                    reason: format!("order {order_id} does not exist in this order database"),
                });
            }
        }
        let forgotten: Vec<Uuid> = rejected.iter().map(|r| r.event_id).collect();
        inbox::forget(&mut tx, &forgotten).await?;
        tx.commit().await?;
        for (span, settlement) in settled_now {
            self.metrics.entered(settlement.status);
            span.in_scope(|| {
                tracing::info!(
                    order.id = settlement.order_id,
                    status = settlement.status.as_str(),
                    reason = settlement.reason,
                    "order settled"
                );
            });
        }
        Ok(Handled {
            rejected,
            duplicates,
        })
    }
}
