//! Publishing with publisher confirms: a whole batch is sent, then all its confirms are awaited
//! together (one confirm round trip per message would cap a quorum queue near 1,200 msg/s).
//!
//! Every message is published `mandatory`: a message that reaches no queue (nothing bound to the
//! exchange, a queue deleted by hand) comes back instead of being confirmed and dropped, so its
//! sender keeps it. A failed publish also drops the channel, so the next one opens a fresh
//! channel and declares the topology again: a deleted queue comes back by itself.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use lapin::Confirmation;
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

/// What became of one published message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The broker confirmed it into at least one queue.
    Delivered,
    /// It reached no queue and came back (published `mandatory`).
    Returned,
    /// The broker refused it.
    Nacked,
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
    /// into at least one queue. Any failure means some may not have arrived: the caller keeps
    /// them and tries again; consumers deduplicate by id.
    pub async fn publish(&self, messages: &[OutgoingMessage]) -> Result<(), MessagingError> {
        let outcomes = self.publish_each(messages).await?;
        match outcomes
            .into_iter()
            .zip(messages)
            .find(|(outcome, _)| *outcome != Outcome::Delivered)
        {
            None => Ok(()),
            Some((outcome, message)) => Err(self.undelivered(outcome, message)),
        }
    }

    /// Publishes `messages` in order and says, once the broker answered for every one, what
    /// became of each: a caller keeps the ones not [`Outcome::Delivered`] and tries them again.
    /// An error means the outcome of some is unknown (keep them all).
    pub async fn publish_each(
        &self,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<Outcome>, MessagingError> {
        let mut guard = self.channel.lock().await;
        let channel = self.open(&mut guard).await?;
        let result = self.publish_on(&channel, messages).await;
        let failed = result.as_ref().map_or(true, |outcomes| {
            outcomes.iter().any(|o| *o != Outcome::Delivered)
        });
        if failed {
            // A failed channel is useless, and a message that reached no queue means the
            // topology is not what it should be: the next call opens a fresh channel, which
            // declares it again.
            *guard = None;
        }
        result
    }

    /// Opens the confirm-mode channel (declaring the topology) unless it is open already: the
    /// connection is then up even before the first publish, and is opened again after it
    /// dropped while there was nothing to publish.
    pub async fn connect(&self) -> Result<(), MessagingError> {
        let mut guard = self.channel.lock().await;
        self.open(&mut guard).await.map(drop)
    }

    /// The open channel of `slot`, opening (and declaring) a new one if there is none.
    async fn open(&self, slot: &mut Option<Channel>) -> Result<Channel, MessagingError> {
        if let Some(channel) = slot.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let channel = self.broker.channel().await?;
        if let Some(topology) = &self.topology {
            crate::declare(&channel, topology).await?;
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        *slot = Some(channel.clone());
        Ok(channel)
    }

    /// The error for a message that was not delivered.
    pub fn undelivered(&self, outcome: Outcome, message: &OutgoingMessage) -> MessagingError {
        let message_id = message.id.to_string();
        match outcome {
            Outcome::Returned => MessagingError::Unroutable {
                message_id,
                exchange: self.exchange.clone(),
            },
            Outcome::Nacked | Outcome::Delivered => MessagingError::Nacked { message_id },
        }
    }

    async fn publish_on(
        &self,
        channel: &Channel,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<Outcome>, MessagingError> {
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
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &message.payload,
                    properties,
                )
                .await?;
            confirms.push(confirm);
        }
        let confirmations = tokio::time::timeout(CONFIRM_TIMEOUT, join_all(confirms))
            .await
            .map_err(|_| MessagingError::Timeout(CONFIRM_TIMEOUT))?;
        confirmations
            .into_iter()
            .map(|confirmation| {
                Ok(match confirmation? {
                    Confirmation::Ack(None) | Confirmation::NotRequested => Outcome::Delivered,
                    Confirmation::Ack(Some(_)) => Outcome::Returned,
                    Confirmation::Nack(_) => Outcome::Nacked,
                })
            })
            .collect()
    }
}
