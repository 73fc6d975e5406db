//! The notification service: turns the shop's events into e-mail (and an admin's requests into
//! e-mail and text messages). Each notification is a row, written with a task for the sender
//! through the outbox in the transaction of the event that caused it; the sender hands it to
//! the SMTP server or the SMS provider once — retrying failures with backoff, giving up after
//! `NOTIFICATION_MAX_ATTEMPTS` — and never twice. Users and orders are known from their events
//! (read models), so no other service is called.

pub mod app;
pub mod config;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod notify;
pub mod retry;
pub mod routes;
pub mod send;
pub mod startup;
pub mod transport;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "notification-service";
