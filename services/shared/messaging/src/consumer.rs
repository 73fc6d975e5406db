//! Consuming a queue with exactly-once effects, in batches. The frame owns everything but the
//! domain work:
//!
//! - **the inbox**: every event id is recorded in `processed_events` in the transaction that
//!   applies it, so a redelivery is recognised and acknowledged unchanged; a handler only ever
//!   sees events its inbox has not seen, inside a transaction the frame commits;
//! - **batches**: the deliveries already received when the consumer is free (at most the
//!   prefetch) are applied in one transaction and acknowledged with one frame: one commit per
//!   batch instead of one per event is what lets a consumer keep up with thousands of events a
//!   second (docs/benchmarks.md);
//! - **what cannot be applied**: a body that is not a known event is dead-lettered at once; an
//!   event the handler rejects is dead-lettered and the rest of its batch applied; a batch that
//!   fails the same way every time is retried one event at a time, and the event that still
//!   fails is handed to [`Handler::give_up`] (which may answer it, e.g. reject the order) or
//!   dead-lettered; types the handler does not handle are acknowledged and counted as
//!   `ignored`;
//! - **outages**: a transient failure (the database is down, a deadlock) stops the
//!   subscription, so nothing more is taken from the queue, and the held deliveries are retried
//!   with backoff; a new subscription starts only once the database answers;
//! - **crash loops** (see [`intake`]): a subscription starts with a prefetch of one and applies
//!   redelivered messages alone, with nothing else held, so a message that crashes the process
//!   spends only its own deliveries against the queue's delivery limit, never its neighbours';
//! - **shutdown**: the subscription is cancelled and every delivery already received is
//!   finished and acknowledged before returning; deliveries that cannot be applied then are
//!   handed back to the queue.

mod apply;
mod intake;

use std::future::Future;
use std::time::Duration;

use microshop_events::{Envelope, Event, Topology};
use microshop_telemetry::trace::TraceContext;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Broker;
use crate::metrics::ConsumedCounters;
use crate::outbox::{Outbox, OutboxTransaction};

/// Longest wait between retries of a transient failure, and between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// An event of a batch that cannot be applied, ever (it contradicts our data): it is
/// dead-lettered. None of its effects may be in the transaction; the frame takes its inbox
/// record back, so a replay from the DLQ is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The event.
    pub event_id: Uuid,
    /// Why, for the log a person reads before replaying the DLQ.
    pub reason: String,
}

/// What a handler did with a batch: the events it rejected, and what it wants to report once
/// the transaction committed.
#[derive(Debug)]
pub struct Outcome<T> {
    /// Events it cannot apply, ever: they are dead-lettered.
    pub rejected: Vec<Rejected>,
    /// Handed to [`Handler::committed`] after the commit.
    pub applied: T,
}

impl<T> Outcome<T> {
    /// Everything applied.
    pub fn applied(applied: T) -> Self {
        Self {
            rejected: Vec::new(),
            applied,
        }
    }
}

/// Why a batch could not be applied; nothing of it may have been committed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A dependency is down or gave up on this attempt (the database is unreachable, a
    /// deadlock): the same events are retried with backoff.
    #[error("{0}")]
    Transient(String),
    /// The same input fails again every time (a constraint violation, bad data): the batch is
    /// retried one event at a time, and the event that still fails is given up.
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        if microshop_db::is_transient(&error) {
            Self::Transient(format!("database: {error}"))
        } else {
            Self::Permanent(format!("database: {error}"))
        }
    }
}

/// Applies events, a batch at a time, inside a transaction the frame owns.
pub trait Handler: Send + Sync + 'static {
    /// What [`apply`](Self::apply) reports for after the commit (counts, log lines).
    type Applied: Send;

    /// Whether this consumer applies `event`; any other type is acknowledged unchanged and
    /// counted as `ignored`.
    fn handles(&self, event: &Event) -> bool;

    /// Applies `events`, in order, inside `tx`. Every event is one the inbox had not seen; the
    /// frame records them and commits `tx` afterwards. On error nothing of the batch is
    /// committed.
    fn apply(
        &self,
        tx: &mut OutboxTransaction,
        events: &[Envelope],
    ) -> impl Future<Output = Result<Outcome<Self::Applied>, HandlerError>> + Send;

    /// Called once the transaction of [`apply`](Self::apply) committed.
    fn committed(&self, applied: Self::Applied);

    /// `event` fails every time with `reason`. A handler that can answer it anyway (reject the
    /// order it asks for) writes the answer in `tx` and returns `true`: the frame commits and
    /// acknowledges it. `false` (the default) dead-letters it.
    fn give_up(
        &self,
        tx: &mut OutboxTransaction,
        event: &Envelope,
        reason: &str,
    ) -> impl Future<Output = Result<bool, HandlerError>> + Send {
        let _ = (tx, event, reason);
        async { Ok(false) }
    }
}

/// A queue consumer: where to consume, the database its inbox and outbox live in, the handler.
#[derive(Clone)]
pub struct Consumer<H> {
    /// The process's broker connection.
    pub broker: Broker,
    /// Declared on every (re)connect, so a broker that lost its definitions gets them back.
    pub topology: Topology,
    /// The queue.
    pub queue: String,
    /// Deliveries held at once, and so the largest batch.
    pub prefetch: u16,
    /// The service's database: inbox records and replies are written in one transaction.
    pub outbox: Outbox,
    /// The domain work.
    pub handler: H,
    /// `events_consumed_total` of this queue.
    pub counters: ConsumedCounters,
}

impl<H: Handler> Consumer<H> {
    /// Consumes until `shutdown`, reconnecting after broker failures and pausing while the
    /// database is unreachable.
    pub async fn run(self, shutdown: CancellationToken) {
        let queue = self.queue.as_str();
        let mut backoff = Duration::from_millis(100);
        loop {
            if !apply::wait_for_database(&self.outbox, queue, &shutdown).await {
                break;
            }
            match intake::session(&self, &shutdown).await {
                Ok(intake::Ended::Shutdown) => break,
                Ok(intake::Ended::Paused) => {
                    tracing::info!(%queue, "consumer paused while the database was unavailable; subscribing again");
                    backoff = Duration::from_millis(100);
                }
                Err(error) => {
                    tracing::warn!(%queue, %error, retry_in_ms = backoff.as_millis(), "consumer lost the broker; reconnecting");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        tracing::info!(%queue, "consumer stopped");
    }
}

/// The span of one event's work in a consumer: every line logged inside carries the event and
/// the trace it belongs to (the `trace_id` of the HTTP request that caused it).
pub fn event_span(envelope: &Envelope) -> tracing::Span {
    let cause = envelope
        .traceparent
        .as_deref()
        .and_then(TraceContext::parse);
    let span = tracing::info_span!(
        "event",
        event.id = %envelope.id,
        event.type = envelope.event.type_name(),
        trace_id = tracing::field::Empty,
    );
    // Exported (when export is on) as a child of the work that caused the event.
    let context = microshop_telemetry::trace::link(&span, cause.as_ref());
    if cause.is_some() {
        span.record("trace_id", context.trace_id());
    }
    span
}
