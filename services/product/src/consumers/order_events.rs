//! `product.order-events`: new orders, whose stock [`crate::reserve`] takes, and cancelled
//! ones, whose stock [`crate::release`] gives back.

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome};
use microshop_messaging::outbox::OutboxTransaction;
use prometheus::{IntCounterVec, Opts, Registry};

use crate::release;
use crate::reserve::{self, Tally};

/// What a batch did to stock, for `stock_reservations_total`.
#[derive(Debug, Default)]
pub struct Applied {
    tally: Tally,
    released: u64,
    /// The products whose stock the batch changed (a product may be named by several runs),
    /// for read caches to forget once the batch is committed.
    pub changed_products: Vec<i64>,
}

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
                "Stock reservations, by outcome: reserved or rejected (new orders), released \
                 (given back for a cancelled order).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(reservations.clone()))?;
        for outcome in ["reserved", "rejected", "released"] {
            reservations.with_label_values(&[outcome]);
        }
        Ok(Self { reservations })
    }
}

impl Handler for OrderEventsHandler {
    type Applied = Applied;

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::OrderCreated(_) | Event::OrderCancelled(_))
    }

    async fn apply(
        &self,
        tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<Applied>, HandlerError> {
        // In delivery order, a run of one kind at a time (one statement per run): a
        // cancellation then finds the reservation made before it, and an order whose
        // cancellation came first finds the cancellation's mark and is refused.
        let mut applied = Applied::default();
        let is_cancellation =
            |envelope: &Envelope| matches!(envelope.event, Event::OrderCancelled(_));
        for run in events.chunk_by(|a, b| is_cancellation(a) == is_cancellation(b)) {
            if is_cancellation(&run[0]) {
                let released = release::for_orders(tx, run).await?;
                applied.released += released.orders;
                applied.changed_products.extend(released.changed_products);
            } else {
                let tally = reserve::for_orders(tx, run).await?;
                applied.tally.reserved += tally.reserved;
                applied.tally.rejected += tally.rejected;
                applied.changed_products.extend(tally.changed_products);
            }
        }
        Ok(Outcome::applied(applied))
    }

    fn committed(&self, applied: Applied) {
        for (outcome, count) in [
            ("reserved", applied.tally.reserved),
            ("rejected", applied.tally.rejected),
            ("released", applied.released),
        ] {
            self.reservations
                .with_label_values(&[outcome])
                .inc_by(count);
        }
    }

    async fn give_up(
        &self,
        tx: &mut OutboxTransaction,
        event: &Envelope,
        reason: &str,
    ) -> Result<bool, HandlerError> {
        Ok(reserve::refuse(tx, event, reason).await?)
    }
}
