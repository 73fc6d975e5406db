//! The `products` table: single products by id, admin edits with versions, archiving.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::domain::NewProduct;
use crate::domain::product::ProductEdit;

/// A stored product.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct ProductRow {
    /// Primary key.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description, possibly empty.
    pub description: String,
    /// Exact price in cents.
    pub price_cents: i64,
    /// Units available to sell.
    pub stock: i64,
    /// Its category.
    pub category_id: Option<i64>,
    /// Bumped by every admin edit: the `ETag`.
    pub version: i64,
    /// When it left the catalogue, if it did.
    pub archived_at: Option<DateTime<Utc>>,
    /// Mean rating of its reviews to two decimals; `None` before the first.
    pub rating_average: Option<f64>,
    /// Number of reviews.
    pub rating_count: i64,
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
        r#"insert into products (name, description, price_cents, stock, category_id)
           values ($1, $2, $3, $4, $5)
           returning id, name, description, price_cents, stock, category_id, version,
                     archived_at, rating_average::float8 as rating_average, rating_count,
                     created_at, updated_at"#,
        product.name,
        product.description,
        product.price.cents(),
        product.stock,
        product.category_id,
    )
    .fetch_one(db)
    .await
}

/// The product with `id`, if any (archived ones too).
pub async fn find(db: impl PgExecutor<'_>, id: i64) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        r#"select id, name, description, price_cents, stock, category_id, version, archived_at,
                  rating_average::float8 as rating_average, rating_count, created_at, updated_at
           from products where id = $1"#,
        id,
    )
    .fetch_optional(db)
    .await
}

/// The product with `id`, locked for an edit in this transaction.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        r#"select id, name, description, price_cents, stock, category_id, version, archived_at,
                  rating_average::float8 as rating_average, rating_count, created_at, updated_at
           from products where id = $1 for update"#,
        id,
    )
    .fetch_optional(conn)
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
        r#"select id, name, description, price_cents, stock, category_id, version, archived_at,
                  rating_average::float8 as rating_average, rating_count, created_at, updated_at
           from products where id = any($1)"#,
        ids,
    )
    .fetch_all(db)
    .await
}

/// Gives product `id` the edited fields and the next version (the caller holds its lock).
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    edit: &ProductEdit,
) -> Result<ProductRow, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        r#"update products
           set name = $2, description = $3, price_cents = $4, category_id = $5,
               version = version + 1, updated_at = now()
           where id = $1
           returning id, name, description, price_cents, stock, category_id, version,
                     archived_at, rating_average::float8 as rating_average, rating_count,
                     created_at, updated_at"#,
        id,
        edit.name,
        edit.description,
        edit.price.cents(),
        edit.category_id,
    )
    .fetch_one(conn)
    .await
}

/// Takes product `id` out of the catalogue (the caller holds its lock and checked it is live).
pub async fn archive(conn: &mut PgConnection, id: i64) -> Result<ProductRow, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        r#"update products
           set archived_at = now(), version = version + 1, updated_at = now()
           where id = $1
           returning id, name, description, price_cents, stock, category_id, version,
                     archived_at, rating_average::float8 as rating_average, rating_count,
                     created_at, updated_at"#,
        id,
    )
    .fetch_one(conn)
    .await
}
