//! The payment service: creates a payment for a confirmed order (the amount read from the order
//! service, never from the client) as a checkout session at the card provider, learns the
//! outcome from the provider's signed webhooks — each provider event applied once, a payment
//! never moved backwards —, and gives money back once per request, asked by an admin or by
//! `order.cancelled` with `refund`. Every change is announced through the outbox
//! (`payment.succeeded`, `payment.failed`, `payment.refunded`). See docs/payments.md for the
//! provider contract.

pub mod app;
pub mod config;
pub mod consumers;
pub mod create;
pub mod db;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod orders;
pub mod provider;
pub mod refund;
pub mod routes;
pub mod startup;
pub mod webhook;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "payment-service";
