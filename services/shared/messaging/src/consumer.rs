//! Consuming a queue with exactly-once effects, in batches:
//!
//! - the deliveries already received when the consumer is free form one batch (at most the
//!   prefetch), which the handler applies in one transaction and the consumer acknowledges with
//!   one frame: one commit per batch instead of one per event is what lets a consumer keep up
//!   with thousands of events a second (docs/benchmarks.md);
//! - a body that is not a known event is rejected at once and dead-lettered to the DLQ;
//! - an event the handler rejects is dead-lettered; the rest of its batch is applied;
//! - a batch that fails is retried one event at a time, so one bad event cannot hold back the
//!   others; then a transient error (database down, deadlock) is retried in-process with
//!   backoff while the delivery is held, so the broker never sees a redelivery storm, and a
//!   permanent one (a constraint violation: the same event fails every time) dead-letters it;
//! - a process that crashes on a message gets it redelivered, and the queue's delivery limit
//!   dead-letters a crash loop. Redelivered messages are applied one at a time, so only the
//!   message that crashes the process counts towards that limit, never its batch neighbours;
//! - on shutdown the consumer is cancelled and every delivery already received is finished and
//!   acknowledged before returning.
//!
//! Handlers make their effects idempotent with [`crate::inbox`].

use std::future::Future;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Consumer};
use microshop_events::{Envelope, Topology};
use microshop_telemetry::trace::{TRACEPARENT, TraceContext};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::metrics::ConsumedCounters;
use crate::{Broker, MessagingError};

/// Longest wait between retries of a transient failure, and between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// An event of a batch that cannot be applied, ever (it contradicts our data): it is
/// dead-lettered. None of its effects may be in the committed transaction, its inbox record
/// included; the rest of the batch is applied and acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The event.
    pub event_id: Uuid,
    /// Why, for the log a person reads before replaying the DLQ.
    pub reason: String,
}

/// What a handler did with a batch it committed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Handled {
    /// Events it could not apply, ever: they are dead-lettered.
    pub rejected: Vec<Rejected>,
    /// Events already applied by an earlier delivery (the inbox knew them): acknowledged and
    /// counted as `events_consumed_total{outcome="duplicate"}`.
    pub duplicates: usize,
}

/// Why a batch could not be applied; nothing of it may have been committed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A dependency is down or gave up on this attempt (the database is unreachable, a
    /// deadlock): the same events are retried with backoff.
    #[error("{0}")]
    Transient(String),
    /// The same input fails again every time (a constraint violation, bad data): the batch is
    /// retried one event at a time, and the event that still fails is dead-lettered.
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

/// Applies events, a batch at a time.
pub trait Handler: Send + Sync + 'static {
    /// Applies `batch` in one transaction, idempotently (an event id may even appear twice in
    /// one batch), and says which events it rejected and how many it had already applied. On
    /// error nothing of the batch may be committed.
    fn handle(
        &self,
        batch: &[Envelope],
    ) -> impl Future<Output = Result<Handled, HandlerError>> + Send;
}

/// Consumes `queue` until `shutdown`, reconnecting after broker failures. The topology is
/// declared on every (re)connect, so a broker that lost its definitions gets them back.
/// `prefetch` bounds both the unacknowledged deliveries and the batch size.
pub async fn run<H: Handler>(
    broker: Broker,
    topology: Topology,
    queue: String,
    prefetch: u16,
    handler: H,
    counters: ConsumedCounters,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        let work = Work {
            handler: &handler,
            counters: &counters,
            shutdown: &shutdown,
        };
        match consume(&broker, &topology, &queue, prefetch, &work).await {
            Ok(()) => break,
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

/// What applying a batch needs.
struct Work<'a, H> {
    handler: &'a H,
    counters: &'a ConsumedCounters,
    shutdown: &'a CancellationToken,
}

/// One subscription to a queue.
struct Subscription<'a> {
    queue: &'a str,
    channel: Channel,
    consumer: Consumer,
    tag: String,
    shutdown: &'a CancellationToken,
    cancelled: bool,
    ended: bool,
    carried: Option<Delivery>,
}

