//! The order service: accepts an order of one or several products, priced from its read model of
//! the catalogue, stores it `PENDING` with its `order.created` event in one transaction, moves it
//! to `CONFIRMED` or `REJECTED` when the product service answers, and on through its lifecycle:
//! `PAID` (payment events), `SHIPPED`, `DELIVERED`, or `CANCELLED` with its stock and money
//! given back.

pub mod announce;
pub mod app;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod config;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod error;
pub mod lifecycle;
pub mod metrics;
pub mod overdue;
pub mod payments;
pub mod place;
pub mod read_model;
pub mod routes;
pub mod settle;
pub mod startup;
pub mod upstreams;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "order-service";
