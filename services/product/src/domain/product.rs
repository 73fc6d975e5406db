//! Products: names, exact prices and stock limits.

use microshop_domain::validation::{bounded_text, required_text};
use microshop_domain::{Money, ValidationError};

/// Longest product name (DESIGN §4).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description; the 64 KiB body limit bounds it too.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
/// Most units a product can hold in stock (DESIGN §4).
pub const MAX_STOCK: i64 = 1_000_000_000;

/// A catalogue entry that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    /// Trimmed name.
    pub name: String,
    /// Trimmed description, possibly empty.
    pub description: String,
    /// Exact price.
    pub price: Money,
    /// Units on hand, `0..=MAX_STOCK`.
    pub stock: i64,
}

impl NewProduct {
    /// Checks every field of a new product.
    pub fn parse(
        name: &str,
        description: &str,
        price: f64,
        stock: i64,
    ) -> Result<Self, ValidationError> {
        if !(0..=MAX_STOCK).contains(&stock) {
            return Err(ValidationError::new(
                "stock",
                format!("must be between 0 and {MAX_STOCK}, got {stock}"),
            ));
        }
        Ok(Self {
            name: required_text("name", name, MAX_NAME_CHARS)?,
            description: bounded_text("description", description, MAX_DESCRIPTION_CHARS)?,
            price: Money::price("price", price)?,
            stock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_must_be_within_limits() {
        assert!(NewProduct::parse("Laptop", "", 10.0, 0).is_ok());
        assert!(NewProduct::parse("Laptop", "", 10.0, MAX_STOCK).is_ok());
        let err = NewProduct::parse("Laptop", "", 10.0, -1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stock must be between 0 and 1000000000, got -1"
        );
        assert!(NewProduct::parse("Laptop", "", 10.0, MAX_STOCK + 1).is_err());
    }
}
