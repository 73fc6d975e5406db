//! The user service: accounts (argon2id password hashes), sign-in with access and refresh
//! tokens, profiles, and the public keys other services verify tokens with.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod hasher;
pub mod profile;
pub mod register;
pub mod routes;
pub mod session;
pub mod startup;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "user-service";
