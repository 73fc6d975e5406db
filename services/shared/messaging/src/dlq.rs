//! Dead-letter queues: their depth as a metric, and replay of their messages into the work queue
//! once the cause is fixed (`microshopctl dlq replay <queue>`).

use std::time::Duration;

use lapin::Confirmation;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
};
use microshop_events::Topology;
use prometheus::{IntGaugeVec, Opts, Registry};
use tokio_util::sync::CancellationToken;

use crate::{Broker, MessagingError, queue_depth};

/// How often the DLQ depth is read.
const POLL_INTERVAL: Duration = Duration::from_secs(15);
/// How soon a failed read is tried again.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// `dlq_messages{queue}`: messages waiting in each dead-letter queue.
#[derive(Clone)]
pub struct DlqMetrics {
    depth: IntGaugeVec,
}

impl DlqMetrics {
    /// Registers the gauge on the service's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let depth = IntGaugeVec::new(
            Opts::new(
                "dlq_messages",
                "Messages waiting in a dead-letter queue; anything above 0 needs a person.",
            ),
            &["queue"],
        )?;
        registry.register(Box::new(depth.clone()))?;
        Ok(Self { depth })
    }

    /// Reads the depth of `dlqs` every 15 s until `shutdown`; after a failed read (the broker
    /// is away, or the queues are not declared yet at start) again after 1 s, so the gauge
    /// appears as soon as there is something true to report.
    pub async fn watch(self, broker: Broker, dlqs: Vec<String>, shutdown: CancellationToken) {
        loop {
            let wait = match self.refresh(&broker, &dlqs).await {
                Ok(()) => POLL_INTERVAL,
                Err(error) => {
                    tracing::debug!(%error, "cannot read dead-letter queue depth");
                    RETRY_INTERVAL
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Reads the depth of `dlqs` once.
    pub async fn refresh(&self, broker: &Broker, dlqs: &[String]) -> Result<(), MessagingError> {
        let channel = broker.channel().await?;
        for dlq in dlqs {
            let depth = queue_depth(&channel, dlq).await?;
            self.depth.with_label_values(&[dlq]).set(i64::from(depth));
        }
        let _ = channel.close(200, "depth read".into()).await;
        Ok(())
    }
}

/// Moves up to `limit` messages from `<queue>.dlq` back to `queue` (through the default
/// exchange, so only that queue gets them). Each is acknowledged in the DLQ only after the
/// broker confirmed it into the work queue, so a crash mid-way duplicates at worst, and
/// consumers drop duplicates. Messages are published `mandatory`: when `queue` does not exist,
/// the message comes back, stays in the DLQ, and the replay stops with an error. Returns how
/// many moved.
pub async fn replay(broker: &Broker, queue: &str, limit: usize) -> Result<usize, MessagingError> {
    let dlq = Topology::dlq_of(queue);
    let channel = broker.channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut moved = 0;
    while moved < limit {
        let Some(message) = channel
            .basic_get(dlq.as_str().into(), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        let delivery = message.delivery;
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &delivery.data,
                delivery.properties.clone(),
            )
            .await?
            .await?;
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map_or_else(String::new, ToString::to_string);
        let failure = match confirm {
            Confirmation::Ack(None) | Confirmation::NotRequested => None,
            Confirmation::Ack(Some(_)) => Some(MessagingError::Unroutable {
                message_id,
                exchange: format!("(default) to queue {queue}"),
            }),
            Confirmation::Nack(_) => Some(MessagingError::Nacked { message_id }),
        };
        if let Some(error) = failure {
            // The DLQ keeps its copy: nothing is lost when the work queue is missing.
            delivery
                .acker
                .nack(BasicNackOptions {
                    multiple: false,
                    requeue: true,
                })
                .await?;
            let _ = channel.close(200, "replay stopped".into()).await;
            return Err(error);
        }
        delivery.acker.ack(BasicAckOptions::default()).await?;
        moved += 1;
    }
    let _ = channel.close(200, "replay done".into()).await;
    tracing::info!(%queue, moved, "dead letters replayed");
    Ok(moved)
}
