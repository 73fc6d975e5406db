//! The inventory API's write protocols: restock, thresholds, deduct and restore by reference,
//! and the bookkeeping every stock change shares (`product.stock.updated`, `inventory.low_stock`).
//!
//! Every path that changes `products.stock` — the saga's reservations ([`crate::reserve`]) and
//! releases ([`crate::release`]) as well as the routes here — ends with [`stock_changed`] in
//! its own transaction, so no change goes unannounced and each crossing of a product's
//! threshold is announced exactly once, whoever made it.

use std::collections::HashMap;

use microshop_db::Db;
use microshop_domain::{Id, Page};
use microshop_events::{Envelope, Event, InventoryLowStock, ProductStockUpdated};
use microshop_messaging::outbox::OutboxTransaction;

use crate::Error;
use crate::catalog::Catalog;
use crate::db::{inventory, stock};
pub use crate::domain::inventory::{Cause, StockChange};
use crate::domain::inventory::{Level, MoveKind, Moved, StockMove, StockSetting};

/// The bookkeeping of stock `changes` made in `tx`, to call once per transaction (per consumer
/// run) after the changes: enqueues `events` (the caller's own, e.g. the saga's answers)
/// followed by one `product.stock.updated` per product — a product changed several times is
/// reported once with its last stock, the summed delta and the last cause; none when the
/// delta sums to zero — and an `inventory.low_stock` for every product whose stock has just
/// reached its threshold, all in one outbox statement. The low-stock flags are settled in one
/// more statement (raised at or below the threshold, lowered above it). Returns the products
/// changed, each once, in the order first seen.
pub async fn stock_changed(
    tx: &mut OutboxTransaction,
    changes: &[StockChange],
    mut events: Vec<Envelope>,
) -> Result<Vec<i64>, sqlx::Error> {
    let changes = coalesce(changes);
    let products: Vec<i64> = changes.iter().map(|c| c.product_id).collect();
    if !products.is_empty() {
        let raised = stock::settle_low_stock(tx, &products).await?;
        events.extend(changes.iter().filter(|c| c.delta != 0).map(|c| {
            Envelope::new(Event::ProductStockUpdated(ProductStockUpdated {
                product_id: c.product_id,
                stock: c.stock_after,
                delta: c.delta,
                cause: c.cause.as_str().to_owned(),
            }))
        }));
        events.extend(raised.into_iter().map(|low| {
            tracing::info!(
                product.id = low.product_id,
                stock = low.stock,
                threshold = low.threshold,
                "stock is low"
            );
            Envelope::new(Event::InventoryLowStock(InventoryLowStock {
                product_id: low.product_id,
                stock: low.stock,
                threshold: low.threshold,
            }))
        }));
    }
    tx.enqueue(&events).await?;
    Ok(products)
}

/// One change per product: the last stock, the summed delta, the last cause.
fn coalesce(changes: &[StockChange]) -> Vec<StockChange> {
    let mut coalesced: Vec<StockChange> = Vec::with_capacity(changes.len());
    let mut position: HashMap<i64, usize> = HashMap::with_capacity(changes.len());
    for change in changes {
        if let Some(&at) = position.get(&change.product_id) {
            let earlier = &mut coalesced[at];
            earlier.stock_after = change.stock_after;
            earlier.delta += change.delta;
            earlier.cause = change.cause;
        } else {
            position.insert(change.product_id, coalesced.len());
            coalesced.push(*change);
        }
    }
    coalesced
}

/// The stock of `product`, archived or not.
pub async fn level(db: &Db, product: Id) -> Result<Level, Error> {
    inventory::level(db, product.get())
        .await?
        .ok_or(Error::ProductNotFound(product))
}

/// A page of the products at or below their threshold, by id.
pub async fn alerts(db: &Db, page: Page) -> Result<Vec<Level>, Error> {
    Ok(inventory::low(db, page).await?)
}

