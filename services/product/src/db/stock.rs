//! Stock of the order saga: the products a batch locks (in id order, one statement), the
//! guarded write of what the batch changed, and the low-stock flags every stock change settles.
//! Reservations are in [`super::reservations`].

use sqlx::PgConnection;

use crate::domain::shelf::{Delta, Standing};

/// Locks the rows of `products` that exist, in id order, until the transaction ends, and
/// returns their stock and whether they are archived.
///
/// Every writer of the saga locks all the products of its batch with this one statement before
/// it changes any of them, and locks in id order, so two replicas working on overlapping
/// batches queue on the first row they share and never deadlock.
pub async fn lock(conn: &mut PgConnection, products: &[i64]) -> Result<Vec<Standing>, sqlx::Error> {
    if products.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as!(
        Standing,
        r#"select id as product_id, stock, archived_at is not null as "archived!"
           from products where id = any($1) order by id for update"#,
        products,
    )
    .fetch_all(conn)
    .await
}

/// Writes `deltas` (locked rows, in id order) in one statement; returns each product's stock
/// afterwards, as `(product_id, stock)`, for the rows it changed.
///
/// `stock >= taken` is the belt to [`lock`]'s braces: the batch worked out its changes against
/// the locked rows, so every row passes; were one not as the lock showed it, it would be left
/// alone rather than oversold (the caller compares what comes back with what it worked out and
/// fails the batch on any difference). The table's check constraints refuse negative stock
/// whatever the application does.
pub async fn write(
    conn: &mut PgConnection,
    deltas: &[Delta],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    if deltas.is_empty() {
        return Ok(Vec::new());
    }
    let products: Vec<i64> = deltas.iter().map(|d| d.product_id).collect();
    let taken: Vec<i64> = deltas.iter().map(|d| d.taken).collect();
    let rows = sqlx::query!(
        "update products p set stock = p.stock - d.taken, updated_at = now()
         from unnest($1::bigint[], $2::bigint[]) as d(id, taken)
         where p.id = d.id and p.stock >= d.taken
         returning p.id, p.stock",
        &products,
        &taken,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.stock)).collect())
}

/// Units of `product_id` on hand, or `None` when there is no such product.
pub async fn on_hand(conn: &mut PgConnection, product_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("select stock from products where id = $1", product_id)
        .fetch_optional(conn)
        .await
}

/// A product whose low-stock flag was just raised: its stock reached its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowStock {
    /// The product.
    pub product_id: i64,
    /// Units available now.
    pub stock: i64,
    /// Its threshold.
    pub threshold: i64,
}

/// Brings the low-stock flag of `products` in line with their stock now, in one statement:
/// raised where the stock is at or below the threshold, lowered where it is above. Returns the
/// products whose flag was raised by this call (each crossing is reported once). Rows whose flag
/// is right already are not written.
pub async fn settle_low_stock(
    conn: &mut PgConnection,
    products: &[i64],
) -> Result<Vec<LowStock>, sqlx::Error> {
    let rows = sqlx::query!(
        "update products set low_stock_alerted = stock <= low_stock_threshold
         where id = any($1) and low_stock_alerted <> (stock <= low_stock_threshold)
         returning id, stock, low_stock_threshold, low_stock_alerted",
        products,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.low_stock_alerted)
        .map(|row| LowStock {
            product_id: row.id,
            stock: row.stock,
            threshold: row.low_stock_threshold,
        })
        .collect())
}
