//! Giving stock back, the product side of an order that will not go ahead: an `order.cancelled`
//! gives every line held for the order back to stock, and one `stock.released` names them all
//! with each product's stock afterwards, exactly once (the reservation moves from held to
//! released). A cancellation that arrives before its order leaves a `cancelled` mark (its lines
//! from the event's items), so the order's stock is never taken afterwards. [`order`] decides
//! against the batch's locked [`Shelf`] (see [`crate::saga`], which writes the result).

use microshop_events::{Envelope, Event, OrderCancelled, StockReleased};
use microshop_messaging::consumer::event_span;

use crate::domain::ledger::Ledger;
use crate::domain::reservation::{self, Line};
use crate::domain::shelf::Shelf;
use crate::inventory::{Cause, StockChange};
use crate::reserve::stock_line;

/// Gives back what `ledger` holds for the cancelled `order`, once, adding the stock changes to
/// `changes`; returns `stock.released`, or `None` when nothing was held (none yet: the mark is
/// left; given back or shipped already: nothing changes). `envelope` carries the trace.
pub fn order(
    shelf: &mut Shelf,
    ledger: &mut Ledger,
    order: &OrderCancelled,
    envelope: &Envelope,
    changes: &mut Vec<StockChange>,
) -> Option<Event> {
    let span = event_span(envelope);
    if ledger.get(order.order_id).is_none() {
        // A mark's lines only say what was ordered: each counts at least one unit.
        let lines = reservation::merge(order.items.iter().map(|item| Line {
            product_id: item.product_id,
            quantity: item.quantity.max(1),
        }));
        ledger.forbid(order.order_id, lines);
        span.in_scope(|| {
            tracing::info!(
                order.id = order.order_id,
                "order cancelled with no stock held for it; none will be"
            );
        });
        return None;
    }
    let held = ledger.release(order.order_id)?;
    let back = shelf.give_back(&held);
    changes.extend(back.iter().filter_map(|b| b.change(Cause::Release)));
    span.in_scope(|| {
        tracing::info!(
            order.id = order.order_id,
            lines = back.len(),
            units = back.iter().map(|b| b.quantity).sum::<i64>(),
            reason = %order.reason,
            "stock released"
        );
    });
    Some(Event::StockReleased(StockReleased {
        order_id: order.order_id,
        items: back.iter().map(stock_line).collect(),
    }))
}
