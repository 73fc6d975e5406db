//! The `orders` table.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use microshop_domain::{Id, Page};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

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

/// Stores a new `PENDING` order, with the id of the `order.created` event that announces it.
pub async fn insert(
    db: impl PgExecutor<'_>,
    order: &NewOrder,
    unit_price_cents: i64,
    created_event_id: Uuid,
) -> Result<OrderRow, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        "insert into orders (user_id, product_id, quantity, unit_price_cents, total_price_cents,
                             created_event_id)
         values ($1, $2, $3::bigint, $4::bigint, $3::bigint * $4::bigint, $5)
         returning id, user_id, product_id, quantity, unit_price_cents, total_price_cents,
                   status, reason, created_at, updated_at",
        order.user_id.get(),
        order.product_id.get(),
        order.quantity,
        unit_price_cents,
        created_event_id,
    )
    .fetch_one(db)
    .await
}

/// Takes the buyer's order lock for the rest of the caller's transaction, then counts their
/// open orders (`PENDING` or `CONFIRMED`: not yet settled or not yet paid).
pub async fn lock_and_count_open(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    // Key space 1 of the two-key advisory locks is "a buyer's new orders"; two buyers whose
    // ids hash alike merely wait for each other.
    sqlx::query!(
        "select pg_advisory_xact_lock(1, hashtext($1::bigint::text))",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    let open = sqlx::query_scalar!(
        r#"select count(*) as "open!" from orders
           where user_id = $1 and status in ('PENDING', 'CONFIRMED')"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(open)
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

/// A `PENDING` order whose stock answer is overdue.
#[derive(Debug, Clone)]
pub struct Overdue {
    /// The order.
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
    /// The id its `order.created` went out under (none for orders older than the column).
    pub created_event_id: Option<Uuid>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
}

/// Marks up to `limit` orders PENDING for longer than `age` and never sent again as sent again
/// now, and returns them, oldest first. Rows another replica is marking are skipped.
pub async fn mark_redriven(
    conn: &mut PgConnection,
    age: std::time::Duration,
    limit: i64,
) -> Result<Vec<Overdue>, sqlx::Error> {
    let mut rows = sqlx::query_as!(
        Overdue,
        "update orders set redriven_at = now()
         where id in (select id from orders
                      where status = 'PENDING' and redriven_at is null
                        and created_at < now() - make_interval(secs => $1)
                      order by created_at limit $2 for update skip locked)
         returning id, user_id, product_id, quantity, unit_price_cents, total_price_cents,
                   created_event_id, created_at",
        age.as_secs_f64(),
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.sort_by_key(|row| row.created_at);
    Ok(rows)
}

/// Rejects, with `reason`, up to `limit` orders still PENDING `age` after they were sent again,
/// and returns them. Rows another replica is rejecting are skipped.
pub async fn reject_redriven(
    conn: &mut PgConnection,
    age: std::time::Duration,
    reason: &str,
    limit: i64,
) -> Result<Vec<Overdue>, sqlx::Error> {
    sqlx::query_as!(
        Overdue,
        "update orders set status = 'REJECTED', reason = $2, updated_at = now()
         where id in (select id from orders
                      where status = 'PENDING'
                        and redriven_at < now() - make_interval(secs => $1)
                      order by id limit $3 for update skip locked)
         returning id, user_id, product_id, quantity, unit_price_cents, total_price_cents,
                   created_event_id, created_at",
        age.as_secs_f64(),
        reason,
        limit,
    )
    .fetch_all(conn)
    .await
}
