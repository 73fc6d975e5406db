//! The `orders` table.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use microshop_domain::{Id, Page};
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

/// A status change asked for by a stock event.
#[derive(Debug, Clone)]
pub struct Settlement {
    /// The order.
    pub order_id: i64,
    /// `CONFIRMED` or `REJECTED`.
    pub status: OrderStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// Moves every still `PENDING` order of `settlements` to its new status inside the caller's
/// transaction, in one statement; returns the ids of the orders it changed. An order listed
/// twice is changed once.
pub async fn settle_all(
    conn: &mut PgConnection,
    settlements: &[Settlement],
) -> Result<HashSet<i64>, sqlx::Error> {
    if settlements.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<i64> = settlements.iter().map(|s| s.order_id).collect();
    let statuses: Vec<&str> = settlements.iter().map(|s| s.status.as_str()).collect();
    let reasons: Vec<Option<String>> = settlements.iter().map(|s| s.reason.clone()).collect();
    let changed = sqlx::query_scalar!(
        "update orders o set status = v.status, reason = v.reason, updated_at = now()
         from unnest($1::bigint[], $2::text[], $3::text[]) as v(id, status, reason)
         where o.id = v.id and o.status = 'PENDING'
         returning o.id",
        &ids,
        &statuses as &[&str],
        &reasons as &[Option<String>],
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(changed.into_iter().collect())
}

/// The current status of each order of `ids` that exists.
pub async fn statuses(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<HashMap<i64, String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!("select id, status from orders where id = any($1)", ids)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.status)).collect())
}

/// Orders PENDING for longer than `age` (the partial index `orders_pending_by_age` serves it).
pub async fn count_pending_older_than(
    db: impl PgExecutor<'_>,
    age: std::time::Duration,
) -> Result<i64, sqlx::Error> {
    let seconds = age.as_secs_f64();
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from orders
           where status = 'PENDING' and created_at < now() - make_interval(secs => $1)"#,
        seconds
    )
    .fetch_one(db)
    .await
}
