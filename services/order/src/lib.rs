//! The order service: accepts an order after checking the user and the product, stores it
//! `PENDING` with its `order.created` event in one transaction, and moves it to `CONFIRMED` or
//! `REJECTED` when the product service answers.

pub mod app;
pub mod config;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod overdue;
pub mod place;
pub mod routes;
pub mod settle;
pub mod startup;
pub mod upstreams;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "order-service";
