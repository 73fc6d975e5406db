//! `notifications_db`: notifications, the read models of users and orders, preferences.
//! Queries are checked at compile time against `.sqlx/` (`make sqlx-prepare
//! SERVICES=notification`).

pub mod notifications;
pub mod people;
