//! The payment sandbox: a stand-in card provider that speaks the provider contract of
//! `docs/payments.md` over real HTTP. The payment service creates checkout sessions through its
//! API (Bearer API key), sends buyers to its hosted card page, and learns outcomes from its
//! signed webhooks, delivered at least once with retries. Test controls (duplicates, holding
//! and releasing events, paying on create) let tests and demonstrations provoke what a real
//! provider does now and then. State is kept in memory: one replica, lost on restart.

pub mod app;
pub mod config;
pub mod create;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod page;
pub mod pay;
pub mod refund;
pub mod routes;
pub mod startup;
pub mod store;
pub mod webhooks;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "payment-sandbox";
