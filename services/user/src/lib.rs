//! The user service: registration with argon2id password hashes, look-up, listing and log-in.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod hasher;
pub mod register;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "user-service";
