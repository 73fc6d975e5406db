//! The provider's webhook, the write protocol of `POST /api/payments/callback`: the signature
//! is checked first (HMAC-SHA256 over `timestamp.body` under one of the webhook secrets, made
//! within 5 minutes of our clock; anything else is 401 and changes nothing); then each provider
//! event is applied once — its id recorded in `provider_events` in the transaction that applies
//! it — and only ever moves a payment forward, whatever order the deliveries come in. A
//! success publishes `payment.succeeded` (and refunds a second payment of an order already
//! paid), a decline `payment.failed`, a confirmed refund `payment.refunded`.

use std::time::{SystemTime, UNIX_EPOCH};

use microshop_events::{Envelope, Event, PaymentFailed, PaymentSucceeded};
use microshop_webhook::{TOLERANCE, verify};

use crate::app::App;
use crate::db::payments::{self, PaymentRow};
use crate::db::provider_events;
use crate::domain::{Outcome, PaymentStatus, ProviderEvent, ProviderEventKind};
use crate::error::Error;
use crate::refund::{self, Asked, Settled};
use microshop_messaging::outbox::OutboxTransaction;

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// The event changed the payment.
    Applied,
    /// The event was applied before: nothing changed.
    Duplicate,
    /// The event changes nothing (a late or stale event, a type or a payment not ours): why.
    Ignored(&'static str),
}

impl Received {
    /// The word the answer and the log use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored(why) => why,
        }
    }
}

/// Checks and applies one delivery: `signature` is the `Microshop-Signature` header.
pub async fn receive(app: &App, signature: Option<&str>, body: &[u8]) -> Result<Received, Error> {
    let now = unix_now();
    if let Err(error) = verify(
        &app.webhook_secrets,
        signature.unwrap_or_default(),
        body,
        now,
        TOLERANCE,
    ) {
        app.metrics.signature_failed(&error);
        tracing::warn!(%error, "webhook refused");
        return Err(error.into());
    }
    let event = ProviderEvent::parse(body).map_err(Error::InvalidEvent)?;
    let received = apply(app, &event).await?;
    #[allow(clippy::cast_precision_loss)] // seconds: far below 2^52
    app.metrics
        .webhook_applied(now.saturating_sub(u64::try_from(event.created).unwrap_or(0)) as f64);
    tracing::info!(
        provider_event.id = %event.id,
        provider_event.type = %event.event_type,
        payment.id = event.payment_id,
        outcome = received.as_str(),
        "provider event received"
    );
    Ok(received)
}

/// What applying an event leaves to do once committed.
#[derive(Default)]
struct After {
    payment_outcome: Option<&'static str>,
    refund_settled: Option<Settled>,
    refund_asked: bool,
}

/// Applies `event` once.
pub async fn apply(app: &App, event: &ProviderEvent) -> Result<Received, Error> {
    let Some(payment_id) = event.payment_id else {
        tracing::warn!(provider_event.id = %event.id, "provider event names no payment of ours");
        return Ok(Received::Ignored("unknown_payment"));
    };
    if let ProviderEventKind::Other(_) = event.kind {
        return Ok(Received::Ignored("unhandled_type"));
    }
    let mut tx = app.outbox.begin().await?;
    let Some(payment) = payments::lock(&mut tx, payment_id).await? else {
        tracing::warn!(provider_event.id = %event.id, payment.id = payment_id,
            "provider event for a payment this database does not know");
        return Ok(Received::Ignored("unknown_payment"));
    };
    if !provider_events::record(&mut tx, &event.id, &event.event_type, Some(payment_id)).await? {
        return Ok(Received::Duplicate);
    }
    let foreign_session = payment
        .provider_session_id
        .as_deref()
        .is_some_and(|known| known != event.session_id);
    let (received, after) = if foreign_session {
        tracing::error!(provider_event.id = %event.id, payment.id = payment_id,
            "provider event names another checkout session than the payment's; ignored");
        (Received::Ignored("session_mismatch"), After::default())
    } else {
        change(&mut tx, &payment, event).await?
    };
    tx.commit().await?;
    if let Some(outcome) = after.payment_outcome {
        app.metrics.payment(outcome);
    }
    refund::count(app, after.refund_settled);
    if after.refund_asked {
        app.metrics.refund("requested");
        app.refunds_due.notify_one();
    }
    Ok(received)
}

