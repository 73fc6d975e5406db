//! Stock reservations: the conditional decrement that makes overselling impossible.

use microshop_events::{Event, OrderCreated, StockRejected, StockReserved};
use sqlx::PgConnection;

/// Takes `order.quantity` units of the product for the order, inside the caller's transaction,
/// and returns the event that tells the order service how it went.
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
        sqlx::query!(
            "insert into stock_reservations (order_id, product_id, quantity) values ($1, $2, $3)",
            order.order_id,
            order.product_id,
            order.quantity,
        )
        .execute(&mut *conn)
        .await?;
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
