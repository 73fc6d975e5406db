//! API tests of the user service: each test gets a fresh real database (`#[sqlx::test]`) and
//! drives the service over HTTP on a free port.

mod faults;
mod helpers;
mod invalid_input;
mod session;
mod users;
