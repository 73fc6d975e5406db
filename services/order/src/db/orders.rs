//! The `orders` table.

use chrono::{DateTime, Utc};
use microshop_web::{Id, Page};
use sqlx::{PgConnection, PgExecutor};

use crate::domain::{NewOrder, OrderStatus};

/// A stored order.
#[derive(Debug, Clone)]
pub struct OrderRow {
    /// Primary key.
    pub id: i64,
    /// Who ordered.
    pub user_id: i64,
    /// What.
    pub product_id: i64,
    /// How many.
    pub quantity: i64,
    /// Price of one unit when ordered.
    pub unit_price_cents: i64,
    /// `quantity * unit_price_cents`.
    pub total_price_cents: i64,
    /// `PENDING`, `CONFIRMED` or `REJECTED`.
    pub status: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

/// Stores a new `PENDING` order.
pub async fn insert(
    db: impl PgExecutor<'_>,
    order: &NewOrder,
    unit_price_cents: i64,
) -> Result<OrderRow, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        "insert into orders (user_id, product_id, quantity, unit_price_cents, total_price_cents)
         values ($1, $2, $3::bigint, $4::bigint, $3::bigint * $4::bigint)
         returning id, user_id, product_id, quantity, unit_price_cents, total_price_cents,
                   status, reason, created_at, updated_at",
        order.user_id.get(),
        order.product_id.get(),
        order.quantity,
        unit_price_cents,
    )
    .fetch_one(db)
    .await
}

/// The order with `id`, if any.
pub async fn find(db: impl PgExecutor<'_>, id: Id) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        "select id, user_id, product_id, quantity, unit_price_cents, total_price_cents,
                status, reason, created_at, updated_at
         from orders where id = $1",
        id.get(),
    )
    .fetch_optional(db)
    .await
}

/// One page of orders, oldest first, optionally of one user.
pub async fn list(
    db: impl PgExecutor<'_>,
    user_id: Option<Id>,
    page: Page,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        "select id, user_id, product_id, quantity, unit_price_cents, total_price_cents,
                status, reason, created_at, updated_at
         from orders where ($1::bigint is null or user_id = $1)
         order by id limit $2 offset $3",
        user_id.map(Id::get),
        page.limit,
        page.offset,
    )
    .fetch_all(db)
    .await
}

/// How [`settle`] went.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    /// The order was `PENDING` and now has the new status.
    Changed,
    /// The order had already left `PENDING` (its status is given); nothing changed.
    AlreadySettled(String),
    /// No such order.
    Missing,
}

/// Moves a `PENDING` order to `status` inside the caller's transaction.
pub async fn settle(
    conn: &mut PgConnection,
    order_id: i64,
    status: OrderStatus,
    reason: Option<&str>,
) -> Result<Settled, sqlx::Error> {
    let changed = sqlx::query!(
        "update orders set status = $2, reason = $3, updated_at = now()
         where id = $1 and status = 'PENDING'",
        order_id,
        status.as_str(),
        reason,
    )
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 1 {
        return Ok(Settled::Changed);
    }
    let current = sqlx::query_scalar!("select status from orders where id = $1", order_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(current.map_or(Settled::Missing, Settled::AlreadySettled))
}
