//! Placing an order, the write protocol of `POST /api/orders`: an idempotent retry (same buyer,
//! same key, within its lifetime) is answered as the first request was; otherwise the product
//! is checked with its service, and the order (`PENDING`), its `order.created` event and the
//! idempotency key with the answer are written in one transaction. The buyer is the caller of
//! the access token, so no call to the user service is needed; a buyer may have at most
//! `MAX_OPEN_ORDERS_PER_USER` open orders.

use microshop_domain::Money;
use microshop_events::{Envelope, Event, OrderCreated};
use microshop_messaging::outbox::OutboxTransaction;
use serde_json::Value;
use uuid::Uuid;

use crate::app::App;
use crate::db::idempotency::{self, StoredResponse};
use crate::db::orders::{self, OrderRow};
use crate::domain::{IdempotencyKey, NewOrder, OrderStatus};
use crate::error::{Error, not_found_as};

/// How a placement ended.
#[derive(Debug)]
pub enum Placed {
    /// A new order, `PENDING`.
    Created(OrderRow),
    /// A retry: the answer stored with its idempotency key.
    Replayed(Value),
}

/// Places `order`. `receipt` renders the answer to store with `key`, so that a retry is
/// answered with exactly the same body.
pub async fn order(
    app: &App,
    order: NewOrder,
    key: Option<IdempotencyKey>,
    receipt: impl FnOnce(&OrderRow) -> Value + Send,
) -> Result<Placed, Error> {
    let fingerprint = order.fingerprint();
    let buyer = order.user_id.get();
    let ttl = app.idempotency_ttl;
    if let Some(key) = &key {
        if let Some(stored) = idempotency::find(&app.db, buyer, key.as_str(), ttl).await? {
            return replay(key, stored, &fingerprint);
        }
    }
    let unit_price_cents = checked_price(app, &order).await?;

    let mut tx = app.outbox.begin().await?;
    if let Some(key) = &key {
        if !idempotency::claim(&mut tx, buyer, key.as_str(), &fingerprint, ttl).await? {
            // A concurrent duplicate committed first; answer what it answered.
            drop(tx);
            let stored = idempotency::find(&app.db, buyer, key.as_str(), ttl).await?;
            let stored = stored.ok_or_else(|| Error::IdempotencyKeyReused(key.to_string()))?;
            return replay(key, stored, &fingerprint);
        }
    }
    within_open_limit(&mut tx, buyer, app.max_open_orders).await?;
    let row = write(&mut tx, &order, unit_price_cents).await?;
    if let Some(key) = &key {
        idempotency::complete(&mut tx, buyer, key.as_str(), row.id, &receipt(&row)).await?;
    }
    tx.commit().await?;
    app.metrics.entered(OrderStatus::Pending);
    // DEBUG: at INFO each request logs one line, the access line (with its trace_id); the
    // saga's own lines (stock reserved, order settled) follow the order at INFO.
    tracing::debug!(
        order.id = row.id,
        product.id = row.product_id,
        quantity = row.quantity,
        "order accepted"
    );
    Ok(Placed::Created(row))
}

/// Refuses a new order while the buyer has `max` open ones. The count and the insert are
/// serialised per buyer (a transaction lock), so concurrent requests cannot all slip under it.
async fn within_open_limit(tx: &mut OutboxTransaction, buyer: i64, max: i64) -> Result<(), Error> {
    let open = orders::lock_and_count_open(tx, buyer).await?;
    if open >= max {
        return Err(Error::TooManyOpenOrders { open });
    }
    Ok(())
}

/// Asks the product service whether the order can be served, and at what price.
async fn checked_price(app: &App, order: &NewOrder) -> Result<i64, Error> {
    let product = app
        .upstreams
        .product(order.product_id)
        .await
        .map_err(|e| not_found_as(e, Error::ProductNotFound(order.product_id)))?;
    if order.quantity > product.stock {
        return Err(Error::OutOfStock {
            product_id: order.product_id,
            available: product.stock,
            requested: order.quantity,
        });
    }
    Ok(Money::price("price", product.price)?.cents())
}

/// The order row and its `order.created` event.
async fn write(
    tx: &mut OutboxTransaction,
    order: &NewOrder,
    unit_price_cents: i64,
) -> Result<OrderRow, Error> {
    // The event's id is stored with the order, so an overdue order can be sent again under it.
    let event_id = Uuid::now_v7();
    let row = orders::insert(&mut **tx, order, unit_price_cents, event_id).await?;
    let event = Envelope::with_id(
        event_id,
        Event::OrderCreated(OrderCreated {
            order_id: row.id,
            user_id: row.user_id,
            product_id: row.product_id,
            quantity: row.quantity,
            unit_price_cents: row.unit_price_cents,
            total_price_cents: row.total_price_cents,
        }),
    );
    tx.enqueue(std::slice::from_ref(&event)).await?;
    Ok(row)
}

/// The stored answer, or 422 if the key was used for a different request.
fn replay(
    key: &IdempotencyKey,
    stored: StoredResponse,
    fingerprint: &str,
) -> Result<Placed, Error> {
    if stored.fingerprint != fingerprint {
        return Err(Error::IdempotencyKeyReused(key.to_string()));
    }
    Ok(Placed::Replayed(stored.response))
}
