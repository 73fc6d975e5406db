//! Declares the topology of `microshop-events` on a channel. Declarations are idempotent: the
//! same arguments on an existing exchange or queue change nothing.

use lapin::Channel;
use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use microshop_events::{ExchangeKind, Topology};

use crate::MessagingError;

/// Declares every exchange, queue and binding of `topology`.
pub async fn declare(channel: &Channel, topology: &Topology) -> Result<(), MessagingError> {
    declare_exchanges(channel, topology).await?;
    declare_queues(channel, topology).await?;
    tracing::info!(prefix = topology.prefix(), "RabbitMQ topology declared");
    Ok(())
}

/// Declares the exchanges of `topology` (before its queues, which are bound to them).
pub async fn declare_exchanges(
    channel: &Channel,
    topology: &Topology,
) -> Result<(), MessagingError> {
    let temporary = topology.is_temporary();
    for exchange in topology.exchanges() {
        let kind = match exchange.kind {
            ExchangeKind::Fanout => lapin::ExchangeKind::Fanout,
            ExchangeKind::Direct => lapin::ExchangeKind::Direct,
        };
        let options = ExchangeDeclareOptions {
            durable: true,
            auto_delete: temporary,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                exchange.name.as_str().into(),
                kind,
                options,
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

async fn declare_queues(channel: &Channel, topology: &Topology) -> Result<(), MessagingError> {
    for queue in topology.queues() {
        let mut arguments = FieldTable::default();
        let kind = if queue.quorum { "quorum" } else { "classic" };
        arguments.insert("x-queue-type".into(), AMQPValue::LongString(kind.into()));
        if let Some(dlx) = &queue.dead_letter_exchange {
            arguments.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(dlx.as_str().into()),
            );
            arguments.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(queue.name.as_str().into()),
            );
        }
        if let Some(limit) = queue.delivery_limit {
            arguments.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(limit));
        }
        if let Some(expires) = queue.expires_ms {
            arguments.insert("x-expires".into(), AMQPValue::LongLongInt(expires));
        }
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.name.as_str().into(), options, arguments)
            .await?;
        channel
            .queue_bind(
                queue.name.as_str().into(),
                queue.bound_to.as_str().into(),
                queue.routing_key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Messages ready in `queue` (for the DLQ-depth metric and tests).
pub async fn queue_depth(channel: &Channel, queue: &str) -> Result<u32, MessagingError> {
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await?;
    Ok(declared.message_count())
}

/// Deletes every queue and exchange of `topology`, messages included, ignoring those already
/// gone: for tests and benchmarks that declared a private topology. Never point this at the
/// production names.
pub async fn delete(channel: &Channel, topology: &Topology) {
    for queue in topology.queues() {
        let _ = channel
            .queue_delete(queue.name.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    for exchange in topology.exchanges() {
        let _ = channel
            .exchange_delete(
                exchange.name.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
    }
}
