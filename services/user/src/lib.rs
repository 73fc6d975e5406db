//! The user service: accounts (argon2id password hashes), sign-in with access and refresh
//! tokens, roles, profiles, postal addresses, and the public keys other services verify tokens
//! with. Account changes are published as `user.registered` and `user.updated` through an
//! outbox.

pub mod addresses;
pub mod bootstrap;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod hasher;
pub mod login_limits;
pub mod profile;
pub mod register;
pub mod roles;
pub mod routes;
pub mod session;
pub mod startup;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "user-service";
