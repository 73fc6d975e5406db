//! RabbitMQ consumers of the product service.

pub mod order_events;
