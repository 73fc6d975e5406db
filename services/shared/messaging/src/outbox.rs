//! The transactional outbox. A service writes its state change and its events into `outbox` in
//! one transaction ([`Outbox::begin`], [`OutboxTransaction::enqueue`]); committing it wakes the
//! [`Relay`] of the same process, which publishes pending rows with publisher confirms and
//! deletes them. If the broker is down rows simply wait: nothing is lost and the HTTP request
//! that wrote them has already succeeded. Several replicas can relay at once (`SKIP LOCKED`); a
//! slow poll picks up rows whose writer died before its relay ran. The table (in every
//! publishing service's own migrations):
//!
//! ```sql
//! create table outbox (
//!     id bigint generated always as identity primary key,
//!     event_id uuid not null unique,
//!     event_type text not null,
//!     payload jsonb not null,
//!     created_at timestamptz not null default now()
//! );
//! ```
//!
//! The relay is woken in-process rather than by `LISTEN/NOTIFY`: a transaction that notifies
//! holds PostgreSQL's database-wide notify lock through its commit, which serialises every order
//! commit behind one lock (docs/decisions.md).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use microshop_db::{Db, Transaction};
use microshop_events::Envelope;
use microshop_telemetry::trace::{self, TraceContext};
use sqlx::PgConnection;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::metrics::{MessagingMetrics, RelayMetrics};
use crate::publisher::{Outcome as PublishOutcome, OutgoingMessage};
use crate::{MessagingError, Publisher};

/// Rows published per pass.
const BATCH_SIZE: u16 = 512;
/// Fallback poll: rows committed by a process that died before its relay ran.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait between attempts while the broker or database is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One service's outbox: where its writers begin transactions and its relay reads. Cheap to
/// clone.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    wake: Arc<Notify>,
}

impl Outbox {
    /// The outbox table of `db`.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The database the outbox lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Begins a transaction whose events are published once it commits.
    pub async fn begin(&self) -> Result<OutboxTransaction, sqlx::Error> {
        Ok(OutboxTransaction {
            tx: self.db.begin().await?,
            db: self.db.clone(),
            wake: Arc::clone(&self.wake),
            enqueued: false,
            xid: None,
        })
    }

    /// The relay publishing this outbox through `publisher`, observing each event's time from
    /// commit to the broker's confirm and counting what the broker did not take on `metrics`.
    pub fn relay(&self, publisher: Publisher, metrics: &MessagingMetrics) -> Relay {
        Relay {
            outbox: self.clone(),
            publisher,
            metrics: metrics.relay(),
        }
    }

    /// Rows not yet published (for the `outbox_pending` metric and tests).
    pub async fn pending(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("select count(*) from outbox")
            .fetch_one(&self.db)
            .await
    }
}

/// A database transaction that may write events. Dereferences to the connection, so queries
/// run on it as on any `sqlx` transaction.
pub struct OutboxTransaction {
    tx: Transaction,
    db: Db,
    wake: Arc<Notify>,
    enqueued: bool,
    /// The transaction's id, learnt with its first events: lets [`commit`](Self::commit) find
    /// out whether a commit whose connection broke took effect.
    xid: Option<String>,
}

impl OutboxTransaction {
    /// Writes `events` to the outbox, in order, inside this transaction (one statement). An
    /// event whose id is in the outbox already (one sent again before its first copy left) is
    /// written once.
    pub async fn enqueue(&mut self, events: &[Envelope]) -> Result<(), sqlx::Error> {
        if events.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event.type_name()).collect();
        let payloads: Vec<String> = events
            .iter()
            .map(|e| String::from_utf8(e.to_json()).expect("serde_json writes UTF-8"))
            .collect();
        // The trace the event continues, with its parent span: its cause's (a reply to an
        // event), else the work at hand's (the request that wrote it).
        let traces: Vec<String> = events
            .iter()
            .map(|e| {
                e.traceparent
                    .as_deref()
                    .and_then(TraceContext::parse)
                    .map_or_else(trace::outgoing, |cause| cause.header())
            })
            .collect();
        let xids: Vec<String> = sqlx::query_scalar(
            "insert into outbox (event_id, event_type, payload, traceparent)
             select id, type, payload::jsonb, traceparent
             from unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) with ordinality
                  as e(id, type, payload, traceparent, position)
             order by position
             on conflict (event_id) do nothing
             returning pg_current_xact_id()::text",
        )
        .bind(&ids)
        .bind(&types)
        .bind(&payloads)
        .bind(&traces)
        .fetch_all(&mut *self.tx)
        .await?;
        if self.xid.is_none() {
            self.xid = xids.into_iter().next();
        }
        self.enqueued = true;
        Ok(())
    }

    /// Commits, then wakes the relay if events were written.
    ///
    /// When the connection breaks during the commit, its outcome is unknown to us but not to
    /// PostgreSQL: the transaction's status is asked for on another connection (waiting while
    /// the commit is still under way), and a commit that took effect is reported as the success
    /// it was, so nobody is told to try again what already happened.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let Self {
            tx,
            db,
            wake,
            enqueued,
            xid,
        } = self;
        match (tx.commit().await, xid) {
            (Ok(()), _) => {}
            (Err(error), Some(xid)) if microshop_db::breaks_connection(&error) => {
                match microshop_db::committed(&db, &xid).await {
                    Ok(true) => {
                        tracing::warn!(%error, "the connection broke during a commit that took effect");
                    }
                    Ok(false) => return Err(error),
                    Err(unknown) => {
                        tracing::error!(%error, %unknown, xid, "a commit's outcome cannot be found out");
                        return Err(error);
                    }
                }
            }
            (Err(error), _) => return Err(error),
        }
        if enqueued {
            wake.notify_one();
        }
        Ok(())
    }
}

