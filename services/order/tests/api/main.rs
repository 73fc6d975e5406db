//! API tests of the order service, with the real product service, PostgreSQL and
//! RabbitMQ: each test runs the whole shop on free ports with its own databases and its own
//! RabbitMQ topology.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod access;
mod cart;
mod cart_faults;
mod catalog;
mod chaos;
mod checkout;
mod deadlines;
mod ends;
mod faults;
mod helpers;
mod idempotency;
mod lifecycle;
mod orders;
mod tracing;
