//! Reserving stock for new orders, the product side of the order saga: for each
//! `order.created` the units are taken if there are enough (never more than there are), the
//! reservation is recorded, and the answer (`stock.reserved` or `stock.rejected`) goes into the
//! outbox, all in the consumer's transaction, with the stock bookkeeping of
//! [`inventory::stock_changed`]. Archived products are no longer sold. [`refuse`] answers an
//! order that cannot be applied at all (it fails the same way every time) with `stock.rejected`.

use microshop_events::{Envelope, Event, OrderCreated, StockRejected, StockReserved};
use microshop_messaging::consumer::event_span;
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::stock::{self, Reservation, ReservationState};
use crate::inventory::{self, Cause, StockChange};

/// How many reservations succeeded and failed, for `stock_reservations_total`, and whose stock
/// they changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Orders whose stock was taken.
    pub reserved: u64,
    /// Orders that could not be served.
    pub rejected: u64,
    /// The products whose stock changed, each once (read caches forget them after the commit).
    pub changed_products: Vec<i64>,
}

/// Reserves stock for every `order.created` of `events` and enqueues the answers. An order
/// is reserved at most once, whatever number of events announce it: another `order.created`
/// for an order whose stock is held is answered `stock.reserved` again, and one for an order
/// cancelled meanwhile `stock.rejected`.
pub async fn for_orders(
    tx: &mut OutboxTransaction,
    events: &[Envelope],
) -> Result<Tally, sqlx::Error> {
    let mut orders: Vec<(&Envelope, &OrderCreated)> = events
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::OrderCreated(order) => Some((envelope, order)),
            _ => None,
        })
        .collect();
    // Rows are locked in product order, so two replicas working on overlapping batches cannot
    // deadlock; orders for the same product keep their arrival order.
    orders.sort_by_key(|(_, order)| order.product_id);
    let ids: Vec<i64> = orders.iter().map(|(_, order)| order.order_id).collect();
    let mut known = stock::reservations(tx, &ids).await?;
    let mut answers = Vec::with_capacity(orders.len());
    let mut reserved = Vec::with_capacity(orders.len());
    let mut changes = Vec::with_capacity(orders.len());
    for (envelope, order) in orders {
        let answer = match known.get(&order.order_id) {
            Some((_, state)) => answer_again(tx, order, *state).await?,
            None => reserve(tx, order).await?,
        };
        event_span(envelope).in_scope(|| log(&answer));
        if let (Event::StockReserved(r), None) = (&answer, known.get(&order.order_id)) {
            let reservation = Reservation {
                order_id: r.order_id,
                product_id: r.product_id,
                quantity: r.quantity,
            };
            known.insert(r.order_id, (reservation.clone(), ReservationState::Held));
            reserved.push(reservation);
            // Orders of one product arrive in stock order: its last change has its stock now.
            changes.push(StockChange {
                product_id: r.product_id,
                stock_after: r.remaining,
                delta: -r.quantity,
                cause: Cause::Order,
            });
        }
        // The answer continues the order's trace.
        answers.push(Envelope::new(answer).caused_by(envelope));
    }
    stock::record_reservations(tx, &reserved).await?;
    let reserved = reserved.len() as u64;
    let rejected = answers.len() as u64 - reserved;
    let changed_products = inventory::stock_changed(tx, &changes, answers).await?;
    Ok(Tally {
        reserved,
        rejected,
        changed_products,
    })
}

/// The answer for an order that already has a reservation row.
async fn answer_again(
    tx: &mut OutboxTransaction,
    order: &OrderCreated,
    state: ReservationState,
) -> Result<Event, sqlx::Error> {
    let available = stock::on_hand(tx, order.product_id).await?.unwrap_or(0);
    Ok(match state {
        ReservationState::Held | ReservationState::Fulfilled => {
            Event::StockReserved(StockReserved {
                order_id: order.order_id,
                product_id: order.product_id,
                quantity: order.quantity,
                remaining: available,
            })
        }
        ReservationState::Released | ReservationState::Cancelled => {
            Event::StockRejected(StockRejected {
                order_id: order.order_id,
                product_id: order.product_id,
                requested: order.quantity,
                available,
                reason: format!(
                    "order {} was cancelled; its stock is not reserved again",
                    order.order_id
                ),
            })
        }
    })
}

/// Takes the order's units if there are enough; the answer says how it went.
async fn reserve(tx: &mut OutboxTransaction, order: &OrderCreated) -> Result<Event, sqlx::Error> {
    if order.quantity < 1 {
        return Ok(rejected(
            order,
            0,
            format!("quantity must be at least 1, got {}", order.quantity),
        ));
    }
    if let Some(remaining) = stock::take(tx, order.product_id, order.quantity).await? {
        return Ok(Event::StockReserved(StockReserved {
            order_id: order.order_id,
            product_id: order.product_id,
            quantity: order.quantity,
            remaining,
        }));
    }
    let (available, reason) = match stock::standing(tx, order.product_id).await? {
        Some((_, true)) => (0, format!("product {} is no longer sold", order.product_id)),
        Some((available, false)) => (
            available,
            format!(
                "only {available} left of product {}, {} requested",
                order.product_id, order.quantity
            ),
        ),
        None => (0, format!("product {} does not exist", order.product_id)),
    };
    Ok(rejected(order, available, reason))
}

/// `stock.rejected` for `order`.
pub fn rejected(order: &OrderCreated, available: i64, reason: String) -> Event {
    Event::StockRejected(StockRejected {
        order_id: order.order_id,
        product_id: order.product_id,
        requested: order.quantity,
        available,
        reason,
    })
}

fn log(answer: &Event) {
    match answer {
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
        _ => {}
    }
}

/// Answers an `order.created` that fails every time it is applied with `stock.rejected`
/// naming the failure, instead of leaving the order without an answer. Returns `false` for any
/// other event.
pub async fn refuse(
    tx: &mut OutboxTransaction,
    event: &Envelope,
    failure: &str,
) -> Result<bool, sqlx::Error> {
    let Event::OrderCreated(order) = &event.event else {
        return Ok(false);
    };
    let answer = rejected(
        order,
        0,
        format!("the product service cannot reserve stock for this order: {failure}"),
    );
    event_span(event).in_scope(|| log(&answer));
    tx.enqueue(&[Envelope::new(answer).caused_by(event)])
        .await?;
    Ok(true)
}
