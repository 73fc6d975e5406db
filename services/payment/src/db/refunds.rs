//! The `refunds` table: each refund asked for once per payment and `reference`, sent to the
//! provider by the dispatcher ([`crate::dispatch`]) until it accepts it, settled by its answer
//! or its webhook.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// A refund as stored.
#[derive(Debug, Clone)]
pub struct RefundRow {
    /// Its id (the provider's refund `reference`).
    pub id: i64,
    /// The payment it gives money back from.
    pub payment_id: i64,
    /// In cents.
    pub amount_cents: i64,
    /// What asked for it (one refund per payment and reference).
    pub reference: String,
    /// Why, for a person.
    pub reason: String,
    /// `RefundStatus` name.
    pub status: String,
    /// The provider's refund id, once it accepted the request.
    pub provider_refund_id: Option<String>,
    /// When the provider accepted the request.
    pub sent_at: Option<DateTime<Utc>>,
    /// When the dispatcher may (next) send it.
    pub next_attempt_at: DateTime<Utc>,
    /// Attempts to send it.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Why the provider refused it.
    pub failure_message: Option<String>,
    /// Who asked: `admin:<id>`, `order-service` (a cancellation), `payment-service`.
    pub requested_by: String,
    /// Asked for.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When the provider confirmed or refused it.
    pub settled_at: Option<DateTime<Utc>>,
}

/// A refund to send, with the checkout session it refunds.
#[derive(Debug, Clone)]
pub struct Due {
    /// The refund.
    pub id: i64,
    /// In cents.
    pub amount_cents: i64,
    /// The payment's provider session.
    pub session_id: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// A refund to store.
#[derive(Debug, Clone)]
pub struct NewRefund<'a> {
    /// The payment.
    pub payment_id: i64,
    /// In cents.
    pub amount_cents: i64,
    /// What asks for it.
    pub reference: &'a str,
    /// Why.
    pub reason: &'a str,
    /// Who asks.
    pub requested_by: &'a str,
}

/// Cents of payment `payment_id` refunded or being refunded.
pub async fn committed_cents(conn: &mut PgConnection, payment_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select coalesce(sum(amount_cents), 0)::bigint as "sum!" from refunds
           where payment_id = $1 and status in ('PENDING', 'SUCCEEDED')"#,
        payment_id
    )
    .fetch_one(conn)
    .await
}

/// The refund of payment `payment_id` asked for by `reference`.
pub async fn find_by_reference(
    conn: &mut PgConnection,
    payment_id: i64,
    reference: &str,
) -> Result<Option<RefundRow>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "select * from refunds where payment_id = $1 and reference = $2",
        payment_id,
        reference
    )
    .fetch_optional(conn)
    .await
}

/// Stores `refund` `PENDING`, to be sent.
pub async fn insert(
    conn: &mut PgConnection,
    refund: &NewRefund<'_>,
) -> Result<RefundRow, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "insert into refunds (payment_id, amount_cents, reference, reason, status, requested_by)
         values ($1, $2, $3, $4, 'PENDING', $5) returning *",
        refund.payment_id,
        refund.amount_cents,
        refund.reference,
        refund.reason,
        refund.requested_by,
    )
    .fetch_one(conn)
    .await
}

/// Refund `id`.
pub async fn find(db: impl PgExecutor<'_>, id: i64) -> Result<Option<RefundRow>, sqlx::Error> {
    sqlx::query_as!(RefundRow, "select * from refunds where id = $1", id)
        .fetch_optional(db)
        .await
}

/// Refund `id`, locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<RefundRow>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "select * from refunds where id = $1 for update",
        id
    )
    .fetch_optional(conn)
    .await
}

/// The refunds of payment `payment_id`, oldest first.
pub async fn of_payment(
    db: impl PgExecutor<'_>,
    payment_id: i64,
) -> Result<Vec<RefundRow>, sqlx::Error> {
    sqlx::query_as!(
        RefundRow,
        "select * from refunds where payment_id = $1 order by id",
        payment_id
    )
    .fetch_all(db)
    .await
}

/// Settles pending refund `id` as `status` (`SUCCEEDED` or `FAILED`); `false` when it was no
/// longer pending.
pub async fn settle(
    conn: &mut PgConnection,
    id: i64,
    status: &str,
    provider_refund_id: Option<&str>,
    failure_message: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update refunds
         set status = $2, provider_refund_id = coalesce(provider_refund_id, $3),
             failure_message = $4, settled_at = now(), updated_at = now(),
             sent_at = coalesce(sent_at, now())
         where id = $1 and status = 'PENDING'",
        id,
        status,
        provider_refund_id,
        failure_message,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes up to `limit` refunds due to be sent (`only`: that one alone), leasing each for
/// `lease` so that no other dispatcher sends it meanwhile.
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    only: Option<i64>,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        "with due as (
           select id from refunds
           where status = 'PENDING' and sent_at is null and next_attempt_at <= now()
             and ($1::bigint is null or id = $1)
           order by next_attempt_at limit $2 for update skip locked)
         update refunds r
         set next_attempt_at = now() + make_interval(secs => $3), attempts = r.attempts + 1
         from due, payments p
         where r.id = due.id and p.id = r.payment_id
         returning r.id, r.amount_cents, p.provider_session_id as session_id, r.attempts",
        only,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(db)
    .await
}

/// The provider accepted refund `id` as `provider_refund_id`.
pub async fn sent(
    db: impl PgExecutor<'_>,
    id: i64,
    provider_refund_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update refunds
         set sent_at = coalesce(sent_at, now()), last_error = null, updated_at = now(),
             provider_refund_id = coalesce(provider_refund_id, $2)
         where id = $1",
        id,
        provider_refund_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sending refund `id` failed with `error`; it is tried again after `retry_in`.
pub async fn attempt_failed(
    db: impl PgExecutor<'_>,
    id: i64,
    error: &str,
    retry_in: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update refunds
         set last_error = $2, next_attempt_at = now() + make_interval(secs => $3),
             updated_at = now()
         where id = $1",
        id,
        error,
        retry_in.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Refunds still pending `older_than` after they were asked for.
pub async fn count_stale(
    db: impl PgExecutor<'_>,
    older_than: Duration,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from refunds
           where status = 'PENDING' and created_at < now() - make_interval(secs => $1)"#,
        older_than.as_secs_f64(),
    )
    .fetch_one(db)
    .await
}
