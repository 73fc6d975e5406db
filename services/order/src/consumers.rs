//! RabbitMQ consumers of the order service.

pub mod product_events;
