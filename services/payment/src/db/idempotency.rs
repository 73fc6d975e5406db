//! The `idempotency_keys` table of `POST /api/payments`: one row per caller and key, claimed and
//! completed in the transaction that creates (or finds) the payment. A key older than its
//! lifetime no longer counts and is taken over by a new request.

use std::time::Duration;

use sqlx::{PgConnection, PgExecutor};

/// A completed key: the request it was used for and the payment it answered with.
#[derive(Debug)]
pub struct StoredKey {
    /// The request the key was first used with.
    pub fingerprint: String,
    /// The payment.
    pub payment_id: i64,
}

/// The completed key `key` of `user_id` within `ttl`, if any.
pub async fn find(
    db: impl PgExecutor<'_>,
    user_id: i64,
    key: &str,
    ttl: Duration,
) -> Result<Option<StoredKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredKey,
        r#"select fingerprint, payment_id as "payment_id!" from idempotency_keys
           where user_id = $1 and key = $2 and payment_id is not null
             and created_at > now() - make_interval(secs => $3)"#,
        user_id,
        key,
        ttl.as_secs_f64(),
    )
    .fetch_optional(db)
    .await
}

/// Claims `key` for `user_id` in the caller's transaction (taking over an expired claim);
/// `false` when another live request holds it.
pub async fn claim(
    conn: &mut PgConnection,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    ttl: Duration,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query!(
        "insert into idempotency_keys (user_id, key, fingerprint) values ($1, $2, $3)
         on conflict (user_id, key) do update
           set fingerprint = excluded.fingerprint, payment_id = null, created_at = now()
           where idempotency_keys.created_at <= now() - make_interval(secs => $4)",
        user_id,
        key,
        fingerprint,
        ttl.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Stores the payment under `user_id`'s claimed `key`.
pub async fn complete(
    conn: &mut PgConnection,
    user_id: i64,
    key: &str,
    payment_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update idempotency_keys set payment_id = $3 where user_id = $1 and key = $2",
        user_id,
        key,
        payment_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes up to `limit` keys older than `ttl`; how many went.
pub async fn purge_expired(
    db: impl PgExecutor<'_>,
    ttl: Duration,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "delete from idempotency_keys where ctid = any(array(
           select ctid from idempotency_keys
           where created_at <= now() - make_interval(secs => $1) limit $2))",
        ttl.as_secs_f64(),
        limit,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
