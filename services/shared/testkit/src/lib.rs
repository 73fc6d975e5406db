//! Test helpers shared by the services' API tests. Nothing here mocks PostgreSQL or RabbitMQ:
//!
//! - [`TcpProxy`]: a TCP proxy the test owns, to cut and restore a real dependency without
//!   touching the shared server other tests use;
//! - [`ServiceProcess`]: a service binary started as a real process, to test signals;
//! - [`Client`]: a thin HTTP client for a service under test;
//! - [`TestBroker`]: a test's own, self-deleting topology on the shared RabbitMQ;
//! - [`TestDatabase`]: an extra throw-away database, for tests that run several services;
//! - [`TestApp`]: a service's server running in the test process;
//! - [`SmtpSink`]: a real SMTP server (`scripts/smtp-sink.py`) that keeps and parses every mail;
//! - [`scenarios`]: fault scenarios every service must pass;
//! - [`checks`]: input-validation checks every service must pass;
//! - [`eventually`]: waiting for what happens asynchronously;
//! - [`tls`]: a throw-away CA and certificates, and a TLS front for a plain server.

mod app;
pub mod auth;
mod broker;
pub mod checks;
mod client;
mod database;
mod poll;
mod process;
mod proxy;
pub mod scenarios;
mod smtp;
pub mod tls;

pub use app::{TestApp, local_args};
pub use broker::{TestBroker, amqp_url};
pub use client::{Client, json};
pub use database::{TestDatabase, db};
pub use poll::{PATIENCE, eventually, eventually_some, eventually_within};
pub use process::ServiceProcess;
pub use proxy::TcpProxy;
pub use smtp::{ReceivedMail, SmtpSink};
