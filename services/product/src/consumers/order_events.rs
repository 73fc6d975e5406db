//! `product.order-events`: new orders, whose stock [`crate::reserve`] takes, cancelled ones,
//! whose stock [`crate::release`] gives back, and shipped and delivered ones, whose reservations
//! [`crate::delivery`] fulfils and whose purchases it records.

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome};
use microshop_messaging::outbox::OutboxTransaction;
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use crate::catalog::Catalog;
use crate::delivery::{self, Delivered};
use crate::release;
use crate::reserve::{self, Tally};

/// What a batch did, for `stock_reservations_total` and `purchases_recorded_total`.
#[derive(Debug, Default)]
pub struct Applied {
    tally: Tally,
    released: u64,
    delivered: Delivered,
    /// The products whose stock the batch changed (a product may be named by several runs),
    /// for read caches to forget once the batch is committed.
    pub changed_products: Vec<i64>,
}

/// Applies order events to stock and purchases.
#[derive(Clone)]
pub struct OrderEventsHandler {
    reservations: IntCounterVec,
    purchases: IntCounter,
    catalog: Catalog,
}

/// The kinds of events applied together, one run at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Order,
    Cancellation,
    Delivery,
}

impl Kind {
    fn of(envelope: &Envelope) -> Self {
        match &envelope.event {
            Event::OrderCancelled(_) => Self::Cancellation,
            Event::OrderShipped(_) | Event::OrderDelivered(_) => Self::Delivery,
            // `order.created`, the only other event handled.
            _ => Self::Order,
        }
    }
}

impl OrderEventsHandler {
    /// A handler counting `stock_reservations_total` and `purchases_recorded_total` on
    /// `registry`, telling `catalog` which products' stock it changed.
    pub fn new(registry: &Registry, catalog: Catalog) -> Result<Self, prometheus::Error> {
        let reservations = IntCounterVec::new(
            Opts::new(
                "stock_reservations_total",
                "Stock reservations, by outcome: reserved or rejected (new orders), released \
                 (given back for a cancelled order), fulfilled (the order shipped or was \
                 delivered).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(reservations.clone()))?;
        for outcome in ["reserved", "rejected", "released", "fulfilled"] {
            reservations.with_label_values(&[outcome]);
        }
        let purchases = IntCounter::new(
            "purchases_recorded_total",
            "Products a buyer received for the first time (order.delivered), which verify their \
             reviews.",
        )?;
        registry.register(Box::new(purchases.clone()))?;
        Ok(Self {
            reservations,
            purchases,
            catalog,
        })
    }
}

impl Handler for OrderEventsHandler {
    type Applied = Applied;

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::OrderCreated(_) | Event::OrderCancelled(_))
            || delivery::applies_to(event)
    }

    async fn apply(
        &self,
        tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> Result<Outcome<Applied>, HandlerError> {
        // In delivery order, a run of one kind at a time (one statement per run): a
        // cancellation then finds the reservation made before it, an order whose cancellation
        // came first finds the cancellation's mark and is refused, and a shipment finds the
        // reservation made before it and leaves nothing for a later cancellation to give back.
        let mut applied = Applied::default();
        for run in events.chunk_by(|a, b| Kind::of(a) == Kind::of(b)) {
            match Kind::of(&run[0]) {
                Kind::Order => {
                    let tally = reserve::for_orders(tx, run).await?;
                    applied.tally.reserved += tally.reserved;
                    applied.tally.rejected += tally.rejected;
                    applied.changed_products.extend(tally.changed_products);
                }
                Kind::Cancellation => {
                    let released = release::for_orders(tx, run).await?;
                    applied.released += released.orders;
                    applied.changed_products.extend(released.changed_products);
                }
                Kind::Delivery => {
                    let delivered = delivery::for_orders(tx, run).await?;
                    applied.delivered.fulfilled += delivered.fulfilled;
                    applied.delivered.purchases += delivered.purchases;
                }
            }
        }
        Ok(Outcome::applied(applied))
    }

    fn committed(&self, applied: Applied) {
        for (outcome, count) in [
            ("reserved", applied.tally.reserved),
            ("rejected", applied.tally.rejected),
            ("released", applied.released),
            ("fulfilled", applied.delivered.fulfilled),
        ] {
            self.reservations
                .with_label_values(&[outcome])
                .inc_by(count);
        }
        self.purchases.inc_by(applied.delivered.purchases);
        if !applied.changed_products.is_empty() {
            // Readers of the catalogue see the new stock once Redis is told (the consumer does
            // not wait for it: nobody waits on this write's answer).
            let catalog = self.catalog.clone();
            tokio::spawn(async move { catalog.products_changed(&applied.changed_products).await });
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
