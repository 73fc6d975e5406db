//! Queries against `orders_db`, one module per table.

pub mod idempotency;
pub mod orders;
pub mod products;
