//! Products: names, exact prices and stock limits.

use microshop_domain::validation::{bounded_text, required_text};
use microshop_domain::{Money, ValidationError};

/// Longest product name (DESIGN §4).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description; the 64 KiB body limit bounds it too.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
/// Most units a product can hold in stock (DESIGN §4).
pub const MAX_STOCK: i64 = 1_000_000_000;

/// Most products one batch read by ids names (`GET /internal/products?ids=`).
pub const MAX_IDS: usize = 100;
/// Most digits of an id in such a list: every number of up to 18 digits fits in 63 bits.
const MAX_ID_DIGITS: usize = 18;
/// The rule of [`parse_ids`] as a JSON Schema `pattern`.
pub const IDS_PATTERN: &str = r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,99}$";

/// Reads a list of 1 to [`MAX_IDS`] product ids separated by commas (`1,2,3`): each a positive
/// whole number of at most 18 digits without leading zeros, no spaces ([`IDS_PATTERN`]). An id
/// named twice counts twice towards the limit.
pub fn parse_ids(text: &str) -> Result<Vec<i64>, ValidationError> {
    let pieces: Vec<&str> = text.split(',').collect();
    if pieces.len() > MAX_IDS {
        return Err(ValidationError::new(
            "ids",
            format!("must name at most {MAX_IDS} ids, got {}", pieces.len()),
        ));
    }
    pieces
        .into_iter()
        .map(|piece| {
            let digits = piece.len() <= MAX_ID_DIGITS
                && piece.bytes().all(|b| b.is_ascii_digit())
                && !piece.starts_with('0');
            piece.parse::<i64>().ok().filter(|_| digits).ok_or_else(|| {
                ValidationError::new(
                    "ids",
                    format!(
                        "must be ids separated by commas (e.g. 1,2,3), each a whole number from \
                         1 to {MAX_ID_DIGITS} digits without leading zeros; got {piece:?}"
                    ),
                )
            })
        })
        .collect()
}

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
    fn an_id_list_names_one_to_a_hundred_plain_positive_ids() {
        assert_eq!(parse_ids("1").unwrap(), [1]);
        assert_eq!(parse_ids("3,1,3").unwrap(), [3, 1, 3]);
        assert_eq!(
            parse_ids("999999999999999999").unwrap(),
            [999_999_999_999_999_999]
        );
        let hundred = vec!["7"; MAX_IDS].join(",");
        assert_eq!(parse_ids(&hundred).unwrap().len(), MAX_IDS);
        let too_many = format!("{hundred},7");
        assert!(
            parse_ids(&too_many)
                .unwrap_err()
                .to_string()
                .contains("at most 100")
        );
        for bad in [
            "",
            ",",
            "1,",
            ",1",
            "1,,2",
            "0",
            "01",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "a",
            "1000000000000000000",
            "١",
        ] {
            assert!(parse_ids(bad).is_err(), "{bad:?}");
        }
    }

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
