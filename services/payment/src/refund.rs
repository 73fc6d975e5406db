//! Refunds: asked for once per payment and reference — by an admin (`POST /api/payments/refund`,
//! the reference being the admin's idempotency key), by `order.cancelled` with `refund`
//! (reference `order-cancelled`), or by a second payment of an already paid order
//! (`duplicate-payment`) —, never more than was paid counting the refunds still pending, under
//! the payment's row lock. The dispatcher ([`crate::dispatch`]) sends them to the provider; the
//! provider's answer or webhook settles each once ([`settle`]), announcing `payment.refunded`.

use microshop_domain::Id;
use microshop_domain::idempotency::IdempotencyKey;
use microshop_events::{Envelope, Event, PaymentRefunded};
use microshop_messaging::outbox::OutboxTransaction;
use sqlx::PgConnection;

use crate::app::App;
use crate::db::payments::{self, PaymentRow};
use crate::db::refunds::{self, NewRefund, RefundRow};
use crate::dispatch;
use crate::domain::payment::Outcome;
use crate::domain::{PaymentStatus, RefundRefusal, refundable};
use crate::error::Error;

/// The reference of the refund `order.cancelled` asks for.
pub const ORDER_CANCELLED: &str = "order-cancelled";

/// The reference of the refund of a second payment for an order already paid.
pub const DUPLICATE_PAYMENT: &str = "duplicate-payment";

/// What asking for a refund did.
#[derive(Debug)]
pub enum Asked {
    /// A new refund, to be sent.
    New(RefundRow),
    /// The refund asked for earlier with the same reference.
    Existing(RefundRow),
}

/// A refund's request: how much (all that is left when `None`), why, and who asks.
pub struct Request<'a> {
    /// In cents.
    pub amount: Option<i64>,
    /// One refund per payment and reference.
    pub reference: &'a str,
    /// For a person.
    pub reason: &'a str,
    /// `admin:<id>`, `order-service`, `payment-service`.
    pub requested_by: &'a str,
}

/// Asks for a refund of `payment`, which the caller has locked.
pub async fn ask(
    conn: &mut PgConnection,
    payment: &PaymentRow,
    request: &Request<'_>,
) -> Result<Asked, Error> {
    let id = Id::new(payment.id).ok_or(sqlx::Error::RowNotFound)?;
    if let Some(existing) = refunds::find_by_reference(conn, payment.id, request.reference).await? {
        if request.amount.is_some_and(|a| a != existing.amount_cents) {
            return Err(Error::IdempotencyKeyReused(request.reference.to_owned()));
        }
        return Ok(Asked::Existing(existing));
    }
    let status = PaymentStatus::parse(&payment.status).unwrap_or(PaymentStatus::Created);
    if !status.took_money() {
        return Err(Error::NotRefundable {
            id,
            status: payment.status.clone(),
        });
    }
    let committed = refunds::committed_cents(conn, payment.id).await?;
    let amount = refundable(payment.amount_cents, committed, request.amount)
        .map_err(|refusal| Error::Refund { id, refusal })?;
    let refund = NewRefund {
        payment_id: payment.id,
        amount_cents: amount,
        reference: request.reference,
        reason: request.reason,
        requested_by: request.requested_by,
    };
    Ok(Asked::New(refunds::insert(conn, &refund).await?))
}

/// An admin's refund of payment `payment_id`: asked for, then sent to the provider at once
/// (the dispatcher retries it if the provider cannot take it now). The refund as it is then.
pub async fn by_admin(
    app: &App,
    admin: i64,
    payment_id: Id,
    amount: Option<i64>,
    key: Option<&IdempotencyKey>,
    reason: &str,
) -> Result<(bool, RefundRow), Error> {
    let reference = match key {
        Some(key) => format!("key:{admin}:{key}"),
        None => format!("admin:{}", uuid::Uuid::now_v7()),
    };
    let mut tx = app.outbox.begin().await?;
    let payment = payments::lock(&mut tx, payment_id.get())
        .await?
        .ok_or(Error::PaymentNotFound(payment_id))?;
    let request = Request {
        amount,
        reference: &reference,
        reason,
        requested_by: &format!("admin:{admin}"),
    };
    let asked = ask(&mut tx, &payment, &request).await?;
    tx.commit().await?;
    let (new, refund) = match asked {
        Asked::New(refund) => (true, refund),
        Asked::Existing(refund) => (false, refund),
    };
    if new {
        app.metrics.refund("requested");
        tracing::info!(
            payment.id = payment.id,
            refund.id = refund.id,
            amount_cents = refund.amount_cents,
            "refund asked by an admin"
        );
        dispatch::send_now(app, refund.id).await;
    }
    let refund = refunds::find(&app.db, refund.id).await?.unwrap_or(refund);
    Ok((new, refund))
}

