//! Stock moves of the inventory API (`inventory_moves`) and the stock columns they change.

use microshop_domain::Page;
use sqlx::PgExecutor;

use crate::domain::inventory::{Level, StockMove};

/// A manual move as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRow {
    /// The caller's reference (the primary key).
    pub reference: String,
    /// The product.
    pub product_id: i64,
    /// `deduct` or `restore`.
    pub kind: String,
    /// Units moved.
    pub quantity: i64,
    /// Available units right after the move.
    pub stock_after: i64,
}

/// The stock of `product_id` (archived or not), or `None` when there is no such product.
/// `reserved` sums the lines of held reservations (`stock_reservation_lines_held_idx`).
pub async fn level(db: impl PgExecutor<'_>, product_id: i64) -> Result<Option<Level>, sqlx::Error> {
    sqlx::query_as!(
        Level,
        r#"select p.id as "product_id!", p.stock as "available!",
                  p.low_stock_threshold as "threshold!",
                  coalesce((select sum(l.quantity) from stock_reservation_lines l
                            where l.product_id = p.id and l.status = 'held'), 0)::bigint
                      as "reserved!"
           from products p where p.id = $1"#,
        product_id,
    )
    .fetch_optional(db)
    .await
}

/// A page of the products whose available units are at or below their threshold, by id
/// (`products_low_stock_idx`), each with its held units as in [`level`].
pub async fn low(db: impl PgExecutor<'_>, page: Page) -> Result<Vec<Level>, sqlx::Error> {
    sqlx::query_as!(
        Level,
        r#"select p.id as "product_id!", p.stock as "available!",
                  p.low_stock_threshold as "threshold!",
                  coalesce((select sum(l.quantity) from stock_reservation_lines l
                            where l.product_id = p.id and l.status = 'held'), 0)::bigint
                      as "reserved!"
           from products p where p.stock <= p.low_stock_threshold
           order by p.id limit $1 offset $2"#,
        page.limit,
        page.offset,
    )
    .fetch_all(db)
    .await
}

/// Locks the row of `product_id` until the transaction ends; its available units, or `None`
/// when there is no such product.
pub async fn lock(db: impl PgExecutor<'_>, product_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select stock from products where id = $1 for update",
        product_id
    )
    .fetch_optional(db)
    .await
}

/// Sets the available units and/or the threshold of `product_id` (`None` keeps the value).
pub async fn set(
    db: impl PgExecutor<'_>,
    product_id: i64,
    stock: Option<i64>,
    threshold: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update products set stock = coalesce($2, stock),
                low_stock_threshold = coalesce($3, low_stock_threshold), updated_at = now()
         where id = $1",
        product_id,
        stock,
        threshold,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Claims `reference` for `applied` (its `stock_after` is filled in by [`shift`]). False when
/// the reference is taken already (by a committed move: a concurrent claim of the same
/// reference waits for the other transaction to end first) or when the product does not exist.
pub async fn claim(db: impl PgExecutor<'_>, applied: &StockMove) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query_scalar!(
        "insert into inventory_moves (reference, product_id, kind, quantity, stock_after)
         select $1, id, $3, $4, stock from products where id = $2
         on conflict (reference) do nothing
         returning reference",
        applied.reference,
        applied.product_id.get(),
        applied.kind.as_str(),
        applied.quantity,
    )
    .fetch_optional(db)
    .await?;
    Ok(claimed.is_some())
}

/// The move stored under `reference`, if any.
pub async fn find(
    db: impl PgExecutor<'_>,
    reference: &str,
) -> Result<Option<MoveRow>, sqlx::Error> {
    sqlx::query_as!(
        MoveRow,
        "select reference, product_id, kind, quantity, stock_after from inventory_moves
         where reference = $1",
        reference,
    )
    .fetch_optional(db)
    .await
}

/// Adds `delta` (negative to deduct) to the available units of `product_id` if the result stays
/// within `0..=1,000,000,000`, and records the result as the `stock_after` of the move claimed
/// under `reference`; the units after, or `None` when the move does not fit (nothing changed).
///
/// As in the saga's reservations, the condition in the `update` is the concurrency story: the
/// row lock queues concurrent changes, and each re-checks against the latest stock.
pub async fn shift(
    db: impl PgExecutor<'_>,
    reference: &str,
    product_id: i64,
    delta: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"with moved as (
               update products set stock = stock + $3, updated_at = now()
               where id = $2 and stock + $3 between 0 and 1000000000
               returning stock
           )
           update inventory_moves m set stock_after = moved.stock from moved
           where m.reference = $1
           returning moved.stock as "stock!""#,
        reference,
        product_id,
        delta,
    )
    .fetch_optional(db)
    .await
}
