//! Queries against `users_db`, one module per table.

pub mod users;