/// The refunds `order.cancelled` with `refund` asks for: all that is left of every payment of
/// the order that took money. The new refunds' ids.
pub async fn for_cancelled_order(
    tx: &mut OutboxTransaction,
    order_id: i64,
    reason: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut asked = Vec::new();
    for payment in payments::paid_of_order(tx, order_id).await? {
        let request = Request {
            amount: None,
            reference: ORDER_CANCELLED,
            reason,
            requested_by: "order-service",
        };
        match ask(tx, &payment, &request).await {
            Ok(Asked::New(refund)) => {
                tracing::info!(
                    payment.id = payment.id,
                    order.id = order_id,
                    refund.id = refund.id,
                    amount_cents = refund.amount_cents,
                    "refund asked by the order's cancellation"
                );
                asked.push(refund.id);
            }
            Ok(Asked::Existing(_))
            | Err(Error::Refund {
                refusal: RefundRefusal::NothingLeft { .. },
                ..
            }) => {}
            Err(Error::Db(error)) => return Err(error),
            Err(other) => {
                tracing::warn!(payment.id = payment.id, order.id = order_id, error = %other,
                    "no refund for the cancelled order's payment");
            }
        }
    }
    Ok(asked)
}

/// How the provider ended a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The money went back; `fully` when the payment is now all refunded.
    Succeeded {
        /// Whether nothing is left to refund.
        fully: bool,
    },
    /// The provider refused it.
    Failed,
}

/// Settles refund `refund_id` of `payment` (locked by the caller) with the provider's answer,
/// once: a refund no longer pending is left as it is (`None`).
pub async fn settle(
    tx: &mut OutboxTransaction,
    payment: &PaymentRow,
    refund_id: i64,
    provider_refund_id: Option<&str>,
    result: Result<(), &str>,
) -> Result<Option<Settled>, sqlx::Error> {
    let Some(refund) = refunds::lock(tx, refund_id).await? else {
        return Ok(None);
    };
    if refund.payment_id != payment.id {
        return Ok(None);
    }
    if let Err(message) = result {
        let settled =
            refunds::settle(tx, refund_id, "FAILED", provider_refund_id, Some(message)).await?;
        if settled {
            tracing::error!(payment.id = payment.id, refund.id = refund_id, %message,
                "the provider refused a refund; a person must give the money back");
        }
        return Ok(settled.then_some(Settled::Failed));
    }
    if !refunds::settle(tx, refund_id, "SUCCEEDED", provider_refund_id, None).await? {
        return Ok(None);
    }
    let status = PaymentStatus::parse(&payment.status).unwrap_or(PaymentStatus::Succeeded);
    let refunded = payment.refunded_cents + refund.amount_cents;
    let outcome = Outcome::Refunded {
        refunded,
        amount: payment.amount_cents,
    };
    let to = status.after(outcome).unwrap_or(status);
    payments::refunded(tx, payment.id, refund.amount_cents, to.as_str()).await?;
    let event = Event::PaymentRefunded(PaymentRefunded {
        payment_id: payment.id,
        order_id: payment.order_id,
        amount_cents: refund.amount_cents,
    });
    tx.enqueue(&[Envelope::new(event)]).await?;
    tracing::info!(
        payment.id = payment.id,
        refund.id = refund_id,
        amount_cents = refund.amount_cents,
        "refund succeeded"
    );
    Ok(Some(Settled::Succeeded {
        fully: to == PaymentStatus::Refunded,
    }))
}

/// Counts a settlement once committed.
pub fn count(app: &App, settled: Option<Settled>) {
    match settled {
        Some(Settled::Succeeded { fully }) => {
            app.metrics.refund("succeeded");
            if fully {
                app.metrics.payment("refunded");
            }
        }
        Some(Settled::Failed) => app.metrics.refund("failed"),
        None => {}
    }
}
