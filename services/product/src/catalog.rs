//! Adding a product to the catalogue, the write protocol of `POST /api/products`.

use microshop_db::Db;

use crate::Error;
use crate::db::products::{self, ProductRow};
use crate::domain::NewProduct;

/// Adds `product`.
pub async fn add(db: &Db, product: &NewProduct) -> Result<ProductRow, Error> {
    let row = products::insert(db, product).await?;
    // DEBUG: at INFO each request logs one line, the access line.
    tracing::debug!(product.id = row.id, "product added");
    Ok(row)
}
