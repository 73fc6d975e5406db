//! Stock and reservations: the conditional decrement that makes overselling impossible.

use sqlx::PgConnection;

/// Takes `quantity` units of `product_id` if that many are on hand; returns the units left, or
/// `None` when there are too few or no such product.
///
/// `stock >= $q` in the `UPDATE` is the whole concurrency story: PostgreSQL's row lock makes
/// concurrent reservations queue on the row, and each re-checks the condition against the latest
/// stock, so stock never goes negative and never more is promised than there is.
pub async fn take(
    conn: &mut PgConnection,
    product_id: i64,
    quantity: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "update products set stock = stock - $2, updated_at = now()
         where id = $1 and stock >= $2 returning stock",
        product_id,
        quantity,
    )
    .fetch_optional(conn)
    .await
}

/// Units of `product_id` on hand, or `None` when there is no such product.
pub async fn on_hand(conn: &mut PgConnection, product_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("select stock from products where id = $1", product_id)
        .fetch_optional(conn)
        .await
}

/// Stock held for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The order.
    pub order_id: i64,
    /// The product.
    pub product_id: i64,
    /// Units held.
    pub quantity: i64,
}

/// Records `reserved` (one row per order, so a cancellation can give the stock back), in one
/// statement.
pub async fn record_reservations(
    conn: &mut PgConnection,
    reserved: &[Reservation],
) -> Result<(), sqlx::Error> {
    if reserved.is_empty() {
        return Ok(());
    }
    let orders: Vec<i64> = reserved.iter().map(|r| r.order_id).collect();
    let products: Vec<i64> = reserved.iter().map(|r| r.product_id).collect();
    let quantities: Vec<i64> = reserved.iter().map(|r| r.quantity).collect();
    sqlx::query!(
        "insert into stock_reservations (order_id, product_id, quantity)
         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[])",
        &orders,
        &products,
        &quantities,
    )
    .execute(conn)
    .await?;
    Ok(())
}
