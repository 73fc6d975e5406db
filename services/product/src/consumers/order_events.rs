//! `product.order-events`: new orders, whose stock [`crate::reserve`] takes.

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome};
use microshop_messaging::outbox::OutboxTransaction;
use prometheus::{IntCounterVec, Opts, Registry};

use crate::reserve::{self, Tally};

/// Applies order events to stock.
#[derive(Clone)]
pub struct OrderEventsHandler {
    reservations: IntCounterVec,
}

impl OrderEventsHandler {
    /// A handler counting `stock_reservations_total` on `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
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
        Ok(Self { reservations })
    }
}

impl Handler for OrderEventsHandler {
    type Applied = Tally;

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::OrderCreated(_))
    }

    async fn apply(
        &self,
        tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<Tally>, HandlerError> {
        Ok(Outcome::applied(reserve::for_orders(tx, events).await?))
    }

    fn committed(&self, tally: Tally) {
        self.reservations
            .with_label_values(&["reserved"])
            .inc_by(tally.reserved);
        self.reservations
            .with_label_values(&["rejected"])
            .inc_by(tally.rejected);
    }
}