impl Subscription<'_> {
    /// The next delivery; `None` once the subscription ended.
    async fn next(&mut self) -> Result<Option<Delivery>, MessagingError> {
        if let Some(delivery) = self.carried.take() {
            return Ok(Some(delivery));
        }
        loop {
            if self.ended {
                return Ok(None);
            }
            let next = if self.cancelled {
                self.consumer.next().await
            } else {
                tokio::select! {
                    next = self.consumer.next() => next,
                    () = self.shutdown.cancelled() => {
                        // Stop new deliveries, then finish the ones already received.
                        self.channel
                            .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default())
                            .await?;
                        self.cancelled = true;
                        continue;
                    }
                }
            };
            return match next {
                Some(delivery) => Ok(Some(delivery?)),
                None if self.cancelled => Ok(None),
                None => Err(MessagingError::ConsumerCancelled(self.queue.to_owned())),
            };
        }
    }

    /// The next batch: the next delivery plus those already received, up to `max`. A
    /// redelivered message always travels alone.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<Delivery>, MessagingError> {
        let Some(first) = self.next().await? else {
            return Ok(Vec::new());
        };
        let alone = first.redelivered;
        let mut batch = vec![first];
        while !alone && batch.len() < max {
            match self.consumer.next().now_or_never() {
                Some(Some(Ok(delivery))) if delivery.redelivered => {
                    self.carried = Some(delivery);
                    break;
                }
                Some(Some(Ok(delivery))) => batch.push(delivery),
                Some(Some(Err(error))) => return Err(error.into()),
                Some(None) => {
                    self.ended = true;
                    break;
                }
                None => break,
            }
        }
        Ok(batch)
    }
}

async fn consume<H: Handler>(
    broker: &Broker,
    topology: &Topology,
    queue: &str,
    prefetch: u16,
    work: &Work<'_, H>,
) -> Result<(), MessagingError> {
    let shutdown = work.shutdown;
    let channel = broker.channel().await?;
    crate::declare(&channel, topology).await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let tag = format!("{queue}-{}", uuid::Uuid::now_v7());
    let consumer = channel
        .basic_consume(
            queue.into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(%queue, prefetch, "consuming");
    let mut subscription = Subscription {
        queue,
        channel,
        consumer,
        tag,
        shutdown,
        cancelled: false,
        ended: false,
        carried: None,
    };
    loop {
        let deliveries = subscription
            .next_batch(usize::from(prefetch.max(1)))
            .await?;
        if deliveries.is_empty() {
            return Ok(());
        }
        let span = tracing::info_span!("batch", %queue, batch.size = deliveries.len());
        process(deliveries, work).instrument(span).await?;
    }
}

/// Decodes a batch, dead-letters what is not an event, and applies the rest.
async fn process<H: Handler>(
    deliveries: Vec<Delivery>,
    work: &Work<'_, H>,
) -> Result<(), MessagingError> {
    let mut events = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        match Envelope::from_json(&delivery.data) {
            Ok(mut envelope) => {
                envelope.traceparent = traceparent_of(&delivery);
                events.push((delivery, envelope));
            }
            Err(error) => {
                tracing::warn!(%error, bytes = delivery.data.len(), "not a known event; dead-lettering it");
                dead_letter(&delivery).await?;
                work.counters.dead_lettered.inc();
            }
        }
    }
    if events.is_empty() {
        return Ok(());
    }
    let (deliveries, envelopes): (Vec<Delivery>, Vec<Envelope>) = events.into_iter().unzip();
    match apply(&deliveries, &envelopes, work, false).await? {
        Applied::Done => Ok(()),
        Applied::Split => {
            for (delivery, envelope) in deliveries.iter().zip(&envelopes) {
                let one = std::slice::from_ref(delivery);
                apply(one, std::slice::from_ref(envelope), work, true).await?;
            }
            Ok(())
        }
    }
}

