//! Giving stock back, the product side of an order that will not go ahead: for each
//! `order.cancelled` the units held for the order return to stock and `stock.released` says so,
//! exactly once (the reservation moves from held to released in the same transaction). A
//! cancellation that arrives before its order leaves a mark, so the order's stock is never
//! taken afterwards. The stock bookkeeping of [`inventory::stock_changed`] goes with it.

use microshop_events::{Envelope, Event, OrderCancelled, StockReleased};
use microshop_messaging::consumer::event_span;
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::stock::{self, Reservation};
use crate::inventory::{self, Cause, StockChange};

/// What a run of cancellations gave back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Released {
    /// Orders that had stock to give back.
    pub orders: u64,
    /// The products whose stock changed, each once (read caches forget them after the commit).
    pub changed_products: Vec<i64>,
}

/// Gives back the stock of every `order.cancelled` of `events`.
pub async fn for_orders(
    tx: &mut OutboxTransaction,
    events: &[Envelope],
) -> Result<Released, sqlx::Error> {
    let mut cancelled: Vec<(&Envelope, &OrderCancelled)> = events
        .iter()
        .filter_map(|envelope| match &envelope.event {
            Event::OrderCancelled(order) => Some((envelope, order)),
            _ => None,
        })
        .collect();
    // Product rows are locked in product order, as reservations lock them.
    cancelled.sort_by_key(|(_, order)| order.product_id);
    let mut answers = Vec::new();
    let mut changes = Vec::new();
    for (envelope, order) in cancelled {
        let span = event_span(envelope);
        let Some((held, remaining)) = stock::release(tx, order.order_id).await? else {
            let mark = Reservation {
                order_id: order.order_id,
                product_id: order.product_id,
                quantity: order.quantity.max(1),
            };
            stock::forbid(tx, &mark).await?;
            span.in_scope(|| {
                tracing::info!(
                    order.id = order.order_id,
                    "order cancelled with no stock held for it; none will be"
                );
            });
            continue;
        };
        span.in_scope(|| {
            tracing::info!(
                order.id = held.order_id,
                product.id = held.product_id,
                quantity = held.quantity,
                reason = %order.reason,
                "stock released"
            );
        });
        if let Some(stock_after) = remaining {
            changes.push(StockChange {
                product_id: held.product_id,
                stock_after,
                delta: held.quantity,
                cause: Cause::Release,
            });
        }
        answers.push(
            Envelope::new(Event::StockReleased(StockReleased {
                order_id: held.order_id,
                product_id: held.product_id,
                quantity: held.quantity,
                remaining: remaining.unwrap_or(0),
            }))
            .caused_by(envelope),
        );
    }
    let orders = answers.len() as u64;
    let changed_products = inventory::stock_changed(tx, &changes, answers).await?;
    Ok(Released {
        orders,
        changed_products,
    })
}
