//! The stock side of the order saga for one consumer batch, in the consumer's transaction:
//! [`lock`] locks every product the batch's orders and cancellations name, in id order, with one
//! statement; [`apply`] then applies a run of `order.created` ([`crate::reserve`]) and
//! `order.cancelled` ([`crate::release`]) in delivery order against those rows, in memory, and
//! writes what changed in a few statements: the new reservations with their lines, the ones
//! given back, one guarded stock update, and the answers with the stock bookkeeping of
//! [`inventory::stock_changed`].
//!
//! Locking everything up front, in one order, is what keeps two replicas on overlapping batches
//! from deadlocking: the second queues on the first row they share and starts once the first
//! committed, against the stock the first left.

use microshop_events::{Envelope, Event};
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::{reservations, stock};
use crate::domain::ledger::Ledger;
use crate::domain::shelf::Shelf;
use crate::inventory;
use crate::release;
use crate::reserve::{self, Decision};

/// What a run of order events did, for `stock_reservations_total`, and whose stock it changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Orders whose stock was taken.
    pub reserved: u64,
    /// Orders answered `stock.rejected`.
    pub rejected: u64,
    /// Orders whose stock was given back.
    pub released: u64,
    /// The products whose stock changed, each once (read caches forget them after the commit).
    pub changed_products: Vec<i64>,
}

/// Why a run could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// PostgreSQL failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A locked row was not as the lock showed it when written: nothing of the batch is kept.
    #[error("{0} changed while this batch held its lock; nothing of the batch was applied")]
    NotAsLocked(String),
}

/// Locks, in id order and with one statement, every product that `events`' orders and
/// cancellations name, and the products of the lines their orders have stored (a cancellation
/// gives those back); returns them on a shelf. Other events name nothing.
pub async fn lock(tx: &mut OutboxTransaction, events: &[Envelope]) -> Result<Shelf, sqlx::Error> {
    let mut products: Vec<i64> = events
        .iter()
        .flat_map(|envelope| match &envelope.event {
            Event::OrderCreated(order) => {
                order.items.iter().map(|i| i.product_id).collect::<Vec<_>>()
            }
            Event::OrderCancelled(order) => order.items.iter().map(|i| i.product_id).collect(),
            _ => Vec::new(),
        })
        .collect();
    products.extend(reservations::products_of(tx, &orders_of(events)).await?);
    products.sort_unstable();
    products.dedup();
    Ok(Shelf::new(stock::lock(tx, &products).await?))
}

/// Applies the `order.created` and `order.cancelled` of `run`, in delivery order, against
/// `shelf` (locked by [`lock`] for the whole batch), and writes the result.
pub async fn apply(
    tx: &mut OutboxTransaction,
    shelf: &mut Shelf,
    run: &[Envelope],
) -> Result<Tally, Error> {
    let stored = reservations::lock(tx, &orders_of(run)).await?;
    // A reservation another replica stored after `lock` read the lines may name a product the
    // batch did not lock: lock it too (out of order, but only in that race).
    let mut unlocked: Vec<i64> = stored
        .values()
        .flat_map(|r| r.lines.iter().map(|l| l.product_id))
        .filter(|&p| !shelf.holds(p))
        .collect();
    if !unlocked.is_empty() {
        unlocked.sort_unstable();
        unlocked.dedup();
        shelf.extend(stock::lock(tx, &unlocked).await?);
    }
    let mut ledger = Ledger::new(stored);
    let mut tally = Tally::default();
    let mut answers = Vec::new();
    let mut changes = Vec::new();
    for envelope in run {
        let answer = match &envelope.event {
            Event::OrderCreated(order) => {
                let (decision, answer) =
                    reserve::order(shelf, &mut ledger, order, envelope, &mut changes);
                match decision {
                    Decision::Reserved => tally.reserved += 1,
                    Decision::Rejected => tally.rejected += 1,
                    Decision::AnsweredAgain => {}
                }
                Some(answer)
            }
            Event::OrderCancelled(order) => {
                let answer = release::order(shelf, &mut ledger, order, envelope, &mut changes);
                tally.released += u64::from(answer.is_some());
                answer
            }
            _ => None,
        };
        // The answer continues the order's trace.
        answers.extend(answer.map(|answer| Envelope::new(answer).caused_by(envelope)));
    }
    write(tx, shelf, &ledger).await?;
    tally.changed_products = inventory::stock_changed(tx, &changes, answers).await?;
    Ok(tally)
}

/// The orders `events` name, by id, each once.
fn orders_of(events: &[Envelope]) -> Vec<i64> {
    let mut orders: Vec<i64> = events
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::OrderCreated(order) => Some(order.order_id),
            Event::OrderCancelled(order) => Some(order.order_id),
            _ => None,
        })
        .collect();
    orders.sort_unstable();
    orders.dedup();
    orders
}

/// Writes what the run changed: new reservations, the stored ones given back, the stock.
async fn write(
    tx: &mut OutboxTransaction,
    shelf: &mut Shelf,
    ledger: &Ledger,
) -> Result<(), Error> {
    reservations::record(tx, &ledger.made()).await?;
    let released = ledger.released();
    let moved = reservations::release(tx, &released).await?;
    if moved.len() != released.len() {
        let missing: Vec<i64> = released
            .into_iter()
            .filter(|order| !moved.contains(order))
            .collect();
        return Err(Error::NotAsLocked(format!(
            "the reservations of orders {missing:?}"
        )));
    }
    let deltas = shelf.unwritten();
    let written = stock::write(tx, &deltas).await?;
    for delta in &deltas {
        if !written.contains(&(delta.product_id, delta.stock_after)) {
            return Err(Error::NotAsLocked(format!(
                "the stock of product {}",
                delta.product_id
            )));
        }
    }
    shelf.written();
    Ok(())
}
