//! The payment service's consumer of `payment.order-events`: `order.cancelled` with `refund`
//! asks for the refund of the order's payments ([`crate::refund::for_cancelled_order`]); every
//! other order event is acknowledged and counted as ignored.

use std::sync::Arc;

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome};
use microshop_messaging::outbox::OutboxTransaction;
use tokio::sync::Notify;

use crate::metrics::PaymentMetrics;
use crate::refund;

/// Applies order events to payments.
#[derive(Clone)]
pub struct OrderEventsHandler {
    metrics: PaymentMetrics,
    refunds_due: Arc<Notify>,
}

impl OrderEventsHandler {
    /// A handler counting on `metrics` and waking the refund dispatcher through `refunds_due`.
    pub fn new(metrics: PaymentMetrics, refunds_due: Arc<Notify>) -> Self {
        Self {
            metrics,
            refunds_due,
        }
    }
}

impl Handler for OrderEventsHandler {
    /// The refunds asked for.
    type Applied = Vec<i64>;

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::OrderCancelled(cancelled) if cancelled.refund)
    }

    async fn apply(
        &self,
        tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<Vec<i64>>, HandlerError> {
        let mut asked = Vec::new();
        for envelope in events {
            if let Event::OrderCancelled(cancelled) = &envelope.event {
                if cancelled.refund {
                    let reason = format!("order cancelled: {}", cancelled.reason);
                    asked.extend(
                        refund::for_cancelled_order(tx, cancelled.order_id, &reason).await?,
                    );
                }
            }
        }
        Ok(Outcome::applied(asked))
    }

    fn committed(&self, asked: Vec<i64>) {
        if asked.is_empty() {
            return;
        }
        for _ in &asked {
            self.metrics.refund("requested");
        }
        self.refunds_due.notify_one();
    }
}
