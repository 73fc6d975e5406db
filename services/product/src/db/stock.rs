//! Stock and reservations: the conditional decrement that makes overselling impossible, and
//! the reservation rows that let a cancelled order give its stock back exactly once.

use std::collections::HashMap;

use sqlx::PgConnection;

/// Takes `quantity` units of `product_id` if that many are on hand and the product is still
/// sold (not archived); returns the units left, or `None` when there are too few, the product
/// is archived or there is no such product.
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
         where id = $1 and stock >= $2 and archived_at is null returning stock",
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

/// Units of `product_id` on hand and whether it is archived (no longer sold), or `None` when
/// there is no such product: why [`take`] refused.
pub async fn standing(
    conn: &mut PgConnection,
    product_id: i64,
) -> Result<Option<(i64, bool)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select stock, archived_at is not null as "archived!" from products where id = $1"#,
        product_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.stock, row.archived)))
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

/// Where an order's reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationState {
    /// The units are taken for the order.
    Held,
    /// They were given back.
    Released,
    /// The order was cancelled before any stock was taken: none ever will be.
    Cancelled,
    /// The order shipped: its units left the warehouse for good.
    Fulfilled,
}

impl ReservationState {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "held" => Some(Self::Held),
            "released" => Some(Self::Released),
            "cancelled" => Some(Self::Cancelled),
            "fulfilled" => Some(Self::Fulfilled),
            _ => None,
        }
    }
}

/// The reservations of `orders` that exist, with their state.
pub async fn reservations(
    conn: &mut PgConnection,
    orders: &[i64],
) -> Result<HashMap<i64, (Reservation, ReservationState)>, sqlx::Error> {
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        "select order_id, product_id, quantity, status from stock_reservations
         where order_id = any($1)",
        orders,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let state = ReservationState::parse(&row.status)?;
            let reservation = Reservation {
                order_id: row.order_id,
                product_id: row.product_id,
                quantity: row.quantity,
            };
            Some((row.order_id, (reservation, state)))
        })
        .collect())
}

/// Gives the units held for `order_id` back, once: the reservation moves from held to
/// released and its units return to stock. Returns what was given back and the units on hand
/// afterwards (`None` for the latter when the product is gone); `None` when nothing was held.
pub async fn release(
    conn: &mut PgConnection,
    order_id: i64,
) -> Result<Option<(Reservation, Option<i64>)>, sqlx::Error> {
    let Some(held) = sqlx::query_as!(
        Reservation,
        "update stock_reservations set status = 'released', released_at = now()
         where order_id = $1 and status = 'held'
         returning order_id, product_id, quantity",
        order_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let remaining = sqlx::query_scalar!(
        "update products set stock = stock + $2, updated_at = now() where id = $1
         returning stock",
        held.product_id,
        held.quantity,
    )
    .fetch_optional(conn)
    .await?;
    Ok(Some((held, remaining)))
}

/// Records that `order` was cancelled before any of its stock was taken, so none ever will be;
/// changes nothing when the order already has a reservation row.
pub async fn forbid(conn: &mut PgConnection, order: &Reservation) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into stock_reservations (order_id, product_id, quantity, status)
         values ($1, $2, $3, 'cancelled') on conflict (order_id) do nothing",
        order.order_id,
        order.product_id,
        order.quantity,
    )
    .execute(conn)
    .await?;
    Ok(())
}
