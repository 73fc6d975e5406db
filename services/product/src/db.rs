//! Queries against `products_db`, one module per table.

pub mod products;
pub mod stock;
