//! The product service: the catalogue (categories, search, reviews), exact prices and
//! never-negative stock with its inventory API.

pub mod catalog;
pub mod categories;
pub mod config;
pub mod consumers;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod inventory;
pub mod manage;
pub mod release;
pub mod reserve;
pub mod reviews;
pub mod routes;
pub mod saga;
pub mod startup;

pub use config::Config;
pub use error::Error;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "product-service";
