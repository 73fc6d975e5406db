//! Creating a payment, the write protocol of `POST /api/payments`: the order's buyer, status
//! and amount are read from the order service (never from the client); a confirmed order of
//! the caller's gets one open payment — a second call answers the open one —, stored `CREATED`,
//! then the provider's checkout session is opened for it (idempotent by the payment's id, so a
//! call that failed half-way is finished by the next one) and the payment is `PENDING` with its
//! checkout URL. An `Idempotency-Key` answers a retry with the same payment.

use microshop_domain::Id;
use microshop_domain::idempotency::IdempotencyKey;
use microshop_http_client::UpstreamError;

use crate::app::App;
use crate::db::idempotency::{self, StoredKey};
use crate::db::payments::{self, NewPayment, PaymentRow};
use crate::domain::PaymentStatus;
use crate::error::Error;

/// How a create call ended.
#[derive(Debug)]
pub enum Created {
    /// A new payment.
    New(PaymentRow),
    /// The order's open payment, made by an earlier call.
    Existing(PaymentRow),
    /// A retry with the same idempotency key: its payment as it is now.
    Replayed(PaymentRow),
}

/// Creates (or finds) the payment of `order_id` for `buyer`.
pub async fn payment(
    app: &App,
    buyer: Id,
    order_id: Id,
    key: Option<IdempotencyKey>,
) -> Result<Created, Error> {
    let fingerprint = format!("order={order_id}");
    let ttl = app.idempotency_ttl;
    if let Some(key) = &key {
        if let Some(stored) = idempotency::find(&app.db, buyer.get(), key.as_str(), ttl).await? {
            return replay(app, key, stored, &fingerprint).await;
        }
    }
    let order = app
        .orders
        .order(order_id.get())
        .await
        .map_err(|e| match e {
            UpstreamError::NotFound { .. } => Error::OrderNotFound(order_id),
            other => other.into(),
        })?;
    // Another buyer's order is as good as absent (DESIGN §7).
    if order.user_id != buyer.get() {
        return Err(Error::OrderNotFound(order_id));
    }
    if order.status != "CONFIRMED" || order.total_price_cents <= 0 {
        return Err(Error::OrderNotPayable {
            id: order_id,
            status: order.status,
        });
    }

    let mut tx = app.outbox.begin().await?;
    if let Some(key) = &key {
        if !idempotency::claim(&mut tx, buyer.get(), key.as_str(), &fingerprint, ttl).await? {
            // A concurrent duplicate committed first; answer what it answered.
            drop(tx);
            let stored = idempotency::find(&app.db, buyer.get(), key.as_str(), ttl).await?;
            let stored = stored.ok_or_else(|| Error::IdempotencyKeyReused(key.to_string()))?;
            return replay(app, key, stored, &fingerprint).await;
        }
    }
    // One decision per order at a time: the open payment, a payment that already took the
    // money (the order service has not heard yet), or a new one.
    payments::lock_order(&mut tx, order.id).await?;
    let open = payments::open_of_order(&mut tx, order.id).await?;
    let (payment, new) = if let Some(open) = open {
        (open, false)
    } else {
        if let Some(paid) = payments::other_paid_of_order(&mut tx, order.id, 0).await? {
            return Err(Error::OrderAlreadyPaid {
                order: order_id,
                payment: paid,
            });
        }
        let record = NewPayment {
            order_id: order.id,
            user_id: order.user_id,
            amount_cents: order.total_price_cents,
            currency: order.currency,
        };
        (payments::insert(&mut tx, &record).await?, true)
    };
    if let Some(key) = &key {
        idempotency::complete(&mut tx, buyer.get(), key.as_str(), payment.id).await?;
    }
    tx.commit().await?;
    if new {
        app.metrics.payment("created");
        tracing::info!(
            payment.id = payment.id,
            order.id = order.id,
            "payment created"
        );
    }
    let payment = with_session(app, payment).await?;
    Ok(if new {
        Created::New(payment)
    } else {
        Created::Existing(payment)
    })
}

/// The payment of a stored key, or 422 if the key was used for another order.
async fn replay(
    app: &App,
    key: &IdempotencyKey,
    stored: StoredKey,
    fingerprint: &str,
) -> Result<Created, Error> {
    if stored.fingerprint != fingerprint {
        return Err(Error::IdempotencyKeyReused(key.to_string()));
    }
    let payment = payments::find(&app.db, stored.payment_id)
        .await?
        .ok_or_else(|| sqlx::Error::RowNotFound)?;
    Ok(Created::Replayed(with_session(app, payment).await?))
}

/// `payment` with its checkout session: a `CREATED` one gets it from the provider now.
async fn with_session(app: &App, payment: PaymentRow) -> Result<PaymentRow, Error> {
    let created = PaymentStatus::parse(&payment.status) == Some(PaymentStatus::Created);
    if payment.checkout_url.is_some() || !created {
        return Ok(payment);
    }
    let session = app
        .provider
        .open_session(
            payment.id,
            payment.order_id,
            payment.amount_cents,
            &payment.currency,
        )
        .await?;
    let opened = payments::session_opened(&app.db, payment.id, &session.id, &session.url).await?;
    Ok(opened.unwrap_or(payment))
}
