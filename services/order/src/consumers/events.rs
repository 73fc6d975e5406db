//! The order service's events adapter: stock answers go to [`crate::settle`], product changes to
//! the read model of products ([`crate::read_model`]), payment events to [`crate::payments`],
//! each kind in its own run, in delivery order.

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome};
use microshop_messaging::outbox::OutboxTransaction;

use crate::metrics::OrderMetrics;
use crate::payments::{self, Paid};
use crate::read_model;
use crate::settle::{self, Settled};

/// What a batch did, reported once committed.
#[derive(Debug, Default)]
pub struct Applied {
    settled: Settled,
    paid: Paid,
}

/// Applies the product and payment services' events to orders.
#[derive(Clone)]
pub struct EventsHandler {
    metrics: OrderMetrics,
}

impl EventsHandler {
    /// A handler counting orders on `metrics`.
    pub fn new(metrics: OrderMetrics) -> Self {
        Self { metrics }
    }
}

/// The kinds of events applied together, one run at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stock,
    Product,
    Payment,
}

impl Kind {
    fn of(event: &Event) -> Option<Self> {
        if settle::is_stock_answer(event) {
            Some(Self::Stock)
        } else if read_model::is_product_change(event) {
            Some(Self::Product)
        } else if payments::applies_to(event) {
            Some(Self::Payment)
        } else {
            None
        }
    }
}

impl Handler for EventsHandler {
    type Applied = Applied;

    fn handles(&self, event: &Event) -> bool {
        Kind::of(event).is_some()
    }

    async fn apply(
        &self,
        tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<Applied>, HandlerError> {
        let mut applied = Applied::default();
        let mut rejected = Vec::new();
        for run in events.chunk_by(|a, b| Kind::of(&a.event) == Kind::of(&b.event)) {
            match Kind::of(&run[0].event) {
                Some(Kind::Stock) => {
                    let outcome = settle::stock_answers(tx, run).await?;
                    rejected.extend(outcome.rejected);
                    applied.settled.extend(outcome.applied);
                }
                Some(Kind::Product) => rejected.extend(read_model::apply(tx, run).await?),
                Some(Kind::Payment) => {
                    let outcome = payments::apply(tx, run).await?;
                    rejected.extend(outcome.rejected);
                    applied.paid.extend(outcome.applied);
                }
                None => {}
            }
        }
        Ok(Outcome { rejected, applied })
    }

    fn committed(&self, applied: Applied) {
        settle::committed(&self.metrics, applied.settled);
        payments::committed(&self.metrics, applied.paid);
    }
}
