//! What the payment service's events do to orders: `payment.succeeded` makes a `CONFIRMED` order
//! `PAID` (`order.paid`), once; money that arrives for an order that is over (cancelled by its
//! buyer or the payment timeout meanwhile, or rejected) is sent back: the order stays as it is
//! and `order.cancelled` with `refund` asks the payment service to refund it. `payment.failed`
//! and `payment.refunded` leave a note on the order's timeline. An event for an order this
//! database does not know, or a payment for an order that was never confirmed, is refused
//! (dead-lettered: a person must look).
//!
//! The order's row lock orders this with a cancellation by hand and with the payment-timeout
//! sweep: whichever comes second sees what the first did.

use std::collections::HashSet;

use microshop_events::{Envelope, Event, PaymentSucceeded};
use microshop_messaging::consumer::{Outcome, Rejected, event_span};
use microshop_messaging::outbox::OutboxTransaction;

use crate::announce::{self, About, With};
use crate::db::orders::{self, Details, Locked};
use crate::domain::lifecycle::decide;
use crate::domain::{Actor, Decision, OrderStatus, Step};

/// Orders paid, for the metrics once committed.
pub type Paid = Vec<(tracing::Span, i64)>;

/// The order a payment event is about, if it is one.
fn order_of(event: &Event) -> Option<i64> {
    match event {
        Event::PaymentSucceeded(p) => Some(p.order_id),
        Event::PaymentFailed(p) => Some(p.order_id),
        Event::PaymentRefunded(p) => Some(p.order_id),
        _ => None,
    }
}

/// Whether this use case applies `event`.
pub fn applies_to(event: &Event) -> bool {
    order_of(event).is_some()
}

/// Applies the payment events of `events` inside `tx`, locking their orders in id order.
pub async fn apply(
    tx: &mut OutboxTransaction,
    events: &[Envelope],
) -> Result<Outcome<Paid>, sqlx::Error> {
    let mut batch = orders::lock_batch(
        tx,
        events.iter().filter_map(|e| order_of(&e.event)).collect(),
    )
    .await?;
    let mut paid = Vec::new();
    let mut rejected = Vec::new();
    let mut refunds_asked = HashSet::new();
    for envelope in events {
        let Some(order_id) = order_of(&envelope.event) else {
            continue;
        };
        let span = event_span(envelope);
        let Some(order) = batch.orders.get_mut(&order_id) else {
            rejected.push(Rejected {
                event_id: envelope.id,
                reason: format!("order {order_id} does not exist in this order database"),
            });
            continue;
        };
        let about = About::of(order, orders::lines_of(&batch.items, order_id));
        match &envelope.event {
            Event::PaymentSucceeded(payment) => {
                let outcome = succeeded(tx, order, about, payment, envelope).await?;
                match outcome {
                    Succeeded::Paid => paid.push((span, order_id)),
                    Succeeded::Refund(reason) if refunds_asked.insert(order_id) => {
                        let event = announce::cancelled(about, &reason, true);
                        tx.enqueue(&[Envelope::new(event).caused_by(envelope)])
                            .await?;
                    }
                    Succeeded::Refund(_) | Succeeded::Ignored => {}
                    Succeeded::Refused(reason) => rejected.push(Rejected {
                        event_id: envelope.id,
                        reason,
                    }),
                }
            }
            Event::PaymentFailed(failure) => {
                let note = format!("payment {} failed: {}", failure.payment_id, failure.reason);
                orders::note(tx, order_id, order.status, Actor::PaymentService, &note).await?;
            }
            Event::PaymentRefunded(refund) => {
                let note = format!(
                    "payment {} refunded ({} cents)",
                    refund.payment_id, refund.amount_cents
                );
                orders::note(tx, order_id, order.status, Actor::PaymentService, &note).await?;
            }
            _ => {}
        }
    }
    Ok(Outcome {
        rejected,
        applied: paid,
    })
}

/// What a `payment.succeeded` did.
enum Succeeded {
    /// The order is paid.
    Paid,
    /// The order is over: the money goes back, for this reason.
    Refund(String),
    /// Already paid: nothing to do.
    Ignored,
    /// Not applicable (an order never confirmed): dead-lettered with this reason.
    Refused(String),
}

/// Applies one `payment.succeeded` to its locked order.
async fn succeeded(
    tx: &mut OutboxTransaction,
    order: &mut Locked,
    about: About<'_>,
    payment: &PaymentSucceeded,
    envelope: &Envelope,
) -> Result<Succeeded, sqlx::Error> {
    let span = event_span(envelope);
    let order_id = order.id;
    Ok(match decide(order.status, Step::Paid) {
        Decision::Move { to, .. } => {
            let details = Details {
                payment_id: Some(payment.payment_id),
                ..Details::default()
            };
            orders::transition(
                tx,
                order_id,
                order.status,
                to,
                Actor::PaymentService,
                &details,
            )
            .await?;
            let with = With {
                payment_id: Some(payment.payment_id),
                ..With::default()
            };
            if let Some(event) = announce::entered(about, to, with) {
                tx.enqueue(&[Envelope::new(event).caused_by(envelope)])
                    .await?;
            }
            order.status = to;
            Succeeded::Paid
        }
        Decision::Undo(_) => {
            let reason = format!(
                "payment {} arrived after the order was {}; it is refunded",
                payment.payment_id,
                order.status.as_str().to_lowercase()
            );
            span.in_scope(|| tracing::warn!(order.id = order_id, %reason, "late payment"));
            orders::note(tx, order_id, order.status, Actor::PaymentService, &reason).await?;
            Succeeded::Refund(reason)
        }
        Decision::Unchanged => {
            span.in_scope(|| {
                tracing::warn!(
                    order.id = order_id,
                    payment.id = payment.payment_id,
                    current = order.status.as_str(),
                    "order already paid; payment event ignored"
                );
            });
            Succeeded::Ignored
        }
        Decision::Invalid(refusal) => Succeeded::Refused(format!(
            "payment {} for order {order_id}: {refusal}",
            payment.payment_id
        )),
    })
}

/// Counts and logs what [`apply`] paid, once it is committed.
pub fn committed(metrics: &crate::metrics::OrderMetrics, paid: Paid) {
    for (span, order_id) in paid {
        metrics.entered(OrderStatus::Paid);
        span.in_scope(|| tracing::info!(order.id = order_id, "order paid"));
    }
}
