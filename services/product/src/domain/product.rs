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
    /// Its category, if any.
    pub category_id: Option<i64>,
}

impl NewProduct {
    /// Checks every field of a new product.
    pub fn parse(
        name: &str,
        description: &str,
        price: f64,
        stock: i64,
    ) -> Result<Self, ValidationError> {
        let edit = ProductEdit::parse(name, description, price, None)?;
        Ok(Self {
            name: edit.name,
            description: edit.description,
            price: edit.price,
            stock: check_stock(stock)?,
            category_id: None,
        })
    }

    /// The same product in category `category_id`.
    #[must_use]
    pub fn in_category(self, category_id: Option<i64>) -> Self {
        Self {
            category_id,
            ..self
        }
    }
}

/// Checks a stock level: `0..=MAX_STOCK`.
pub fn check_stock(stock: i64) -> Result<i64, ValidationError> {
    if (0..=MAX_STOCK).contains(&stock) {
        Ok(stock)
    } else {
        Err(ValidationError::new(
            "stock",
            format!("must be between 0 and {MAX_STOCK}, got {stock}"),
        ))
    }
}

/// What an admin's edit of a product sets: everything but stock, which moves through the
/// inventory (and orders).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductEdit {
    /// Trimmed name.
    pub name: String,
    /// Trimmed description, possibly empty.
    pub description: String,
    /// Exact price; orders already taken keep the price they were taken at.
    pub price: Money,
    /// Its category, if any.
    pub category_id: Option<i64>,
}

impl ProductEdit {
    /// Checks the editable fields.
    pub fn parse(
        name: &str,
        description: &str,
        price: f64,
        category_id: Option<i64>,
    ) -> Result<Self, ValidationError> {
        if category_id.is_some_and(|id| id < 1) {
            return Err(ValidationError::new("category_id", "must be a category id"));
        }
        Ok(Self {
            name: required_text("name", name, MAX_NAME_CHARS)?,
            description: bounded_text("description", description, MAX_DESCRIPTION_CHARS)?,
            price: Money::price("price", price)?,
            category_id,
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
