//! The `products` table.

use chrono::{DateTime, Utc};
use microshop_domain::Page;
use sqlx::PgExecutor;

use crate::domain::NewProduct;

/// A stored product.
#[derive(Debug, Clone)]
pub struct ProductRow {
    /// Primary key.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description, possibly empty.
    pub description: String,
    /// Exact price in cents.
    pub price_cents: i64,
    /// Units on hand.
    pub stock: i64,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Last change, stock included.
    pub updated_at: DateTime<Utc>,
}

/// Adds `product` to the catalogue.
pub async fn insert(
    db: impl PgExecutor<'_>,
    product: &NewProduct,
) -> Result<ProductRow, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "insert into products (name, description, price_cents, stock) values ($1, $2, $3, $4)
         returning id, name, description, price_cents, stock, created_at, updated_at",
        product.name,
        product.description,
        product.price.cents(),
        product.stock,
    )
    .fetch_one(db)
    .await
}

/// The product with `id`, if any.
pub async fn find(db: impl PgExecutor<'_>, id: i64) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "select id, name, description, price_cents, stock, created_at, updated_at
         from products where id = $1",
        id,
    )
    .fetch_optional(db)
    .await
}

/// The products with these ids (those that exist, in any order): what
/// [`microshop_db::Lookup`] asks for when reads of single products arrive together.
pub async fn find_many(
    db: impl PgExecutor<'_>,
    ids: &[i64],
) -> Result<Vec<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "select id, name, description, price_cents, stock, created_at, updated_at
         from products where id = any($1)",
        ids,
    )
    .fetch_all(db)
    .await
}

/// One page of products, oldest first.
pub async fn list(db: impl PgExecutor<'_>, page: Page) -> Result<Vec<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "select id, name, description, price_cents, stock, created_at, updated_at
         from products order by id limit $1 offset $2",
        page.limit,
        page.offset,
    )
    .fetch_all(db)
    .await
}
