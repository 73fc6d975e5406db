//! Reserving stock for a new order, the product side of the order saga: an `order.created`
//! takes every one of its lines or none (a product named twice is one line with the summed
//! quantity); the answer is `stock.reserved` with each line's remaining stock, or
//! `stock.rejected` naming each short line and summing them up in one sentence. [`order`]
//! decides against the batch's locked [`Shelf`] (see [`crate::saga`], which writes the result).
//! An order is reserved at most once: another `order.created` for it is answered from its
//! reservation. [`refuse`] answers an order that cannot be applied at all (it fails the same way
//! every time) with `stock.rejected`.

use microshop_events::{
    Envelope, Event, OrderCreated, ShortLine, StockLine, StockRejected, StockReserved,
};
use microshop_messaging::consumer::event_span;
use microshop_messaging::outbox::OutboxTransaction;

use crate::domain::ledger::{Ledger, Reservation};
use crate::domain::reservation::{self, Line, ReservationState};
use crate::domain::shelf::{LineStock, Shelf};
use crate::inventory::{Cause, StockChange};

/// What became of an `order.created`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Its stock was taken now.
    Reserved,
    /// It cannot be served (or was cancelled before it arrived): nothing was taken.
    Rejected,
    /// It was reserved before: answered `stock.reserved` again, nothing taken.
    AnsweredAgain,
}

/// Reserves every line of `order` on `shelf` or none, records it in `ledger`, adds the stock it
/// took to `changes`, and returns the answer. `envelope` carries the order's trace for the log.
pub fn order(
    shelf: &mut Shelf,
    ledger: &mut Ledger,
    order: &OrderCreated,
    envelope: &Envelope,
    changes: &mut Vec<StockChange>,
) -> (Decision, Event) {
    let (decision, answer) = match ledger.get(order.order_id) {
        Some(known) => answer_again(shelf, order.order_id, known),
        None => take(shelf, ledger, order, changes),
    };
    event_span(envelope).in_scope(|| log(&answer));
    (decision, answer)
}

fn take(
    shelf: &mut Shelf,
    ledger: &mut Ledger,
    order: &OrderCreated,
    changes: &mut Vec<StockChange>,
) -> (Decision, Event) {
    let lines = reservation::merge(order.items.iter().map(|item| Line {
        product_id: item.product_id,
        quantity: item.quantity,
    }));
    match shelf.take(&lines) {
        Ok(taken) => {
            changes.extend(taken.iter().filter_map(|t| t.change(Cause::Order)));
            ledger.hold(order.order_id, lines);
            let reserved = StockReserved {
                order_id: order.order_id,
                items: taken.iter().map(stock_line).collect(),
            };
            (Decision::Reserved, Event::StockReserved(reserved))
        }
        Err(short) => {
            let reason = reservation::rejection(&short, lines.len());
            let lines = short
                .iter()
                .map(|s| ShortLine {
                    product_id: s.product_id,
                    requested: s.requested,
                    available: s.available,
                    reason: s.to_string(),
                })
                .collect();
            (Decision::Rejected, rejected(order.order_id, reason, lines))
        }
    }
}

/// The answer for an order that already has a reservation: its lines again with the stock now,
/// or, when it was given back or cancelled first, a rejection.
fn answer_again(shelf: &Shelf, order_id: i64, known: &Reservation) -> (Decision, Event) {
    if known.state.is_reserved() {
        let items = known
            .lines
            .iter()
            .map(|line| StockLine {
                product_id: line.product_id,
                quantity: line.quantity,
                remaining: shelf.stock(line.product_id).unwrap_or(0),
            })
            .collect();
        let reserved = StockReserved { order_id, items };
        return (Decision::AnsweredAgain, Event::StockReserved(reserved));
    }
    let reason = match known.state {
        ReservationState::Released => {
            format!(
                "order {order_id} was cancelled and its stock given back; none is reserved again"
            )
        }
        _ => {
            format!("order {order_id} was cancelled before it arrived; its stock is never reserved")
        }
    };
    (Decision::Rejected, rejected(order_id, reason, Vec::new()))
}

/// `moved` as a line of `stock.reserved` or `stock.released` (a product that is gone has 0).
pub(crate) fn stock_line(moved: &LineStock) -> StockLine {
    StockLine {
        product_id: moved.product_id,
        quantity: moved.quantity,
        remaining: moved.remaining.unwrap_or(0),
    }
}

/// `stock.rejected` for order `order_id`.
fn rejected(order_id: i64, reason: String, lines: Vec<ShortLine>) -> Event {
    Event::StockRejected(StockRejected {
        order_id,
        reason,
        lines,
    })
}

fn log(answer: &Event) {
    match answer {
        Event::StockReserved(r) => tracing::info!(
            order.id = r.order_id,
            lines = r.items.len(),
            units = r.items.iter().map(|l| l.quantity).sum::<i64>(),
            "stock reserved"
        ),
        Event::StockRejected(r) => tracing::info!(
            order.id = r.order_id,
            short_lines = r.lines.len(),
            reason = %r.reason,
            "stock rejected"
        ),
        _ => {}
    }
}

/// Answers an `order.created` that fails every time it is applied with `stock.rejected`
/// naming the failure (and no lines: the order as a whole could not be applied), instead of
/// leaving the order without an answer. Returns `false` for any other event.
pub async fn refuse(
    tx: &mut OutboxTransaction,
    event: &Envelope,
    failure: &str,
) -> Result<bool, sqlx::Error> {
    let Event::OrderCreated(order) = &event.event else {
        return Ok(false);
    };
    let answer = rejected(
        order.order_id,
        format!("the product service cannot reserve stock for this order: {failure}"),
        Vec::new(),
    );
    event_span(event).in_scope(|| log(&answer));
    tx.enqueue(&[Envelope::new(answer).caused_by(event)])
        .await?;
    Ok(true)
}
