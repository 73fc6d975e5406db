//! RabbitMQ consumers of the order service: one handler for its two queues,
//! `order.product-events` (stock answers) and `order.payment-events` (payments).

pub mod events;
