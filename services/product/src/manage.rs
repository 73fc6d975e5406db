//! An admin's management of products, the write protocols of `POST`, `PUT`, `PATCH` and
//! `DELETE /api/products...`: add, edit (under optimistic concurrency: the caller names the
//! version it read, the `ETag`) and archive. Each of them publishes `product.updated` in the
//! same transaction. Orders keep the price they were taken at (it travels in
//! `order.created`), so a price change never alters them.

use microshop_db::is_foreign_key_violation;
use microshop_domain::{Id, ValidationError};
use microshop_events::{Envelope, Event, ProductUpdated};
use microshop_messaging::outbox::OutboxTransaction;

use crate::Error;
use crate::catalog::Catalog;
use crate::categories;
use crate::db::products::{self, ProductRow};
use crate::domain::NewProduct;
use crate::domain::inventory::StockSetting;
use crate::domain::product::{ProductEdit, check_stock};
use crate::inventory;

/// Which versions of a product a write applies to: `If-Match` of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// No `If-Match` (or `*`): whatever version is current.
    Any,
    /// Only one of these (none: never).
    OneOf(Vec<i64>),
}

/// Adds `product` and publishes `product.updated` (version 1) in the same transaction: readers
/// of `product.events` (the order service's read model of products) learn of it as of an edit.
pub async fn add(catalog: &Catalog, product: &NewProduct) -> Result<ProductRow, Error> {
    let mut tx = catalog.outbox().begin().await?;
    // The foreign key checks the category.
    let row = products::insert(&mut *tx, product)
        .await
        .map_err(|e| match product.category_id {
            Some(id) if is_foreign_key_violation(&e, "products_category_id_fkey") => {
                Error::UnknownCategory {
                    field: "category_id",
                    id,
                }
            }
            _ => e.into(),
        })?;
    tx.enqueue(&[updated(&row)]).await?;
    tx.commit().await?;
    catalog.catalog_changed(&[row.id]).await;
    // DEBUG: at INFO each request logs one line, the access line.
    tracing::debug!(product.id = row.id, "product added");
    Ok(row)
}

/// Gives product `id` the fields `change` makes from its current state (under its lock), if it
/// is at the `expected` version; `stock`, when given, sets its available units as the
/// inventory API does.
pub async fn edit(
    catalog: &Catalog,
    id: Id,
    expected: Expected,
    change: impl FnOnce(&ProductRow) -> Result<ProductEdit, ValidationError>,
    stock: Option<i64>,
) -> Result<ProductRow, Error> {
    let stock = stock.map(check_stock).transpose()?;
    let mut tx = catalog.outbox().begin().await?;
    let before = current(&mut tx, id, expected).await?;
    let edit = change(&before)?;
    categories::must_exist(&mut tx, "category_id", edit.category_id).await?;
    if let Some(stock) = stock {
        let setting = StockSetting {
            stock: Some(stock),
            threshold: None,
        };
        inventory::set_locked(&mut tx, id.get(), before.stock, setting, Vec::new()).await?;
    }
    let row = products::update(&mut tx, id.get(), &edit).await?;
    tx.enqueue(&[updated(&row)]).await?;
    tx.commit().await?;
    catalog.catalog_changed(&[id.get()]).await;
    tracing::info!(
        product.id = id.get(),
        product.version = row.version,
        "product edited"
    );
    Ok(row)
}

/// Takes product `id` out of the catalogue, if it is at the `expected` version. It stays
/// readable by id (old orders show it); archiving an archived product changes nothing.
pub async fn archive(catalog: &Catalog, id: Id, expected: Expected) -> Result<ProductRow, Error> {
    let mut tx = catalog.outbox().begin().await?;
    let row = current(&mut tx, id, expected).await?;
    if row.archived_at.is_some() {
        return Ok(row);
    }
    let row = products::archive(&mut tx, id.get()).await?;
    tx.enqueue(&[updated(&row)]).await?;
    tx.commit().await?;
    catalog.catalog_changed(&[id.get()]).await;
    tracing::info!(product.id = id.get(), "product archived");
    Ok(row)
}

/// Locks product `id` and checks it is at the expected version.
async fn current(
    tx: &mut OutboxTransaction,
    id: Id,
    expected: Expected,
) -> Result<ProductRow, Error> {
    let row = products::lock(tx, id.get())
        .await?
        .ok_or(Error::ProductNotFound(id))?;
    match expected {
        Expected::OneOf(versions) if !versions.contains(&row.version) => {
            Err(Error::VersionMismatch {
                id: id.get(),
                current: row.version,
            })
        }
        _ => Ok(row),
    }
}

fn updated(row: &ProductRow) -> Envelope {
    Envelope::new(Event::ProductUpdated(ProductUpdated {
        product_id: row.id,
        version: row.version,
        name: row.name.clone(),
        price_cents: row.price_cents,
        category_id: row.category_id,
        archived: row.archived_at.is_some(),
    }))
}
