//! The `payments` table.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// A payment as stored.
#[derive(Debug, Clone)]
pub struct PaymentRow {
    /// Its id (the provider's session `reference`).
    pub id: i64,
    /// The order it pays.
    pub order_id: i64,
    /// The buyer.
    pub user_id: i64,
    /// What the order costs, in cents.
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// `PaymentStatus` name.
    pub status: String,
    /// Refunds confirmed by the provider, in cents.
    pub refunded_cents: i64,
    /// The provider's checkout session.
    pub provider_session_id: Option<String>,
    /// Where the buyer pays.
    pub checkout_url: Option<String>,
    /// Why the card was declined.
    pub failure_code: Option<String>,
    /// The decline, for a person.
    pub failure_message: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When the provider took the money.
    pub succeeded_at: Option<DateTime<Utc>>,
    /// When the card was declined.
    pub failed_at: Option<DateTime<Utc>>,
}

/// A payment to store.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The order.
    pub order_id: i64,
    /// The buyer.
    pub user_id: i64,
    /// What the order costs, in cents.
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
}

/// Serialises the payment decisions of one order (creating a payment, applying a success) until
/// the transaction ends.
pub async fn lock_order(conn: &mut PgConnection, order_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("select pg_advisory_xact_lock($1)", order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Payment `id`.
pub async fn find(db: impl PgExecutor<'_>, id: i64) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(PaymentRow, "select * from payments where id = $1", id)
        .fetch_optional(db)
        .await
}

/// Payment `id`, locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "select * from payments where id = $1 for update",
        id
    )
    .fetch_optional(conn)
    .await
}

/// The order's open (`CREATED` or `PENDING`) payment.
pub async fn open_of_order(
    conn: &mut PgConnection,
    order_id: i64,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "select * from payments where order_id = $1 and status in ('CREATED', 'PENDING')",
        order_id
    )
    .fetch_optional(conn)
    .await
}

/// Another payment of the order that took money, if any.
pub async fn other_paid_of_order(
    conn: &mut PgConnection,
    order_id: i64,
    except: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from payments
         where order_id = $1 and id <> $2
           and status in ('SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED')
         order by id limit 1",
        order_id,
        except
    )
    .fetch_optional(conn)
    .await
}

/// The order's payments that took money, locked in id order.
pub async fn paid_of_order(
    conn: &mut PgConnection,
    order_id: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "select * from payments
         where order_id = $1 and status in ('SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED')
         order by id for update",
        order_id
    )
    .fetch_all(conn)
    .await
}

/// Stores `payment` `CREATED`.
pub async fn insert(
    conn: &mut PgConnection,
    payment: &NewPayment,
) -> Result<PaymentRow, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "insert into payments (order_id, user_id, amount_cents, currency, status)
         values ($1, $2, $3, $4, 'CREATED') returning *",
        payment.order_id,
        payment.user_id,
        payment.amount_cents,
        payment.currency,
    )
    .fetch_one(conn)
    .await
}

/// Records the provider's checkout session of payment `id`; a `CREATED` payment becomes
/// `PENDING` (one the provider's webhook already settled keeps its status).
pub async fn session_opened(
    db: impl PgExecutor<'_>,
    id: i64,
    session_id: &str,
    checkout_url: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "update payments
         set provider_session_id = coalesce(provider_session_id, $2),
             checkout_url = coalesce(checkout_url, $3),
             status = case when status = 'CREATED' then 'PENDING' else status end,
             updated_at = now()
         where id = $1 returning *",
        id,
        session_id,
        checkout_url,
    )
    .fetch_optional(db)
    .await
}

/// Payment `id` took the money (the session is recorded if it was not yet).
pub async fn succeeded(
    conn: &mut PgConnection,
    id: i64,
    session_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update payments
         set status = 'SUCCEEDED', succeeded_at = now(), updated_at = now(),
             provider_session_id = coalesce(provider_session_id, $2)
         where id = $1",
        id,
        session_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Payment `id` was declined.
pub async fn failed(
    conn: &mut PgConnection,
    id: i64,
    code: &str,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update payments
         set status = 'FAILED', failed_at = now(), updated_at = now(),
             failure_code = $2, failure_message = $3
         where id = $1",
        id,
        code,
        message,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a confirmed refund of `amount` cents to payment `id`, now in `status`.
pub async fn refunded(
    conn: &mut PgConnection,
    id: i64,
    amount: i64,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update payments
         set refunded_cents = refunded_cents + $2, status = $3, updated_at = now()
         where id = $1",
        id,
        amount,
        status,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of payments, newest first: of `user_id` (everyone's when `None`), of `order_id`
/// (every order's when `None`).
pub async fn list(
    db: impl PgExecutor<'_>,
    user_id: Option<i64>,
    order_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as!(
        PaymentRow,
        "select * from payments
         where ($1::bigint is null or user_id = $1) and ($2::bigint is null or order_id = $2)
         order by id desc limit $3 offset $4",
        user_id,
        order_id,
        limit,
        offset,
    )
    .fetch_all(db)
    .await
}
