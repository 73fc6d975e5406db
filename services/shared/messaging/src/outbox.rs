//! The transactional outbox. A service writes its state change and the event into `outbox` in one
//! transaction ([`enqueue`]); the [`Relay`] publishes pending rows with publisher confirms and
//! deletes them. If the broker is down rows simply wait: nothing is lost and the HTTP request that
//! wrote them has already succeeded. Several replicas can relay at once (`FOR UPDATE SKIP LOCKED`).
//! The table (in every publishing service's own migrations):
//!
//! ```sql
//! create table outbox (
//!     id bigint generated always as identity primary key,
//!     event_id uuid not null unique,
//!     event_type text not null,
//!     payload jsonb not null,
//!     created_at timestamptz not null default now()
//! );
//! -- wakes the relay at once instead of at its next poll
//! create function notify_outbox() returns trigger language plpgsql as
//!   $$ begin perform pg_notify('outbox', ''); return null; end $$;
//! create trigger outbox_notify after insert on outbox
//!   for each statement execute function notify_outbox();
//! ```

use std::time::Duration;

use microshop_events::Envelope;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::publisher::OutgoingMessage;
use crate::{MessagingError, Publisher};

/// The `NOTIFY` channel the outbox trigger signals.
const CHANNEL: &str = "outbox";
/// Rows published per transaction.
const BATCH_SIZE: u16 = 256;
/// Fallback poll when no notification arrives (lost listener, missed notify).
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait between attempts while the broker or database is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Writes `envelope` to the outbox inside the caller's transaction.
pub async fn enqueue(conn: &mut PgConnection, envelope: &Envelope) -> Result<(), sqlx::Error> {
    sqlx::query("insert into outbox (event_id, event_type, payload) values ($1, $2, $3::jsonb)")
        .bind(envelope.id)
        .bind(envelope.event.type_name())
        .bind(String::from_utf8(envelope.to_json()).expect("serde_json writes UTF-8"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Rows not yet published (for the `outbox_pending` metric and tests).
pub async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(pool)
        .await
}

/// Why one relay pass failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading or deleting rows failed.
    #[error("outbox database: {0}")]
    Db(#[from] sqlx::Error),
    /// Publishing failed.
    #[error(transparent)]
    Publish(#[from] MessagingError),
}

/// Publishes the outbox of one database to one exchange.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    publisher: Publisher,
}

impl Relay {
    /// A relay from `pool`'s outbox through `publisher`.
    pub fn new(pool: PgPool, publisher: Publisher) -> Self {
        Self { pool, publisher }
    }

    /// Publishes until `shutdown`, then makes one last pass so that nothing written before the
    /// shutdown waits for the next start.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            let result = self.publish_batch().await;
            let wait = match result {
                Ok(published) if published == usize::from(BATCH_SIZE) => Duration::ZERO,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    POLL_INTERVAL
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis(), "outbox relay pass failed; events wait in the outbox");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            if shutdown.is_cancelled() {
                break;
            }
            if wait.is_zero() {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wait_for_notification(&self.pool, &mut listener, wait) => {}
            }
        }
        match self.publish_batch().await {
            Ok(published) => tracing::info!(published, "outbox relay stopped"),
            Err(error) => {
                tracing::warn!(%error, "outbox relay stopped; unpublished events wait for the next start");
            }
        }
    }

    /// Publishes one batch of pending rows and deletes them; returns how many.
    pub async fn publish_batch(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<(i64, Uuid, String, String)> = sqlx::query_as(
            "select id, event_id, event_type, payload::text from outbox
             order by id limit $1 for update skip locked",
        )
        .bind(i64::from(BATCH_SIZE))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
        let messages: Vec<OutgoingMessage> = rows
            .into_iter()
            .map(|(_, id, event_type, payload)| OutgoingMessage {
                id,
                event_type,
                payload: payload.into_bytes(),
            })
            .collect();
        // Published but not yet deleted if we crash here: the rows go out again and consumers
        // drop the duplicates by event id.
        self.publisher.publish(&messages).await?;
        sqlx::query("delete from outbox where id = any($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::debug!(published = ids.len(), "outbox batch published");
        Ok(ids.len())
    }
}

/// Waits for an outbox notification or `timeout`, whichever is first. The listener is opened on
/// first use and dropped on error (the poll keeps working without it).
async fn wait_for_notification(
    pool: &PgPool,
    listener: &mut Option<PgListener>,
    timeout: Duration,
) {
    if listener.is_none() {
        match PgListener::connect_with(pool).await {
            Ok(mut opened) => match opened.listen(CHANNEL).await {
                Ok(()) => *listener = Some(opened),
                Err(error) => tracing::debug!(%error, "cannot LISTEN for outbox notifications"),
            },
            Err(error) => tracing::debug!(%error, "cannot open an outbox listener"),
        }
    }
    let Some(active) = listener.as_mut() else {
        tokio::time::sleep(timeout).await;
        return;
    };
    match tokio::time::timeout(timeout, active.recv()).await {
        Ok(Ok(_)) | Err(_) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, "outbox listener failed; polling until it reconnects");
            *listener = None;
        }
    }
}
