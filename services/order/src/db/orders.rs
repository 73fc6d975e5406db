//! The `orders` table, its lines (`order_items`) and its history (`order_transitions`).
//! Every status change goes through [`transition`] or one of the batch statements here, each of
//! which writes the new status and its `order_transitions` row in one statement.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use microshop_db::Db;
use microshop_domain::{Id, Page};
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{Actor, OrderStatus};

/// A stored order, without its lines.
#[derive(Debug, Clone)]
pub struct OrderRow {
    /// Primary key.
    pub id: i64,
    /// Who ordered.
    pub user_id: i64,
    /// The sum of its lines.
    pub total_price_cents: i64,
    /// `PENDING`, `CONFIRMED`, ... (see [`OrderStatus`]).
    pub status: String,
    /// Why it was rejected or cancelled.
    pub reason: Option<String>,
    /// The buyer's address as it was when ordering.
    pub shipping_address: Option<Value>,
    /// The carrier's tracking number, once shipped.
    pub tracking_number: Option<String>,
    /// The payment that paid it.
    pub payment_id: Option<i64>,
    /// Whether its cancellation asked for a refund.
    pub refund: Option<bool>,
    /// When it was accepted.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When its stock was reserved (the payment timeout counts from here).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// When it was shipped.
    pub shipped_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl OrderRow {
    /// Its status, as the domain knows it.
    pub fn status(&self) -> OrderStatus {
        // The column's CHECK constraint admits only these.
        OrderStatus::parse(&self.status).unwrap_or(OrderStatus::Pending)
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    /// The order.
    pub order_id: i64,
    /// The product.
    pub product_id: i64,
    /// Its name when ordered (unknown for orders of before lines existed).
    pub product_name: Option<String>,
    /// Units.
    pub quantity: i64,
    /// Price of one unit when ordered.
    pub unit_price_cents: i64,
}

/// An order with its lines, in the order the buyer listed them.
#[derive(Debug, Clone)]
pub struct Order {
    /// The order.
    pub row: OrderRow,
    /// Its lines.
    pub items: Vec<ItemRow>,
}

/// A new order, priced, ready to store.
#[derive(Debug, Clone)]
pub struct NewOrderRecord {
    /// The buyer.
    pub user_id: i64,
    /// Its lines, priced, in the buyer's order.
    pub items: Vec<ItemRow>,
    /// The address it was asked to go to.
    pub address_id: Option<i64>,
    /// That address as it is now.
    pub shipping_address: Option<Value>,
    /// The id its `order.created` goes out under.
    pub created_event_id: Uuid,
}

impl NewOrderRecord {
    /// The sum of the lines, or `None` if it does not fit in cents.
    pub fn total_cents(&self) -> Option<i64> {
        self.items.iter().try_fold(0_i64, |sum, item| {
            sum.checked_add(item.quantity.checked_mul(item.unit_price_cents)?)
        })
    }
}

/// Stores a new `PENDING` order, its lines and its first timeline entry in one statement, unless
/// its buyer already has `max_open` open orders (`PENDING` or `CONFIRMED`: not yet settled or not
/// yet paid): then nothing is written and the answer is `None`. The caller holds
/// [`lock_buyer`], so that concurrent orders of one buyer are counted one after the other.
pub async fn insert_within_limit(
    conn: &mut PgConnection,
    order: &NewOrderRecord,
    total_price_cents: i64,
    max_open: i64,
) -> Result<Option<Order>, sqlx::Error> {
    let products: Vec<i64> = order.items.iter().map(|i| i.product_id).collect();
    let names: Vec<Option<String>> = order.items.iter().map(|i| i.product_name.clone()).collect();
    let quantities: Vec<i64> = order.items.iter().map(|i| i.quantity).collect();
    let prices: Vec<i64> = order.items.iter().map(|i| i.unit_price_cents).collect();
    let row = sqlx::query_as!(
        OrderRow,
        r#"with o as (
               insert into orders (user_id, total_price_cents, address_id, shipping_address,
                                   created_event_id)
               select $1, $2, $3, $4, $5
               where (select count(*) from orders
                      where user_id = $1 and status in ('PENDING', 'CONFIRMED')) < $10
               returning *),
           i as (
               insert into order_items (order_id, product_id, product_name, quantity,
                                        unit_price_cents, position)
               select o.id, l.product_id, l.name, l.quantity, l.price, (l.n - 1)::integer
               from o, unnest($6::bigint[], $7::text[], $8::bigint[], $9::bigint[])
                       with ordinality as l(product_id, name, quantity, price, n)),
           t as (
               insert into order_transitions (order_id, to_status, actor, actor_user_id, at)
               select o.id, 'PENDING', 'customer', o.user_id, o.created_at from o)
           select id as "id!", user_id as "user_id!", total_price_cents as "total_price_cents!",
                  status as "status!", reason, shipping_address, tracking_number, payment_id,
                  refund, created_at as "created_at!", updated_at as "updated_at!",
                  confirmed_at, paid_at, shipped_at, delivered_at, cancelled_at
           from o"#,
        order.user_id,
        total_price_cents,
        order.address_id,
        order.shipping_address,
        order.created_event_id,
        &products,
        &names as &[Option<String>],
        &quantities,
        &prices,
        max_open,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|row| {
        let items = order
            .items
            .iter()
            .map(|item| ItemRow {
                order_id: row.id,
                ..item.clone()
            })
            .collect();
        Order { row, items }
    }))
}

