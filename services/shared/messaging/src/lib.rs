//! RabbitMQ for the Microshop services (DESIGN §5–§6):
//!
//! - [`Broker`]: one long-lived connection per process, re-established after failures;
//! - [`declare`]: the topology of `microshop-events`, declared idempotently;
//! - [`Publisher`]: persistent messages with publisher confirms, a whole batch per round trip;
//! - [`outbox`]: events written in the same transaction as the state change, and the relay that
//!   publishes them;
//! - [`inbox`] and [`consumer`]: exactly-once effects on top of at-least-once delivery;
//! - [`dlq`]: dead-letter depth as a metric, and replay (the `microshopctl` binary);
//! - [`metrics`]: events consumed, outbox backlog and publish latency;
//! - [`service`]: all of the above wired for one service.

mod broker;
mod config;
pub mod consumer;
pub mod dlq;
pub mod inbox;
pub mod metrics;
pub mod outbox;
mod publisher;
pub mod service;
mod topology;

pub use broker::{Broker, MessagingError};
pub use config::AmqpConfig;
pub use publisher::{Outcome as PublishOutcome, OutgoingMessage, Publisher};
pub use topology::{declare, declare_exchanges, delete, queue_depth};
