//! Queries against `users_db`, one module per table.

pub mod addresses;
pub mod refresh_tokens;
pub mod users;