impl Deref for OutboxTransaction {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for OutboxTransaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
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
    /// The broker did not take some events; they stay in the outbox.
    #[error("{kept} event(s) stay in the outbox: {first}")]
    Undelivered {
        /// Events kept.
        kept: usize,
        /// Why the first of them was not delivered.
        first: MessagingError,
    },
}

/// Publishes the outbox of one database to one exchange.
#[derive(Clone)]
pub struct Relay {
    outbox: Outbox,
    publisher: Publisher,
    metrics: RelayMetrics,
}

impl Relay {
    /// Publishes until `shutdown`, then makes one last pass so that nothing written before the
    /// shutdown waits for the next start.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let wait = match self.pass().await {
                Ok(published) if published == usize::from(BATCH_SIZE) => Duration::ZERO,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    POLL_INTERVAL
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis(), "outbox relay pass failed; any pending events wait in the outbox");
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
                () = self.outbox.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        match self.publish_batch().await {
            Ok(published) => tracing::info!(published, "outbox relay stopped"),
            Err(error) => {
                tracing::warn!(%error, "outbox relay stopped; unpublished events wait for the next start");
            }
        }
    }

    /// One pass: a batch of pending rows, or with none pending, making sure the channel is open.
    /// A service that only publishes has no consumer to open the connection: without this its
    /// broker check would say "not connected" until its first event, its topology would be
    /// declared only then, and a broker that went away would be noticed only at the next event.
    async fn pass(&self) -> Result<usize, RelayError> {
        let published = self.publish_batch().await?;
        if published == 0 {
            self.publisher.connect().await?;
        }
        Ok(published)
    }

    /// Publishes one batch of pending rows and deletes those the broker took; returns how many.
    ///
    /// The rows are deleted first and the deletion committed only after the broker confirmed
    /// every one into a queue, so a failed publish rolls the rows back into the outbox. When
    /// some came back (no queue bound) or were refused, the deletion is rolled back and only
    /// the delivered rows are deleted: the others stay for the next pass.
    pub async fn publish_batch(&self) -> Result<usize, RelayError> {
        let mut tx = self.outbox.db.begin().await?;
        let mut rows: Vec<(i64, Uuid, String, String, f64, Option<String>)> = sqlx::query_as(
            "delete from outbox where id in (
                 select id from outbox order by id limit $1 for update skip locked)
             returning id, event_id, event_type, payload::text,
                       extract(epoch from created_at)::float8, traceparent",
        )
        .bind(i64::from(BATCH_SIZE))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        rows.sort_unstable_by_key(|row| row.0);
        let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
        let created: Vec<f64> = rows.iter().map(|row| row.4).collect();
        let messages: Vec<OutgoingMessage> = rows
            .into_iter()
            .map(
                |(_, id, event_type, payload, _, traceparent)| OutgoingMessage {
                    id,
                    event_type,
                    payload: payload.into_bytes(),
                    traceparent,
                },
            )
            .collect();
        // Published but not yet committed if we crash here: the rows go out again and consumers
        // drop the duplicates by event id.
        let outcomes = self.publisher.publish_each(&messages).await?;
        let delivered: Vec<usize> = (0..outcomes.len())
            .filter(|&i| outcomes[i] == PublishOutcome::Delivered)
            .collect();
        if delivered.len() == outcomes.len() {
            // Not worth a wait for the disk: a deletion lost in a crash only sends these events
            // again, which consumers drop by event id. The next durable commit (or PostgreSQL's
            // WAL writer, within a fraction of a second) writes it out; meanwhile the orders'
            // own commits share each flush with fewer others.
            sqlx::query("set local synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
            let gone: Vec<i64> = delivered.iter().map(|&i| ids[i]).collect();
            sqlx::query("delete from outbox where id = any($1)")
                .bind(&gone)
                .execute(&self.outbox.db)
                .await?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        for &i in &delivered {
            // Clocks of database and service may differ a little; never observe below zero.
            self.metrics
                .publish_seconds
                .observe((now - created[i]).max(0.0));
        }
        if let Some(i) = (0..outcomes.len()).find(|&i| outcomes[i] != PublishOutcome::Delivered) {
            for outcome in &outcomes {
                match outcome {
                    PublishOutcome::Returned => self.metrics.unroutable.inc(),
                    PublishOutcome::Nacked => self.metrics.nacked.inc(),
                    PublishOutcome::Delivered => {}
                }
            }
            return Err(RelayError::Undelivered {
                kept: outcomes.len() - delivered.len(),
                first: self.publisher.undelivered(outcomes[i], &messages[i]),
            });
        }
        tracing::debug!(published = messages.len(), "outbox batch published");
        Ok(messages.len())
    }
}
