//! The notification service through its real HTTP API and a real SMTP server (the project's
//! sink, `scripts/smtp-sink.py`), with the user, product, order and payment services and the
//! payment sandbox in this process, the real PostgreSQL and RabbitMQ: the shop's mails end to
//! end, an admin's messages, an SMTP outage, redeliveries and an interrupted send.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod delivery;
mod journey;
mod process;
mod sending;
mod shop;
