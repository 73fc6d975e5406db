//! The inbox: the consumer frame ([`crate::consumer`]) records each event id in
//! `processed_events` in the same transaction as the event's effects, so a redelivered event is
//! recognised and its effects are never applied twice. The table (in every consuming service's
//! own migrations):
//!
//! ```sql
//! create table processed_events (
//!     event_id uuid primary key,
//!     processed_at timestamptz not null default now()
//! );
//! ```

use std::collections::HashSet;

use sqlx::PgConnection;
use uuid::Uuid;

/// Records `event_ids` inside the caller's transaction (one statement) and returns those seen
/// for the first time; the caller applies only these and acknowledges the rest unchanged.
pub async fn first_deliveries(
    conn: &mut PgConnection,
    event_ids: &[Uuid],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let fresh: Vec<Uuid> = sqlx::query_scalar(
        "insert into processed_events (event_id) select unnest($1::uuid[])
         on conflict (event_id) do nothing returning event_id",
    )
    .bind(event_ids)
    .fetch_all(conn)
    .await?;
    Ok(fresh.into_iter().collect())
}

/// Takes `event_ids` back out of the inbox inside the caller's transaction: for events the
/// caller could not apply and dead-letters, so that a replay from the DLQ is applied.
pub async fn forget(conn: &mut PgConnection, event_ids: &[Uuid]) -> Result<(), sqlx::Error> {
    if event_ids.is_empty() {
        return Ok(());
    }
    sqlx::query("delete from processed_events where event_id = any($1)")
        .bind(event_ids)
        .execute(conn)
        .await?;
    Ok(())
}