/// How [`apply`] ended.
enum Applied {
    /// Every delivery was acknowledged, dead-lettered or (at shutdown) returned to the queue.
    Done,
    /// The batch failed once; apply its events one at a time.
    Split,
}

/// Applies `envelopes` and settles their deliveries. A transient failure of a single event is
/// retried with backoff; a permanent one dead-letters it. A batch of several events that fails
/// once is handed back to be split (unless `alone` says it already is one event).
async fn apply<H: Handler>(
    deliveries: &[Delivery],
    envelopes: &[Envelope],
    work: &Work<'_, H>,
    alone: bool,
) -> Result<Applied, MessagingError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        let error = match work.handler.handle(envelopes).await {
            Ok(handled) => {
                settle(deliveries, envelopes, &handled, work.counters).await?;
                return Ok(Applied::Done);
            }
            Err(error) => error,
        };
        if !alone && deliveries.len() > 1 {
            tracing::warn!(%error, "batch not applied; applying its events one at a time");
            return Ok(Applied::Split);
        }
        if let HandlerError::Permanent(reason) = error {
            let handled = Handled {
                rejected: envelopes
                    .iter()
                    .map(|envelope| Rejected {
                        event_id: envelope.id,
                        reason: reason.clone(),
                    })
                    .collect(),
                duplicates: 0,
            };
            settle(deliveries, envelopes, &handled, work.counters).await?;
            return Ok(Applied::Done);
        }
        tracing::warn!(%error, retry_in_ms = backoff.as_millis(), "events not applied yet; retrying");
        if work.shutdown.is_cancelled() {
            // Give them back to the queue for the next process rather than hold shutdown.
            for delivery in deliveries {
                delivery
                    .acker
                    .reject(BasicRejectOptions { requeue: true })
                    .await?;
            }
            return Ok(Applied::Done);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Dead-letters the rejected deliveries, then acknowledges the rest with one frame.
async fn settle(
    deliveries: &[Delivery],
    envelopes: &[Envelope],
    handled: &Handled,
    counters: &ConsumedCounters,
) -> Result<(), MessagingError> {
    let mut last_applied = None;
    let mut acknowledged = 0_u64;
    for (delivery, envelope) in deliveries.iter().zip(envelopes) {
        match handled.rejected.iter().find(|r| r.event_id == envelope.id) {
            None => {
                last_applied = Some(delivery);
                acknowledged += 1;
            }
            Some(Rejected { reason, .. }) => {
                tracing::warn!(event.id = %envelope.id, event.type = envelope.event.type_name(), %reason, "event cannot be applied; dead-lettering it");
                dead_letter(delivery).await?;
                counters.dead_lettered.inc();
            }
        }
    }
    let duplicates = u64::try_from(handled.duplicates)
        .unwrap_or(u64::MAX)
        .min(acknowledged);
    counters.duplicate.inc_by(duplicates);
    counters.applied.inc_by(acknowledged - duplicates);
    // Every earlier delivery on this channel is already settled, so `multiple` acknowledges
    // exactly this batch's applied deliveries.
    if let Some(delivery) = last_applied {
        delivery
            .acker
            .ack(BasicAckOptions { multiple: true })
            .await?;
    }
    Ok(())
}

async fn dead_letter(delivery: &Delivery) -> Result<(), MessagingError> {
    delivery
        .acker
        .reject(BasicRejectOptions { requeue: false })
        .await?;
    Ok(())
}

/// The `traceparent` header of a delivery, if it carries a valid one.
fn traceparent_of(delivery: &Delivery) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    let value = headers.inner().get(TRACEPARENT)?;
    let text = match value {
        AMQPValue::LongString(text) => text.to_string(),
        AMQPValue::ShortString(text) => text.as_str().to_owned(),
        _ => return None,
    };
    TraceContext::parse(&text).map(|context| context.header())
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
