//! Queries against `products_db`, one module per table.

pub mod categories;
pub mod inventory;
pub mod products;
pub mod reservations;
pub mod reviews;
pub mod search;
pub mod stock;
