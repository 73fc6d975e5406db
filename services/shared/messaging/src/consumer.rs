//! Consuming a queue with exactly-once effects:
//!
//! - a body that is not a known event is rejected at once and dead-lettered to the DLQ;
//! - a handler's permanent error dead-letters the message too;
//! - a transient error (database down) is retried in-process with backoff while the delivery is
//!   held, so the broker never sees a redelivery storm;
//! - a process that crashes on a message gets it redelivered, and the queue's delivery limit
//!   dead-letters a crash loop;
//! - on shutdown the consumer is cancelled and every delivery already received is finished and
//!   acknowledged before returning.
//!
//! Handlers make their effects idempotent with [`crate::inbox`].

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::FieldTable;
use microshop_events::{Envelope, Topology};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{Broker, MessagingError};

/// Longest wait between retries of a transient failure, and between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retrying cannot help (the event contradicts our data): dead-letter it.
    #[error("{0}")]
    Permanent(String),
    /// A dependency is down: retry the same delivery later.
    #[error("{0}")]
    Transient(String),
}

impl From<sqlx::Error> for HandlerError {
    /// Database errors are transient: the event itself was valid.
    fn from(error: sqlx::Error) -> Self {
        Self::Transient(format!("database: {error}"))
    }
}

/// Applies one event.
pub trait Handler: Send + Sync + 'static {
    /// Applies `envelope`'s effects (idempotently).
    fn handle(&self, envelope: &Envelope) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Consumes `queue` until `shutdown`, reconnecting after broker failures. The topology is
/// declared on every (re)connect, so a broker that lost its definitions gets them back.
pub async fn run<H: Handler>(
    broker: Broker,
    topology: Topology,
    queue: String,
    prefetch: u16,
    handler: H,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        match consume(&broker, &topology, &queue, prefetch, &handler, &shutdown).await {
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

async fn consume<H: Handler>(
    broker: &Broker,
    topology: &Topology,
    queue: &str,
    prefetch: u16,
    handler: &H,
    shutdown: &CancellationToken,
) -> Result<(), MessagingError> {
    let channel = broker.channel().await?;
    crate::declare(&channel, topology).await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let tag = format!("{queue}-{}", uuid::Uuid::now_v7());
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(%queue, "consuming");
    let mut cancelled = false;
    loop {
        let next = if cancelled {
            consumer.next().await
        } else {
            tokio::select! {
                next = consumer.next() => next,
                () = shutdown.cancelled() => {
                    // Stop new deliveries, then finish the ones already received.
                    channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default()).await?;
                    cancelled = true;
                    continue;
                }
            }
        };
        match next {
            Some(delivery) => process(queue, delivery?, handler, shutdown).await?,
            None if cancelled => return Ok(()),
            None => return Err(MessagingError::ConsumerCancelled(queue.to_owned())),
        }
    }
}

async fn process<H: Handler>(
    queue: &str,
    delivery: Delivery,
    handler: &H,
    shutdown: &CancellationToken,
) -> Result<(), MessagingError> {
    let envelope = match Envelope::from_json(&delivery.data) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::warn!(%queue, %error, bytes = delivery.data.len(), "not a known event; dead-lettering it");
            return dead_letter(&delivery).await;
        }
    };
    let span = tracing::info_span!(
        "message",
        %queue,
        event.id = %envelope.id,
        event.type = envelope.event.type_name()
    );
    // `instrument`, never `span.enter()`, across awaits: an entered guard would leak the span
    // into whatever else runs on this thread.
    settle(&delivery, &envelope, handler, shutdown)
        .instrument(span)
        .await
}

/// Applies `envelope` and acknowledges, dead-letters or (at shutdown) returns the delivery.
async fn settle<H: Handler>(
    delivery: &Delivery,
    envelope: &Envelope,
    handler: &H,
    shutdown: &CancellationToken,
) -> Result<(), MessagingError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        match handler.handle(envelope).await {
            Ok(()) => {
                delivery.acker.ack(BasicAckOptions::default()).await?;
                return Ok(());
            }
            Err(HandlerError::Permanent(reason)) => {
                tracing::warn!(%reason, "event cannot be applied; dead-lettering it");
                return dead_letter(delivery).await;
            }
            Err(HandlerError::Transient(reason)) => {
                tracing::warn!(%reason, retry_in_ms = backoff.as_millis(), "event not applied yet; retrying");
                if shutdown.is_cancelled() {
                    // Give it back to the queue for the next process rather than hold shutdown.
                    delivery
                        .acker
                        .reject(BasicRejectOptions { requeue: true })
                        .await?;
                    return Ok(());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn dead_letter(delivery: &Delivery) -> Result<(), MessagingError> {
    delivery
        .acker
        .reject(BasicRejectOptions { requeue: false })
        .await?;
    Ok(())
}