/// Takes the buyer's order lock for the rest of the caller's transaction. It is a statement of
/// its own: a statement that counted the buyer's orders after waiting for the lock would count
/// them as they were before the wait.
pub async fn lock_buyer(conn: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    // Key space 1 of the two-key advisory locks is "a buyer's new orders"; two buyers whose
    // ids hash alike merely wait for each other.
    sqlx::query!(
        "select pg_advisory_xact_lock(1, hashtext($1::bigint::text))",
        user_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The buyer's open orders (`PENDING` or `CONFIRMED`).
pub async fn count_open(conn: &mut PgConnection, user_id: i64) -> Result<i64, sqlx::Error> {
    let open = sqlx::query_scalar!(
        r#"select count(*) as "open!" from orders
           where user_id = $1 and status in ('PENDING', 'CONFIRMED')"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(open)
}

/// The lines of `orders`, grouped by order, each group in the buyer's order.
pub async fn items_of(
    db: impl PgExecutor<'_>,
    orders: &[i64],
) -> Result<HashMap<i64, Vec<ItemRow>>, sqlx::Error> {
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query_as!(
        ItemRow,
        "select order_id, product_id, product_name, quantity, unit_price_cents
         from order_items where order_id = any($1) order by order_id, position",
        orders,
    )
    .fetch_all(db)
    .await?;
    let mut grouped: HashMap<i64, Vec<ItemRow>> = HashMap::new();
    for row in rows {
        grouped.entry(row.order_id).or_default().push(row);
    }
    Ok(grouped)
}

/// Joins `rows` with their lines.
async fn with_items(
    db: impl PgExecutor<'_>,
    rows: Vec<OrderRow>,
) -> Result<Vec<Order>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut items = items_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Order {
            items: items.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// The order with `id`, if any, with its lines.
pub async fn find(db: &Db, id: Id) -> Result<Option<Order>, sqlx::Error> {
    let row = sqlx::query_as!(
        OrderRow,
        "select id, user_id, total_price_cents, status, reason, shipping_address,
                tracking_number, payment_id, refund, created_at, updated_at, confirmed_at,
                paid_at, shipped_at, delivered_at, cancelled_at
         from orders where id = $1",
        id.get(),
    )
    .fetch_optional(db)
    .await?;
    match row {
        Some(row) => Ok(with_items(db, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// The order with `id`, locked for the rest of the caller's transaction, with its lines.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<Order>, sqlx::Error> {
    let row = sqlx::query_as!(
        OrderRow,
        "select id, user_id, total_price_cents, status, reason, shipping_address,
                tracking_number, payment_id, refund, created_at, updated_at, confirmed_at,
                paid_at, shipped_at, delivered_at, cancelled_at
         from orders where id = $1 for update",
        id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(with_items(conn, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// One page of orders, oldest first, optionally of one user, with their lines.
pub async fn list(
    db: &Db,
    user_id: Option<Id>,
    status: Option<OrderStatus>,
    page: Page,
) -> Result<Vec<Order>, sqlx::Error> {
    let rows = sqlx::query_as!(
        OrderRow,
        "select id, user_id, total_price_cents, status, reason, shipping_address,
                tracking_number, payment_id, refund, created_at, updated_at, confirmed_at,
                paid_at, shipped_at, delivered_at, cancelled_at
         from orders where ($1::bigint is null or user_id = $1)
                       and ($2::text is null or status = $2)
         order by id limit $3 offset $4",
        user_id.map(Id::get),
        status.map(OrderStatus::as_str),
        page.limit,
        page.offset,
    )
    .fetch_all(db)
    .await?;
    with_items(db, rows).await
}

/// What a single step writes besides the status.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// Why (a cancellation's reason; also kept in the timeline).
    pub reason: Option<String>,
    /// The payment that paid the order.
    pub payment_id: Option<i64>,
    /// The carrier's tracking number.
    pub tracking_number: Option<String>,
    /// Whether a cancellation asked for a refund.
    pub refund: Option<bool>,
}

/// Moves order `id` from `from` to `to` (it must be locked by the caller and still be `from`),
/// records `details` and the step's timeline entry, in one statement. Returns the order as it
/// is now, without its lines.
pub async fn transition(
    conn: &mut PgConnection,
    id: i64,
    from: OrderStatus,
    to: OrderStatus,
    actor: Actor,
    details: &Details,
) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as!(
        OrderRow,
        r#"with u as (
               update orders set
                   status = $3, updated_at = now(),
                   reason = case when $3 in ('REJECTED', 'CANCELLED') then $6 else reason end,
                   confirmed_at = case when $3 = 'CONFIRMED' then now() else confirmed_at end,
                   paid_at = case when $3 = 'PAID' then now() else paid_at end,
                   payment_id = coalesce($7, payment_id),
                   shipped_at = case when $3 = 'SHIPPED' then now() else shipped_at end,
                   tracking_number = coalesce($8, tracking_number),
                   delivered_at = case when $3 = 'DELIVERED' then now() else delivered_at end,
                   cancelled_at = case when $3 = 'CANCELLED' then now() else cancelled_at end,
                   refund = coalesce($9, refund)
               where id = $1 and status = $2
               returning *),
           t as (
               insert into order_transitions (order_id, from_status, to_status, actor,
                                              actor_user_id, reason, at)
               select id, $2, $3, $4, $5, $10, updated_at from u)
           select id as "id!", user_id as "user_id!", total_price_cents as "total_price_cents!",
                  status as "status!", reason, shipping_address, tracking_number, payment_id,
                  refund, created_at as "created_at!", updated_at as "updated_at!",
                  confirmed_at, paid_at, shipped_at, delivered_at, cancelled_at
           from u"#,
        id,
        from.as_str(),
        to.as_str(),
        actor.kind(),
        actor.user_id().map(Id::get),
        details.reason,
        details.payment_id,
        details.tracking_number,
        details.refund,
        timeline_note(to, details),
    )
    .fetch_optional(conn)
    .await
}

/// What the timeline says of a step besides its statuses.
fn timeline_note(to: OrderStatus, details: &Details) -> Option<String> {
    match to {
        OrderStatus::Paid => details.payment_id.map(|id| format!("payment {id}")),
        OrderStatus::Shipped => details
            .tracking_number
            .as_ref()
            .map(|number| format!("tracking number {number}")),
        _ => details.reason.clone(),
    }
}

/// An order locked for a batch of steps: what deciding and announcing them needs.
#[derive(Debug, Clone)]
pub struct Locked {
    /// The order.
    pub id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// Its status now.
    pub status: OrderStatus,
    /// What it costs.
    pub total_price_cents: i64,
}

/// Locks the orders of `ids` that exist, in id order (so two batches lock in the same order and
/// cannot deadlock), for the rest of the caller's transaction.
pub async fn lock_all(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Locked>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        "select id, user_id, status, total_price_cents from orders
         where id = any($1) order by id for update",
        ids,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let locked = Locked {
                id: row.id,
                user_id: row.user_id,
                status: OrderStatus::parse(&row.status).unwrap_or(OrderStatus::Pending),
                total_price_cents: row.total_price_cents,
            };
            (row.id, locked)
        })
        .collect())
}

/// Orders locked for a batch of events, with their lines.
#[derive(Debug, Default)]
pub struct LockedBatch {
    /// The orders that exist, by id.
    pub orders: HashMap<i64, Locked>,
    /// Their lines, by order.
    pub items: HashMap<i64, Vec<ItemRow>>,
}

/// The lines of `order_id` in `items` (none for an unknown order).
pub fn lines_of<S: std::hash::BuildHasher>(
    items: &HashMap<i64, Vec<ItemRow>, S>,
    order_id: i64,
) -> &[ItemRow] {
    items.get(&order_id).map_or(&[], Vec::as_slice)
}

/// Locks the orders of `ids` (in any order, repeated or not) as [`lock_all`] does and reads
/// their lines.
pub async fn lock_batch(
    conn: &mut PgConnection,
    mut ids: Vec<i64>,
) -> Result<LockedBatch, sqlx::Error> {
    ids.sort_unstable();
    ids.dedup();
    let orders = lock_all(&mut *conn, &ids).await?;
    let items = items_of(&mut *conn, &ids).await?;
    Ok(LockedBatch { orders, items })
}

/// A stock answer to apply to a `PENDING` order.
#[derive(Debug, Clone)]
pub struct Settlement {
    /// The order.
    pub order_id: i64,
    /// `CONFIRMED` or `REJECTED`.
    pub status: OrderStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// Moves every order of `settlements` (locked by the caller and still `PENDING`) to its new
/// status with its timeline entry, in one statement, as told by `actor`.
pub async fn settle_all(
    conn: &mut PgConnection,
    settlements: &[Settlement],
    actor: Actor,
) -> Result<(), sqlx::Error> {
    if settlements.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = settlements.iter().map(|s| s.order_id).collect();
    let statuses: Vec<&str> = settlements.iter().map(|s| s.status.as_str()).collect();
    let reasons: Vec<Option<String>> = settlements.iter().map(|s| s.reason.clone()).collect();
    sqlx::query!(
        "with v as (select * from unnest($1::bigint[], $2::text[], $3::text[])
                        as v(id, status, reason)),
              u as (
                  update orders o set status = v.status, reason = v.reason, updated_at = now(),
                      confirmed_at = case when v.status = 'CONFIRMED' then now() end
                  from v where o.id = v.id and o.status = 'PENDING'
                  returning o.id, o.status, o.reason, o.updated_at)
         insert into order_transitions (order_id, from_status, to_status, actor, reason, at)
         select id, 'PENDING', status, $4, reason, updated_at from u",
        &ids,
        &statuses as &[&str],
        &reasons as &[Option<String>],
        actor.kind(),
    )
    .execute(conn)
    .await?;
    Ok(())
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

/// An order a sweep picked.
#[derive(Debug, Clone)]
pub struct Swept {
    /// The order.
    pub id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// What it costs.
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
) -> Result<Vec<Swept>, sqlx::Error> {
    let mut rows = sqlx::query_as!(
        Swept,
        "update orders set redriven_at = now()
         where id in (select id from orders
                      where status = 'PENDING' and redriven_at is null
                        and created_at < now() - make_interval(secs => $1)
                      order by created_at limit $2 for update skip locked)
         returning id, user_id, total_price_cents, created_event_id, created_at",
        age.as_secs_f64(),
        limit,
    )
    .fetch_all(conn)
    .await?;
    rows.sort_by_key(|row| row.created_at);
    Ok(rows)
}

/// Rejects, with `reason`, up to `limit` orders still PENDING `age` after they were sent again,
/// with their timeline entries, and returns them. Rows another replica is rejecting are skipped.
pub async fn reject_redriven(
    conn: &mut PgConnection,
    age: std::time::Duration,
    reason: &str,
    limit: i64,
) -> Result<Vec<Swept>, sqlx::Error> {
    sqlx::query_as!(
        Swept,
        r#"with u as (
               update orders set status = 'REJECTED', reason = $2, updated_at = now()
               where id in (select id from orders
                            where status = 'PENDING'
                              and redriven_at < now() - make_interval(secs => $1)
                            order by id limit $3 for update skip locked)
               returning id, user_id, total_price_cents, created_event_id, created_at,
                         updated_at),
           t as (
               insert into order_transitions (order_id, from_status, to_status, actor, reason,
                                              at)
               select id, 'PENDING', 'REJECTED', 'system', $2, updated_at from u)
           select id as "id!", user_id as "user_id!", total_price_cents as "total_price_cents!",
                  created_event_id, created_at as "created_at!"
           from u"#,
        age.as_secs_f64(),
        reason,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// Cancels, with `reason`, up to `limit` orders `CONFIRMED` (unpaid) for longer than `age`,
/// with their timeline entries, and returns them. Rows another replica (or a payment being
/// applied) holds are skipped: the next pass sees what became of them.
pub async fn cancel_unpaid(
    conn: &mut PgConnection,
    age: std::time::Duration,
    reason: &str,
    limit: i64,
) -> Result<Vec<Swept>, sqlx::Error> {
    sqlx::query_as!(
        Swept,
        r#"with u as (
               update orders set status = 'CANCELLED', reason = $2, refund = false,
                                 cancelled_at = now(), updated_at = now()
               where id in (select id from orders
                            where status = 'CONFIRMED'
                              and confirmed_at < now() - make_interval(secs => $1)
                            order by confirmed_at limit $3 for update skip locked)
               returning id, user_id, total_price_cents, created_event_id, created_at,
                         updated_at),
           t as (
               insert into order_transitions (order_id, from_status, to_status, actor, reason,
                                              at)
               select id, 'CONFIRMED', 'CANCELLED', 'system', $2, updated_at from u)
           select id as "id!", user_id as "user_id!", total_price_cents as "total_price_cents!",
                  created_event_id, created_at as "created_at!"
           from u"#,
        age.as_secs_f64(),
        reason,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// One entry of an order's timeline.
#[derive(Debug, Clone)]
pub struct TransitionRow {
    /// The status before (none for the creation).
    pub from_status: Option<String>,
    /// The status after.
    pub to_status: String,
    /// Who: customer, admin, product-service, payment-service or system.
    pub actor: String,
    /// The customer or admin, if a person.
    pub actor_user_id: Option<i64>,
    /// Why, or what came with it (a tracking number, a payment).
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Every status change of order `id`, oldest first.
pub async fn timeline(db: impl PgExecutor<'_>, id: i64) -> Result<Vec<TransitionRow>, sqlx::Error> {
    sqlx::query_as!(
        TransitionRow,
        "select from_status, to_status, actor, actor_user_id, reason, at
         from order_transitions where order_id = $1 order by id",
        id,
    )
    .fetch_all(db)
    .await
}

/// A note on an order's timeline that is not a status change (a late payment refunded, stock
/// of a rejected order given back): from and to are the status it stays in.
pub async fn note(
    conn: &mut PgConnection,
    id: i64,
    status: OrderStatus,
    actor: Actor,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into order_transitions (order_id, from_status, to_status, actor, actor_user_id,
                                        reason)
         values ($1, $2, $2, $3, $4, $5)",
        id,
        status.as_str(),
        actor.kind(),
        actor.user_id().map(Id::get),
        reason,
    )
    .execute(conn)
    .await?;
    Ok(())
}
