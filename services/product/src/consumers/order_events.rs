//! `product.order-events`: reserves stock for every new order and answers with `stock.reserved`
//! or `stock.rejected` through the outbox, a whole batch of orders in one transaction with their
//! inbox records.

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handled, Handler, HandlerError, event_span};
use microshop_messaging::inbox;
use microshop_messaging::outbox::Outbox;
use prometheus::{IntCounterVec, Opts, Registry};

use crate::db::stock;

/// Applies order events to stock.
#[derive(Clone)]
pub struct OrderEventsHandler {
    outbox: Outbox,
    reservations: IntCounterVec,
}

impl OrderEventsHandler {
    /// A handler writing to the database of `outbox`, counting `stock_reservations_total` on
    /// `registry`.
    pub fn new(outbox: Outbox, registry: &Registry) -> Result<Self, prometheus::Error> {
        let reservations = IntCounterVec::new(
            Opts::new(
                "stock_reservations_total",
                "Stock reservations for new orders, by outcome: reserved or rejected.",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(reservations.clone()))?;
        for outcome in ["reserved", "rejected"] {
            reservations.with_label_values(&[outcome]);
        }
        Ok(Self {
            outbox,
            reservations,
        })
    }
}

impl Handler for OrderEventsHandler {
    async fn handle(&self, batch: &[Envelope]) -> Result<Handled, HandlerError> {
        let mut tx = self.outbox.begin().await?;
        let ids: Vec<_> = batch.iter().map(|envelope| envelope.id).collect();
        let mut fresh = inbox::first_deliveries(&mut tx, &ids).await?;
        let mut duplicates = 0;
        let mut orders = Vec::with_capacity(batch.len());
        for envelope in batch {
            let Event::OrderCreated(order) = &envelope.event else {
                // Other order events (cancellations, ...) are not this consumer's business yet.
                tracing::debug!(event.id = %envelope.id, "ignoring an event this consumer does not handle");
                continue;
            };
            if fresh.remove(&envelope.id) {
                orders.push((envelope, order));
            } else {
                duplicates += 1;
                tracing::info!(
                    event.id = %envelope.id,
                    order.id = order.order_id,
                    "duplicate delivery; already applied"
                );
            }
        }
        // Rows are locked in product order, so two replicas working on overlapping batches
        // cannot deadlock; orders for the same product keep their arrival order.
        orders.sort_by_key(|(_, order)| order.product_id);
        let mut replies = Vec::with_capacity(orders.len());
        let mut reserved = Vec::with_capacity(orders.len());
        for (envelope, order) in orders {
            let reply = stock::reserve(&mut tx, order).await?;
            event_span(envelope).in_scope(|| match &reply {
                Event::StockReserved(r) => tracing::info!(
                    order.id = r.order_id,
                    product.id = r.product_id,
                    quantity = r.quantity,
                    remaining = r.remaining,
                    "stock reserved"
                ),
                Event::StockRejected(r) => tracing::info!(
                    order.id = r.order_id,
                    product.id = r.product_id,
                    reason = %r.reason,
                    "stock rejected"
                ),
                Event::OrderCreated(_) => {}
            });
            if let Event::StockReserved(r) = &reply {
                reserved.push(r.clone());
            }
            // The reply continues the order's trace.
            replies.push(Envelope::new(reply).caused_by(envelope));
        }
        stock::record_reservations(&mut tx, &reserved).await?;
        tx.enqueue(&replies).await?;
        tx.commit().await?;
        let rejected = replies.len() - reserved.len();
        self.reservations
            .with_label_values(&["reserved"])
            .inc_by(reserved.len() as u64);
        self.reservations
            .with_label_values(&["rejected"])
            .inc_by(rejected as u64);
        Ok(Handled {
            rejected: Vec::new(),
            duplicates,
        })
    }
}
