//! The `products` table: the order service's read model of the product service's catalogue,
//! written by the product events (one statement per consumer batch) and by lookups that had to
//! ask the product service.

use sqlx::{PgConnection, PgExecutor};

/// A product as the read model holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    /// The product service's id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Price of one unit in cents.
    pub price_cents: i64,
    /// Units on hand, when known: a product first heard of through `product.updated` has none
    /// until a stock change or a lookup brings it.
    pub stock: Option<i64>,
    /// Whether it left the catalogue.
    pub archived: bool,
    /// The product service's version of it.
    pub version: i64,
}

/// A product's editable state as `product.updated` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The product.
    pub id: i64,
    /// Its version after the edit.
    pub version: i64,
    /// Name.
    pub name: String,
    /// Price of one unit in cents.
    pub price_cents: i64,
    /// Whether it is archived.
    pub archived: bool,
}

/// A product's stock as `product.stock.updated` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stocked {
    /// The product.
    pub id: i64,
    /// Units on hand now.
    pub stock: i64,
}

/// The known products among `ids` (with or without a stock).
pub async fn find(db: impl PgExecutor<'_>, ids: &[i64]) -> Result<Vec<ProductRow>, sqlx::Error> {
    sqlx::query_as!(
        ProductRow,
        "select id, name, price_cents, stock, archived, version
         from products where id = any($1)",
        ids,
    )
    .fetch_all(db)
    .await
}

/// Applies a batch of events in one statement: each of `edited` (at most one per id) is
/// inserted, or replaces the stored fields when its version is newer; each of `stocked` (at
/// most one per id) sets the stock of a row that exists or is inserted by `edited`, and never
/// inserts one by itself. Returns how many rows changed.
pub async fn apply_changes(
    conn: &mut PgConnection,
    edited: &[Edited],
    stocked: &[Stocked],
) -> Result<i64, sqlx::Error> {
    let ids: Vec<i64> = edited.iter().map(|e| e.id).collect();
    let versions: Vec<i64> = edited.iter().map(|e| e.version).collect();
    let names: Vec<String> = edited.iter().map(|e| e.name.clone()).collect();
    let prices: Vec<i64> = edited.iter().map(|e| e.price_cents).collect();
    let archived: Vec<bool> = edited.iter().map(|e| e.archived).collect();
    let stock_ids: Vec<i64> = stocked.iter().map(|s| s.id).collect();
    let stocks: Vec<i64> = stocked.iter().map(|s| s.stock).collect();
    // One row of a statement can be written once: the edits (with the stock of the same batch,
    // if any) go through the upsert, the stock of every other product through the update.
    sqlx::query_scalar!(
        r#"with edited as (
               select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[],
                                    $5::boolean[])
                   as e (id, version, name, price_cents, archived)
           ),
           stocked as (
               select * from unnest($6::bigint[], $7::bigint[]) as s (id, stock)
           ),
           upserted as (
               insert into products as p (id, name, price_cents, stock, archived, version)
               select e.id, e.name, e.price_cents, s.stock, e.archived, e.version
               from edited e left join stocked s on s.id = e.id
               order by e.id
               on conflict (id) do update set
                   name = case when excluded.version > p.version
                               then excluded.name else p.name end,
                   price_cents = case when excluded.version > p.version
                                      then excluded.price_cents else p.price_cents end,
                   archived = case when excluded.version > p.version
                                   then excluded.archived else p.archived end,
                   version = greatest(p.version, excluded.version),
                   stock = coalesce(excluded.stock, p.stock),
                   updated_at = now()
               where excluded.version > p.version or excluded.stock is not null
               returning p.id
           ),
           restocked as (
               update products p set stock = s.stock, updated_at = now()
               from stocked s
               where p.id = s.id and s.id not in (select id from edited)
               returning p.id
           )
           select (select count(*) from upserted) + (select count(*) from restocked)
               as "changed!""#,
        &ids,
        &versions,
        &names,
        &prices,
        &archived,
        &stock_ids,
        &stocks,
    )
    .fetch_one(conn)
    .await
}

/// A product as the product service answered a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The product.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Price of one unit in cents.
    pub price_cents: i64,
    /// Units on hand now.
    pub stock: i64,
    /// Whether it is archived.
    pub archived: bool,
    /// Its version.
    pub version: i64,
}

/// Stores `fetched` (the product service's answer, one per id) and returns the rows as they are
/// afterwards: the fetched stock always (it is the freshest there is), the other fields unless
/// the row already holds a newer version.
pub async fn remember(
    db: impl PgExecutor<'_>,
    fetched: &[Fetched],
) -> Result<Vec<ProductRow>, sqlx::Error> {
    let ids: Vec<i64> = fetched.iter().map(|p| p.id).collect();
    let names: Vec<String> = fetched.iter().map(|p| p.name.clone()).collect();
    let prices: Vec<i64> = fetched.iter().map(|p| p.price_cents).collect();
    let stocks: Vec<i64> = fetched.iter().map(|p| p.stock).collect();
    let archived: Vec<bool> = fetched.iter().map(|p| p.archived).collect();
    let versions: Vec<i64> = fetched.iter().map(|p| p.version).collect();
    sqlx::query_as!(
        ProductRow,
        r#"insert into products as p (id, name, price_cents, stock, archived, version)
           select * from unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[],
                                $5::boolean[], $6::bigint[])
           order by 1
           on conflict (id) do update set
               name = case when excluded.version >= p.version then excluded.name else p.name end,
               price_cents = case when excluded.version >= p.version
                                  then excluded.price_cents else p.price_cents end,
               archived = case when excluded.version >= p.version
                               then excluded.archived else p.archived end,
               version = greatest(p.version, excluded.version),
               stock = excluded.stock,
               updated_at = now()
           returning p.id as "id!", p.name as "name!", p.price_cents as "price_cents!",
                     p.stock, p.archived as "archived!", p.version as "version!""#,
        &ids,
        &names,
        &prices,
        &stocks,
        &archived,
        &versions,
    )
    .fetch_all(db)
    .await
}