/// The change `event` makes to `payment` (locked), inside `tx`.
async fn change(
    tx: &mut OutboxTransaction,
    payment: &PaymentRow,
    event: &ProviderEvent,
) -> Result<(Received, After), Error> {
    let status = PaymentStatus::parse(&payment.status).unwrap_or(PaymentStatus::Created);
    let mut after = After::default();
    let checkout = matches!(
        event.kind,
        ProviderEventKind::CheckoutSucceeded | ProviderEventKind::CheckoutFailed { .. }
    );
    if checkout
        && (event.amount_cents != payment.amount_cents || event.currency != payment.currency)
    {
        tracing::error!(provider_event.id = %event.id, payment.id = payment.id,
            event_amount_cents = event.amount_cents, payment_amount_cents = payment.amount_cents,
            "provider event's amount differs from the payment's; ignored");
        return Ok((Received::Ignored("amount_mismatch"), after));
    }
    let received = match &event.kind {
        ProviderEventKind::CheckoutSucceeded => {
            if status.after(Outcome::Succeeded).is_none() {
                return Ok((Received::Ignored("stale"), after));
            }
            payments::lock_order(tx, payment.order_id).await?;
            payments::succeeded(tx, payment.id, &event.session_id).await?;
            let succeeded = Event::PaymentSucceeded(PaymentSucceeded {
                payment_id: payment.id,
                order_id: payment.order_id,
                amount_cents: payment.amount_cents,
            });
            tx.enqueue(&[Envelope::new(succeeded)]).await?;
            after.payment_outcome = Some("succeeded");
            after.refund_asked = refund_if_paid_twice(tx, payment).await?;
            Received::Applied
        }
        ProviderEventKind::CheckoutFailed { code, message } => {
            if status.after(Outcome::Failed).is_none() {
                return Ok((Received::Ignored("stale"), after));
            }
            payments::failed(tx, payment.id, code, message).await?;
            let failed = Event::PaymentFailed(PaymentFailed {
                payment_id: payment.id,
                order_id: payment.order_id,
                reason: message.clone(),
            });
            tx.enqueue(&[Envelope::new(failed)]).await?;
            after.payment_outcome = Some("failed");
            Received::Applied
        }
        ProviderEventKind::RefundSucceeded {
            provider_refund_id,
            refund_id,
        }
        | ProviderEventKind::RefundFailed {
            provider_refund_id,
            refund_id,
            ..
        } => {
            let result = match &event.kind {
                ProviderEventKind::RefundFailed { message, .. } => Err(message.as_str()),
                _ => Ok(()),
            };
            let Some(refund_id) = refund_id else {
                return Ok((Received::Ignored("unknown_refund"), after));
            };
            let settled =
                refund::settle(tx, payment, *refund_id, Some(provider_refund_id), result).await?;
            after.refund_settled = settled;
            if settled.is_some() {
                Received::Applied
            } else {
                Received::Ignored("stale")
            }
        }
        ProviderEventKind::Other(_) => Received::Ignored("unhandled_type"),
    };
    Ok((received, after))
}

/// Money taken a second time for one order (two open sessions paid) goes back at once.
async fn refund_if_paid_twice(
    tx: &mut OutboxTransaction,
    payment: &PaymentRow,
) -> Result<bool, Error> {
    let Some(first) = payments::other_paid_of_order(tx, payment.order_id, payment.id).await? else {
        return Ok(false);
    };
    let paid = PaymentRow {
        status: PaymentStatus::Succeeded.as_str().to_owned(),
        ..payment.clone()
    };
    let reason = format!(
        "order {} was already paid by payment {first}",
        payment.order_id
    );
    let request = refund::Request {
        amount: None,
        reference: refund::DUPLICATE_PAYMENT,
        reason: &reason,
        requested_by: "payment-service",
    };
    let asked = refund::ask(tx, &paid, &request).await?;
    tracing::warn!(payment.id = payment.id, order.id = payment.order_id, %reason,
        "second payment for one order; it is refunded");
    Ok(matches!(asked, Asked::New(_)))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
