//! Settling orders with the product service's answers: `stock.reserved` confirms a `PENDING`
//! order (`order.confirmed`), `stock.rejected` rejects it (`order.rejected`), each at most once,
//! as [`decide`] rules; an answer for an order this database does not know is refused
//! (dead-lettered). Stock reserved for an order that was rejected meanwhile (no answer came in
//! time) is given back: the late `stock.reserved` is answered with `order.cancelled`.

use std::collections::HashSet;

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Outcome, Rejected, event_span};
use microshop_messaging::outbox::OutboxTransaction;

use crate::announce::{self, About, With};
use crate::db::orders::{self, Settlement};
use crate::domain::lifecycle::decide;
use crate::domain::{Actor, Decision, Step};
use crate::metrics::OrderMetrics;

/// Orders that changed status, for the log and the metrics once committed.
pub type Settled = Vec<(tracing::Span, Settlement)>;

/// The step an event asks for and its order, if it is a stock answer.
fn stock_answer(event: &Event) -> Option<(i64, Step, Option<&str>)> {
    match event {
        Event::StockReserved(r) => Some((r.order_id, Step::StockReserved, None)),
        Event::StockRejected(r) => Some((r.order_id, Step::StockRejected, Some(&r.reason))),
        _ => None,
    }
}

/// Whether `event` is a stock answer this use case applies.
pub fn is_stock_answer(event: &Event) -> bool {
    stock_answer(event).is_some()
}

/// Applies the stock answers of `events` inside `tx`: the orders are locked in id order, the
/// changes written in one statement, their events enqueued.
pub async fn stock_answers(
    tx: &mut OutboxTransaction,
    events: &[Envelope],
) -> Result<Outcome<Settled>, sqlx::Error> {
    let wanted: Vec<(&Envelope, i64, Step, Option<&str>)> = events
        .iter()
        .filter_map(|envelope| {
            stock_answer(&envelope.event).map(|(id, step, reason)| (envelope, id, step, reason))
        })
        .collect();
    let mut batch =
        orders::lock_batch(tx, wanted.iter().map(|(_, id, _, _)| *id).collect()).await?;

    let mut settled = Vec::new();
    let mut settlements = Vec::new();
    let mut announcements = Vec::new();
    let mut rejected = Vec::new();
    let mut undone = HashSet::new();
    for (envelope, order_id, step, reason) in wanted {
        let span = event_span(envelope);
        let Some(order) = batch.orders.get_mut(&order_id) else {
            rejected.push(Rejected {
                event_id: envelope.id,
                reason: format!("order {order_id} does not exist in this order database"),
            });
            continue;
        };
        let about = About::of(order, orders::lines_of(&batch.items, order_id));
        match decide(order.status, step) {
            Decision::Move { to, .. } => {
                let settlement = Settlement {
                    order_id,
                    status: to,
                    reason: reason.map(str::to_owned),
                };
                let with = With {
                    reason,
                    ..With::default()
                };
                if let Some(event) = announce::entered(about, to, with) {
                    announcements.push(Envelope::new(event).caused_by(envelope));
                }
                // A second answer for the same order in this batch sees the first one's status.
                order.status = to;
                settlements.push(settlement.clone());
                settled.push((span, settlement));
            }
            Decision::Undo(_) if undone.insert(order_id) => {
                span.in_scope(|| {
                    tracing::warn!(
                        order.id = order_id,
                        "stock reserved for an order already rejected; asking for it back"
                    );
                });
                let reason = format!("order {order_id} was rejected before its stock was reserved");
                orders::note(
                    tx,
                    order_id,
                    order.status,
                    Actor::ProductService,
                    "stock reserved too late; given back",
                )
                .await?;
                announcements.push(
                    Envelope::new(announce::cancelled(about, &reason, false)).caused_by(envelope),
                );
            }
            _ => span.in_scope(|| {
                tracing::warn!(
                    order.id = order_id,
                    current = order.status.as_str(),
                    answer = envelope.event.type_name(),
                    "order already settled; stock answer ignored"
                );
            }),
        }
    }
    orders::settle_all(tx, &settlements, Actor::ProductService).await?;
    tx.enqueue(&announcements).await?;
    Ok(Outcome {
        rejected,
        applied: settled,
    })
}

/// Counts and logs what [`stock_answers`] settled, once it is committed.
pub fn committed(metrics: &OrderMetrics, settled: Settled) {
    for (span, settlement) in settled {
        metrics.entered(settlement.status);
        span.in_scope(|| {
            tracing::info!(
                order.id = settlement.order_id,
                status = settlement.status.as_str(),
                reason = settlement.reason,
                "order settled"
            );
        });
    }
}
