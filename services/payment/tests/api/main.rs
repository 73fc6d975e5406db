//! The payment service through its real HTTP API, with a real product service, order service
//! and payment sandbox in this process, the real PostgreSQL and RabbitMQ: the pay flow, the
//! webhook's checks, refunds, and faults (duplicates, reordering, a service or the broker down,
//! races).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod faults;
mod flow;
mod process;
mod refunds;
mod shop;
mod webhooks;
