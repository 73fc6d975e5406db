//! The `idempotency_keys` table: one row per caller and key, claimed in the transaction that
//! creates the order, completed with the response in the same transaction. A key older than its
//! lifetime no longer counts (and is taken over by a new request); the overdue sweep deletes
//! expired ones.

use std::time::Duration;

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};

/// A key whose order was created.
#[derive(Debug)]
pub struct StoredResponse {
    /// The request the key was first used with.
    pub fingerprint: String,
    /// The body answered then.
    pub response: Value,
}

/// The completed request `user_id` stored under `key` within `ttl`, if any.
pub async fn find(
    db: impl PgExecutor<'_>,
    user_id: i64,
    key: &str,
    ttl: Duration,
) -> Result<Option<StoredResponse>, sqlx::Error> {
    sqlx::query_as!(
        StoredResponse,
        r#"select fingerprint, response as "response!" from idempotency_keys
           where user_id = $1 and key = $2 and response is not null
             and created_at > now() - make_interval(secs => $3)"#,
        user_id,
        key,
        seconds(ttl),
    )
    .fetch_optional(db)
    .await
}

/// Claims `key` for `user_id` inside the caller's transaction (taking over an expired claim).
/// `false` when another live request holds it: a concurrent duplicate waits here on the key's
/// row lock until the first commits.
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
           set fingerprint = excluded.fingerprint, order_id = null, response = null,
               created_at = now()
           where idempotency_keys.created_at <= now() - make_interval(secs => $4)",
        user_id,
        key,
        fingerprint,
        seconds(ttl),
    )
    .execute(conn)
    .await?;
    Ok(claimed.rows_affected() == 1)
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
        seconds(ttl),
        limit,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

fn seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

/// Stores the order and response under `user_id`'s claimed `key`.
pub async fn complete(
    conn: &mut PgConnection,
    user_id: i64,
    key: &str,
    order_id: i64,
    response: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update idempotency_keys set order_id = $3, response = $4 where user_id = $1 and key = $2",
        user_id,
        key,
        order_id,
        response,
    )
    .execute(conn)
    .await?;
    Ok(())
}
