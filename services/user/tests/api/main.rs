//! API tests of the user service: each test gets a fresh real database (`#[sqlx::test]`) and
//! its own RabbitMQ topology, and drives the service over HTTP on a free port.

mod access;
mod addresses;
mod bootstrap;
mod events;
mod faults;
mod helpers;
mod invalid_input;
mod roles;
mod session;
mod throttling;
mod users;
