//! The product service's domain: products, categories, reviews and stock moves. No HTTP, no
//! SQL.

pub mod category;
pub mod inventory;
pub mod product;
pub mod review;
pub mod search;

pub use product::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_STOCK, NewProduct};
