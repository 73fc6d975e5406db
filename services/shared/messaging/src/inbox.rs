//! The inbox: consumers record each event id in `processed_events` in the same transaction as
//! the event's effects, so a redelivered event is recognised and its effects are never applied
//! twice. The table (in every consuming service's own migrations):
//!
//! ```sql
//! create table processed_events (
//!     event_id uuid primary key,
//!     processed_at timestamptz not null default now()
//! );
//! ```

use sqlx::PgConnection;
use uuid::Uuid;

/// Records `event_id` inside the caller's transaction. `true` the first time; `false` when the
/// event was processed before (then the caller applies nothing and acknowledges).
pub async fn first_delivery(conn: &mut PgConnection, event_id: Uuid) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into processed_events (event_id) values ($1) on conflict (event_id) do nothing",
    )
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
