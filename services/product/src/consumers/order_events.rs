//! `product.order-events`: reserves stock for every new order and answers with `stock.reserved`
//! or `stock.rejected` through the outbox, all in one transaction with the inbox record.

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError};
use microshop_messaging::{inbox, outbox};
use sqlx::PgPool;

use crate::db::stock;

/// Applies order events to stock.
#[derive(Clone)]
pub struct OrderEventsHandler {
    pool: PgPool,
}

impl OrderEventsHandler {
    /// A handler writing to `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl Handler for OrderEventsHandler {
    async fn handle(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let Event::OrderCreated(order) = &envelope.event else {
            // Other order events (cancellations, ...) are not this consumer's business yet.
            tracing::debug!("ignoring an event this consumer does not handle");
            return Ok(());
        };
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, envelope.id).await? {
            tracing::info!(
                order.id = order.order_id,
                "duplicate delivery; already applied"
            );
            return Ok(());
        }
        let reply = stock::reserve(&mut tx, order).await?;
        match &reply {
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
        }
        outbox::enqueue(&mut tx, &Envelope::new(reply)).await?;
        tx.commit().await?;
        Ok(())
    }
}
