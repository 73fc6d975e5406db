//! The product service's domain: products, categories, reviews, stock moves, and the
//! reservations of orders' lines. No HTTP, no SQL.

pub mod category;
pub mod inventory;
pub mod ledger;
pub mod product;
pub mod reservation;
pub mod review;
pub mod search;
pub mod shelf;

pub use product::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_STOCK, NewProduct};
