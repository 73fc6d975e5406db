//! The `idempotency_keys` table: one row per key, claimed in the transaction that creates the
//! order, completed with the response in the same transaction.

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

/// The completed request stored under `key`, if any.
pub async fn find(
    db: impl PgExecutor<'_>,
    key: &str,
) -> Result<Option<StoredResponse>, sqlx::Error> {
    sqlx::query_as!(
        StoredResponse,
        r#"select fingerprint, response as "response!" from idempotency_keys
           where key = $1 and response is not null"#,
        key,
    )
    .fetch_optional(db)
    .await
}

/// Claims `key` inside the caller's transaction. `false` when another request holds it: a
/// concurrent duplicate waits here on the key's row lock until the first commits.
pub async fn claim(
    conn: &mut PgConnection,
    key: &str,
    fingerprint: &str,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query!(
        "insert into idempotency_keys (key, fingerprint) values ($1, $2) on conflict (key) do nothing",
        key,
        fingerprint,
    )
    .execute(conn)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Stores the order and response under a claimed `key`.
pub async fn complete(
    conn: &mut PgConnection,
    key: &str,
    order_id: i64,
    response: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update idempotency_keys set order_id = $2, response = $3 where key = $1",
        key,
        order_id,
        response,
    )
    .execute(conn)
    .await?;
    Ok(())
}
