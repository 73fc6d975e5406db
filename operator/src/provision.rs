//! Talking to PostgreSQL and RabbitMQ themselves.

pub mod postgres;
pub mod rabbitmq;
pub mod scram;

pub use crate::error::ProvisionError;
