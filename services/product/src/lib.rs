//! The product service: the catalogue, exact prices and never-negative stock.

pub mod catalog;
pub mod config;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod error;
pub mod release;
pub mod reserve;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "product-service";
