//! The `provider_events` table: the provider's events already applied.

use sqlx::PgConnection;

/// Records provider event `event_id` in the caller's transaction; `false` when it was already
/// applied (a redelivery: nothing more to do).
pub async fn record(
    conn: &mut PgConnection,
    event_id: &str,
    event_type: &str,
    payment_id: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "insert into provider_events (event_id, event_type, payment_id) values ($1, $2, $3)
         on conflict (event_id) do nothing",
        event_id,
        event_type,
        payment_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
