//! `order.product-events`: the product service's answers, applied by [`crate::settle`].

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome};
use microshop_messaging::outbox::OutboxTransaction;

use crate::metrics::OrderMetrics;
use crate::settle::{self, Settled};

/// Applies stock answers to orders.
#[derive(Clone)]
pub struct ProductEventsHandler {
    metrics: OrderMetrics,
}

impl ProductEventsHandler {
    /// A handler counting settled orders on `metrics`.
    pub fn new(metrics: OrderMetrics) -> Self {
        Self { metrics }
    }
}

impl Handler for ProductEventsHandler {
    type Applied = Settled;

    fn handles(&self, event: &Event) -> bool {
        settle::is_stock_answer(event)
    }

    async fn apply(
        &self,
        tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<Settled>, HandlerError> {
        Ok(settle::stock_answers(tx, events).await?)
    }

    fn committed(&self, settled: Settled) {
        settle::committed(&self.metrics, settled);
    }
}
