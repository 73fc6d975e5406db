//! Stock reservations: the conditional decrement that makes overselling impossible.

use microshop_events::{Event, OrderCreated, StockRejected, StockReserved};
use sqlx::PgConnection;

/// Takes `order.quantity` units of the product for the order, inside the caller's transaction,
/// and returns the event that tells the order service how it went. The caller records the
/// reservations it made with [`record_reservations`] in the same transaction.
///
/// `stock >= $q` in the `UPDATE` is the whole concurrency story: PostgreSQL's row lock makes
/// concurrent reservations queue on the row, and each re-checks the condition against the latest
/// stock, so stock never goes negative and never more is promised than there is.
pub async fn reserve(conn: &mut PgConnection, order: &OrderCreated) -> Result<Event, sqlx::Error> {
    let remaining = sqlx::query_scalar!(
        "update products set stock = stock - $2, updated_at = now()
         where id = $1 and stock >= $2 returning stock",
        order.product_id,
        order.quantity,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(remaining) = remaining {
        return Ok(Event::StockReserved(StockReserved {
            order_id: order.order_id,
            product_id: order.product_id,
            quantity: order.quantity,
            remaining,
        }));
    }
    let available =
        sqlx::query_scalar!("select stock from products where id = $1", order.product_id)
            .fetch_optional(&mut *conn)
            .await?;
    let reason = match available {
        Some(available) => format!(
            "only {available} left of product {}, {} requested",
            order.product_id, order.quantity
        ),
        None => format!("product {} does not exist", order.product_id),
    };
    Ok(Event::StockRejected(StockRejected {
        order_id: order.order_id,
        product_id: order.product_id,
        requested: order.quantity,
        available: available.unwrap_or(0),
        reason,
    }))
}

/// Records the reservations made by [`reserve`] (one row per order, so a cancellation can give
/// the stock back), in one statement.
pub async fn record_reservations(
    conn: &mut PgConnection,
    reserved: &[StockReserved],
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
