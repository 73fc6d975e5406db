//! Publishing with publisher confirms: a whole batch is sent, then all its confirms are awaited
//! together (one confirm round trip per message would cap a quorum queue near 1,200 msg/s).

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use microshop_events::{Envelope, Topology};
use microshop_telemetry::trace::TRACEPARENT;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::{Broker, MessagingError};

/// How long the broker may take to confirm a batch.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// One message to publish.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Event id; becomes the AMQP `message_id`.
    pub id: Uuid,
    /// Event type, e.g. `order.created`; becomes the AMQP `type`.
    pub event_type: String,
    /// The JSON envelope.
    pub payload: Vec<u8>,
    /// W3C trace context of the work that caused it; becomes the AMQP header `traceparent`.
    pub traceparent: Option<String>,
}

impl OutgoingMessage {
    /// The message carrying `envelope` (and its trace context).
    pub fn from_envelope(envelope: &Envelope) -> Self {
        Self {
            id: envelope.id,
            event_type: envelope.event.type_name().to_owned(),
            payload: envelope.to_json(),
            traceparent: envelope.traceparent.clone(),
        }
    }
}

/// Publishes persistent messages to one exchange over a confirm-mode channel of its own.
#[derive(Clone)]
pub struct Publisher {
    broker: Broker,
    exchange: String,
    topology: Option<Topology>,
    channel: Arc<Mutex<Option<Channel>>>,
}

impl Publisher {
    /// A publisher for `exchange`; the channel opens on first use.
    pub fn new(broker: Broker, exchange: impl Into<String>) -> Self {
        Self {
            broker,
            exchange: exchange.into(),
            topology: None,
            channel: Arc::new(Mutex::new(None)),
        }
    }

    /// Declares `topology` whenever a channel is opened, so publishing works even before (or
    /// without) a consumer in this process declared it.
    #[must_use]
    pub fn declaring(mut self, topology: Topology) -> Self {
        self.topology = Some(topology);
        self
    }

    /// Publishes `messages` in order and returns once the broker confirmed every one of them
    /// (written to its quorum queues). Any failure means some may not have arrived: the caller
    /// keeps them and tries again; consumers deduplicate by id.
    pub async fn publish(&self, messages: &[OutgoingMessage]) -> Result<(), MessagingError> {
        let mut guard = self.channel.lock().await;
        let channel = match guard.as_ref() {
            Some(channel) if channel.status().connected() => channel.clone(),
            _ => {
                let channel = self.broker.channel().await?;
                if let Some(topology) = &self.topology {
                    crate::declare(&channel, topology).await?;
                }
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                *guard = Some(channel.clone());
                channel
            }
        };
        let result = self.publish_on(&channel, messages).await;
        if result.is_err() {
            // A failed channel is useless; the next call opens a fresh one.
            *guard = None;
        }
        result
    }

    async fn publish_on(
        &self,
        channel: &Channel,
        messages: &[OutgoingMessage],
    ) -> Result<(), MessagingError> {
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            let mut properties = BasicProperties::default()
                .with_message_id(message.id.to_string().into())
                .with_type(message.event_type.as_str().into())
                .with_content_type("application/json".into())
                .with_delivery_mode(2);
            if let Some(traceparent) = &message.traceparent {
                let mut headers = FieldTable::default();
                headers.insert(
                    TRACEPARENT.into(),
                    AMQPValue::LongString(traceparent.as_str().into()),
                );
                properties = properties.with_headers(headers);
            }
            let confirm = channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    &message.payload,
                    properties,
                )
                .await?;
            confirms.push(confirm);
        }
        let confirmations = tokio::time::timeout(CONFIRM_TIMEOUT, join_all(confirms))
            .await
            .map_err(|_| MessagingError::Timeout(CONFIRM_TIMEOUT))?;
        for (message, confirmation) in messages.iter().zip(confirmations) {
            if confirmation?.is_nack() {
                return Err(MessagingError::Nacked {
                    message_id: message.id.to_string(),
                });
            }
        }
        Ok(())
    }
}