/// Sets the available units and/or the threshold of `product` under its row lock, so it
/// composes with concurrent reservations; a new threshold can cross too (raised above the
/// stock: one `inventory.low_stock`). `by` names the caller in the log.
pub async fn set(
    catalog: &Catalog,
    product: Id,
    setting: StockSetting,
    by: &str,
) -> Result<Level, Error> {
    let id = product.get();
    let mut tx = catalog.outbox().begin().await?;
    let before = inventory::lock(&mut *tx, id)
        .await?
        .ok_or(Error::ProductNotFound(product))?;
    set_locked(&mut tx, id, before, setting, Vec::new()).await?;
    let level = inventory::level(&mut *tx, id)
        .await?
        .ok_or(Error::ProductNotFound(product))?;
    tx.commit().await?;
    catalog.products_changed(&[id]).await;
    tracing::info!(
        product.id = id,
        stock = level.available,
        threshold = level.threshold,
        by,
        "stock set"
    );
    Ok(level)
}

/// Sets the stock and threshold of product `id`, whose row `tx` holds locked with `before`
/// units available, and announces the change with `events` (a product edit's own).
pub async fn set_locked(
    tx: &mut OutboxTransaction,
    id: i64,
    before: i64,
    setting: StockSetting,
    events: Vec<Envelope>,
) -> Result<(), sqlx::Error> {
    inventory::set(&mut **tx, id, setting.stock, setting.threshold).await?;
    let after = setting.stock.unwrap_or(before);
    let change = StockChange {
        product_id: id,
        stock_after: after,
        delta: after - before,
        cause: Cause::Set,
    };
    stock_changed(tx, &[change], events).await?;
    Ok(())
}

/// Applies a deduct or restore once per reference: the first call claims the reference and
/// moves the stock (or fails and leaves nothing behind); a repeat of the same move answers the
/// stored result, replayed; the same reference for another move is a conflict. Two concurrent
/// calls with one reference: the second's claim waits for the first transaction, then finds
/// its row. `by` names the caller in the log.
pub async fn apply(catalog: &Catalog, requested: StockMove, by: &str) -> Result<Moved, Error> {
    let product = requested.product_id;
    let mut tx = catalog.outbox().begin().await?;
    if !inventory::claim(&mut *tx, &requested).await? {
        let stored = inventory::find(&mut *tx, &requested.reference)
            .await?
            .ok_or(Error::ProductNotFound(product))?;
        if !requested.is_same_as(&stored.kind, stored.product_id, stored.quantity) {
            return Err(Error::ReferenceConflict(stored.reference));
        }
        return Ok(Moved {
            reference: stored.reference,
            product_id: stored.product_id,
            kind: requested.kind,
            quantity: stored.quantity,
            stock_after: stored.stock_after,
            replayed: true,
        });
    }
    let delta = match requested.kind {
        MoveKind::Deduct => -requested.quantity,
        MoveKind::Restore => requested.quantity,
    };
    let Some(stock_after) =
        inventory::shift(&mut *tx, &requested.reference, product.get(), delta).await?
    else {
        // Dropping the transaction rolls the claim back: nothing is written.
        let available = stock::on_hand(&mut tx, product.get()).await?.unwrap_or(0);
        return Err(match requested.kind {
            MoveKind::Deduct => Error::InsufficientStock {
                product,
                requested: requested.quantity,
                available,
            },
            MoveKind::Restore => Error::StockLimit {
                product,
                requested: requested.quantity,
                available,
            },
        });
    };
    let change = StockChange {
        product_id: product.get(),
        stock_after,
        delta,
        cause: requested.kind.cause(),
    };
    stock_changed(&mut tx, &[change], Vec::new()).await?;
    tx.commit().await?;
    catalog.products_changed(&[product.get()]).await;
    tracing::info!(
        product.id = product.get(),
        kind = requested.kind.as_str(),
        quantity = requested.quantity,
        stock_after,
        by,
        "stock moved"
    );
    Ok(Moved {
        reference: requested.reference,
        product_id: product.get(),
        kind: requested.kind,
        quantity: requested.quantity,
        stock_after,
        replayed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(product_id: i64, stock_after: i64, delta: i64, cause: Cause) -> StockChange {
        StockChange {
            product_id,
            stock_after,
            delta,
            cause,
        }
    }

    #[test]
    fn a_batch_reports_each_product_once_with_its_last_stock_and_summed_delta() {
        let batch = [
            change(7, 9, -1, Cause::Order),
            change(3, 4, -2, Cause::Order),
            change(7, 6, -3, Cause::Order),
        ];
        assert_eq!(
            coalesce(&batch),
            [
                change(7, 6, -4, Cause::Order),
                change(3, 4, -2, Cause::Order)
            ]
        );
        assert!(coalesce(&[]).is_empty());
    }
}
