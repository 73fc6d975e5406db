//! `product.order-events`: new orders, whose stock [`crate::reserve`] takes, cancelled ones,
//! whose stock [`crate::release`] gives back (both through [`crate::saga`], which locks the
//! batch's products first), and shipped and delivered ones, whose reservations
//! [`crate::delivery`] fulfils and whose purchases it records.

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome};
use microshop_messaging::outbox::OutboxTransaction;
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use crate::catalog::Catalog;
use crate::delivery::{self, Delivered};
use crate::reserve;
use crate::saga::{self, Tally};

/// What a batch did, for `stock_reservations_total` and `purchases_recorded_total`.
#[derive(Debug, Default)]
pub struct Applied {
    tally: Tally,
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
    /// `order.created` and `order.cancelled`: stock taken and given back.
    Stock,
    /// `order.shipped` and `order.delivered`.
    Delivery,
}

impl Kind {
    fn of(envelope: &Envelope) -> Self {
        if delivery::applies_to(&envelope.event) {
            Self::Delivery
        } else {
            Self::Stock
        }
    }
}

impl From<saga::Error> for HandlerError {
    fn from(error: saga::Error) -> Self {
        match error {
            saga::Error::Db(error) => error.into(),
            // Not as locked means a bug, not a passing state: applied one event at a time, an
            // order that still fails is answered `stock.rejected` rather than retried forever.
            saga::Error::NotAsLocked(_) => Self::Permanent(error.to_string()),
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
                "Stock reservations of orders (not lines), by outcome: reserved (every line \
                 taken) or rejected (answered stock.rejected), released (given back for a \
                 cancelled order), fulfilled (the order shipped or was delivered).",
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
        // Every product the batch's orders and cancellations name is locked first, in id order.
        // Then in delivery order, a run of one kind at a time: within a run of orders and
        // cancellations, a cancellation finds the reservation made before it and an order whose
        // cancellation came first finds its mark and is refused; a shipment finds the
        // reservation made before it and leaves nothing for a later cancellation to give back.
        let mut locked = saga::lock(tx, events).await?;
        let mut applied = Applied::default();
        for run in events.chunk_by(|a, b| Kind::of(a) == Kind::of(b)) {
            match Kind::of(&run[0]) {
                Kind::Stock => {
                    let tally = saga::apply(tx, &mut locked, run).await?;
                    applied.tally.reserved += tally.reserved;
                    applied.tally.rejected += tally.rejected;
                    applied.tally.released += tally.released;
                    applied.changed_products.extend(tally.changed_products);
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
            ("released", applied.tally.released),
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
