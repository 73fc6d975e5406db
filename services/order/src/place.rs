//! Placing an order, the write protocol of `POST /api/orders` and of checkout: an idempotent
//! retry (same buyer, same key, within its lifetime) is answered as the first request was;
//! otherwise every line is priced from the catalogue as the order service knows it (its read
//! model of the product service's events), the shipping address is copied from the buyer's
//! account, and the order (`PENDING`), its lines, its first timeline entry, its `order.created`
//! event and the idempotency key with the answer are written in one transaction. The buyer is
//! the caller of the access token; a buyer may have at most `MAX_OPEN_ORDERS_PER_USER` open
//! orders. Whether the stock is there is the product service's answer (all lines or none);
//! lines obviously short by the catalogue's count are refused at once (409).

use microshop_domain::Id;
use microshop_events::Envelope;
use serde_json::Value;
use uuid::Uuid;

use crate::announce::{self, About};
use crate::app::App;
use crate::catalog::ProductInfo;
use crate::db::idempotency::{self, StoredResponse};
use crate::db::orders::{self, ItemRow, NewOrderRecord, Order};
use crate::domain::{IdempotencyKey, NewOrder, OrderStatus};
use crate::error::{Error, ShortLine};

/// How a placement ended.
#[derive(Debug)]
pub enum Placed {
    /// A new order, `PENDING`.
    Created(Box<Order>),
    /// A retry: the answer stored with its idempotency key.
    Replayed(Value),
}

/// The buyer's credentials, relayed to the user service to read their address with their own
/// rights.
pub struct BuyerToken<'a>(pub &'a str);

/// Places `order`. `receipt` renders the answer to store with `key`, so that a retry is
/// answered with exactly the same body.
pub async fn order(
    app: &App,
    order: NewOrder,
    token: BuyerToken<'_>,
    key: Option<IdempotencyKey>,
    receipt: impl FnOnce(&Order) -> Value + Send,
) -> Result<Placed, Error> {
    let fingerprint = order.fingerprint();
    let buyer = order.user_id.get();
    let ttl = app.idempotency_ttl;
    if let Some(placed) = earlier(app, order.user_id, key.as_ref(), &fingerprint).await? {
        return Ok(placed);
    }
    let mut record = priced(app, &order).await?;
    if let Some(address_id) = order.address_id {
        record.shipping_address = Some(shipping_address(app, address_id, token).await?);
    }
    let total = record.total_cents().ok_or(Error::TotalTooLarge)?;

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
    // The buyer's lock, then the count and the insert in one statement: concurrent requests of
    // one buyer cannot all slip under the limit.
    orders::lock_buyer(&mut tx, buyer).await?;
    let max = app.max_open_orders;
    let Some(placed) = orders::insert_within_limit(&mut tx, &record, total, max).await? else {
        let open = orders::count_open(&mut tx, buyer).await?;
        return Err(Error::TooManyOpenOrders { open });
    };
    // The event's id is stored with the order: an overdue order is sent again under it.
    let about = About {
        order_id: placed.row.id,
        user_id: placed.row.user_id,
        total_price_cents: placed.row.total_price_cents,
        items: &placed.items,
    };
    let created = Envelope::with_id(record.created_event_id, announce::created(about));
    tx.enqueue(&[created]).await?;
    if let Some(key) = &key {
        let answer = receipt(&placed);
        idempotency::complete(&mut tx, buyer, key.as_str(), placed.row.id, &answer).await?;
    }
    tx.commit().await?;
    app.metrics.entered(OrderStatus::Pending);
    // DEBUG: at INFO each request logs one line, the access line (with its trace_id); the
    // saga's own lines (stock reserved, order settled) follow the order at INFO.
    tracing::debug!(
        order.id = placed.row.id,
        lines = placed.items.len(),
        total_cents = total,
        "order accepted"
    );
    Ok(Placed::Created(Box::new(placed)))
}

/// Prices every line from the catalogue; refuses unknown or archived products (422) and lines
/// the catalogue already knows to be short (409), naming each.
async fn priced(app: &App, order: &NewOrder) -> Result<NewOrderRecord, Error> {
    let known = app.catalog.products(&order.product_ids()).await?;
    let mut items = Vec::with_capacity(order.lines.len());
    let mut missing = Vec::new();
    let mut short = Vec::new();
    for line in &order.lines {
        match known.get(&line.product_id.get()) {
            None | Some(ProductInfo { archived: true, .. }) => missing.push(line.product_id),
            Some(product) => {
                if line.quantity > product.stock {
                    short.push(ShortLine {
                        product_id: line.product_id,
                        available: product.stock,
                        requested: line.quantity,
                    });
                }
                items.push(ItemRow {
                    order_id: 0,
                    product_id: product.id,
                    product_name: Some(product.name.clone()),
                    quantity: line.quantity,
                    unit_price_cents: product.price_cents,
                });
            }
        }
    }
    if !missing.is_empty() {
        return Err(Error::ProductsNotFound(missing));
    }
    if !short.is_empty() {
        return Err(Error::OutOfStock(short));
    }
    Ok(NewOrderRecord {
        user_id: order.user_id.get(),
        items,
        address_id: order.address_id.map(Id::get),
        shipping_address: None,
        created_event_id: Uuid::now_v7(),
    })
}

/// The buyer's address `id` as it is now, read from the user service with the buyer's token
/// (so only their own is found).
async fn shipping_address(app: &App, id: Id, token: BuyerToken<'_>) -> Result<Value, Error> {
    let mut address = app
        .upstreams
        .address(id, token.0)
        .await
        .map_err(|e| crate::error::not_found_as(e, Error::AddressNotFound(id)))?;
    // What the parcel needs; the account's bookkeeping stays in the user service (the order
    // keeps `address_id` beside the copy).
    if let Value::Object(fields) = &mut address {
        for field in ["id", "user_id", "is_default", "created_at", "updated_at"] {
            fields.remove(field);
        }
    }
    Ok(address)
}

/// The answer of an earlier request of `buyer` with `key`, if there was one within the key's
/// lifetime (422 if it was for a different request).
pub async fn earlier(
    app: &App,
    buyer: Id,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> Result<Option<Placed>, Error> {
    let Some(key) = key else { return Ok(None) };
    match idempotency::find(&app.db, buyer.get(), key.as_str(), app.idempotency_ttl).await? {
        Some(stored) => replay(key, stored, fingerprint).map(Some),
        None => Ok(None),
    }
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
