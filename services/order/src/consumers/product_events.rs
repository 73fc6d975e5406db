//! `order.product-events`: moves each order to `CONFIRMED` or `REJECTED` as the product
//! service's answer arrives, exactly once (inbox record and status change in one transaction).

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError};
use microshop_messaging::inbox;
use sqlx::PgPool;

use crate::db::orders::{self, Settled};
use crate::domain::OrderStatus;
use crate::metrics::OrderMetrics;

/// Applies stock events to orders.
#[derive(Clone)]
pub struct ProductEventsHandler {
    pool: PgPool,
    metrics: OrderMetrics,
}

impl ProductEventsHandler {
    /// A handler writing to `pool`.
    pub fn new(pool: PgPool, metrics: OrderMetrics) -> Self {
        Self { pool, metrics }
    }
}

impl Handler for ProductEventsHandler {
    async fn handle(&self, envelope: &Envelope) -> Result<(), HandlerError> {
        let (order_id, status, reason) = match &envelope.event {
            Event::StockReserved(r) => (r.order_id, OrderStatus::Confirmed, None),
            Event::StockRejected(r) => (r.order_id, OrderStatus::Rejected, Some(r.reason.as_str())),
            Event::OrderCreated(_) => return Ok(()),
        };
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, envelope.id).await? {
            tracing::info!(order.id = order_id, "duplicate delivery; already applied");
            return Ok(());
        }
        match orders::settle(&mut tx, order_id, status, reason).await? {
            Settled::Changed => {
                tx.commit().await?;
                self.metrics.entered(status);
                tracing::info!(
                    order.id = order_id,
                    status = status.as_str(),
                    reason,
                    "order settled"
                );
                Ok(())
            }
            Settled::AlreadySettled(current) => {
                tx.commit().await?;
                tracing::warn!(order.id = order_id, %current, wanted = status.as_str(), "order already settled; event ignored");
                Ok(())
            }
            Settled::Missing => Err(HandlerError::Permanent(format!(
                "order {order_id} does not exist in this order database"
            ))),
        }
    }
}
