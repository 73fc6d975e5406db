//! What an order request is made of: lines and their bounds, idempotency keys and the request
//! fingerprint of idempotent retries.

use std::fmt::Write as _;

use microshop_domain::{Id, ValidationError};

/// Fewest units in one order.
pub const MIN_QUANTITY: i64 = 1;
/// Most units in one order (DESIGN §4).
pub const MAX_QUANTITY: i64 = 10_000;
pub use microshop_domain::idempotency::{
    IDEMPOTENCY_KEY_PATTERN, IdempotencyKey, MAX_IDEMPOTENCY_KEY_CHARS,
};

/// Most lines in one order (and in a cart).
pub const MAX_LINES: usize = 50;

/// One line of an order request: a product and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewLine {
    /// The product.
    pub product_id: Id,
    /// Units, `1..=10000`.
    pub quantity: i64,
}

/// Why an order request is refused before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRequestError {
    /// A field breaks a rule of the request's shape.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A product listed several times adds up to more units than one line may have.
    #[error(
        "product {product_id} is listed for {units} units in all; one order takes at most {MAX_QUANTITY} of a product"
    )]
    TooManyUnits {
        /// The product.
        product_id: Id,
        /// Its units across the lines.
        units: i64,
    },
}

/// A well-formed order request: 1 to [`MAX_LINES`] lines, each quantity in bounds, a product
/// listed twice merged into one line; optionally the buyer's address to ship to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Who orders.
    pub user_id: Id,
    /// What, in the order asked.
    pub lines: Vec<NewLine>,
    /// One of the buyer's addresses (required for orders with `items`; the seed's one-product
    /// shape has none).
    pub address_id: Option<Id>,
    /// Whether the lines come from the buyer's cart (checkout), which a retry names by its
    /// address only: the cart may have been emptied by the first attempt.
    pub from_cart: bool,
}

impl NewOrder {
    /// Checks the lines.
    pub fn parse(
        user_id: Id,
        lines: Vec<NewLine>,
        address_id: Option<Id>,
    ) -> Result<Self, OrderRequestError> {
        if lines.is_empty() {
            return Err(ValidationError::new("items", "must name at least one product").into());
        }
        if lines.len() > MAX_LINES {
            return Err(ValidationError::new(
                "items",
                format!("at most {MAX_LINES} lines, got {}", lines.len()),
            )
            .into());
        }
        for (index, line) in lines.iter().enumerate() {
            if !(MIN_QUANTITY..=MAX_QUANTITY).contains(&line.quantity) {
                return Err(OrderRequestError::Invalid(ValidationError::new(
                    "quantity",
                    format!(
                        "must be between {MIN_QUANTITY} and {MAX_QUANTITY}, got {} (line {})",
                        line.quantity,
                        index + 1
                    ),
                )));
            }
        }
        // A product listed twice is one line of the summed units, as in a cart.
        let mut merged: Vec<NewLine> = Vec::with_capacity(lines.len());
        for line in lines {
            match merged.iter_mut().find(|l| l.product_id == line.product_id) {
                Some(same) => same.quantity += line.quantity,
                None => merged.push(line),
            }
        }
        if let Some(line) = merged.iter().find(|l| l.quantity > MAX_QUANTITY) {
            return Err(OrderRequestError::TooManyUnits {
                product_id: line.product_id,
                units: line.quantity,
            });
        }
        let lines = merged;
        Ok(Self {
            user_id,
            lines,
            address_id,
            from_cart: false,
        })
    }

    /// The same order, taken from the buyer's cart.
    #[must_use]
    pub fn from_cart(mut self) -> Self {
        self.from_cart = true;
        self
    }

    /// The fingerprint of a checkout of `user_id`'s cart to `address_id`.
    pub fn checkout_fingerprint(user_id: Id, address_id: Id) -> String {
        format!("user={user_id};checkout;address={address_id}")
    }

    /// The products ordered, as raw ids.
    pub fn product_ids(&self) -> Vec<i64> {
        self.lines
            .iter()
            .map(|line| line.product_id.get())
            .collect()
    }

    /// Identifies the request's content: a retry with the same idempotency key must carry the
    /// same fingerprint.
    pub fn fingerprint(&self) -> String {
        if let (true, Some(address)) = (self.from_cart, self.address_id) {
            return Self::checkout_fingerprint(self.user_id, address);
        }
        // The one-product shape keeps the fingerprint it had before orders had lines, so a retry
        // of a request made before an upgrade is still recognised.
        if let ([line], None) = (self.lines.as_slice(), self.address_id) {
            return format!(
                "user={};product={};quantity={}",
                self.user_id, line.product_id, line.quantity
            );
        }
        let mut text = format!("user={}", self.user_id);
        for line in &self.lines {
            let _ = write!(text, ";{}x{}", line.product_id, line.quantity);
        }
        if let Some(address) = self.address_id {
            let _ = write!(text, ";address={address}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: i64) -> Id {
        Id::new(value).unwrap()
    }

    fn line(product: i64, quantity: i64) -> NewLine {
        NewLine {
            product_id: id(product),
            quantity,
        }
    }

    #[test]
    fn quantities_and_lines_are_bounded() {
        assert!(NewOrder::parse(id(1), vec![line(2, 1)], None).is_ok());
        assert!(NewOrder::parse(id(1), vec![line(2, 10_000), line(3, 1)], None).is_ok());
        for bad in [0, -1, 10_001] {
            assert!(
                NewOrder::parse(id(1), vec![line(2, bad)], None).is_err(),
                "{bad}"
            );
        }
        assert!(NewOrder::parse(id(1), Vec::new(), None).is_err());
        let many: Vec<NewLine> = (1..=51).map(|p| line(p, 1)).collect();
        assert!(NewOrder::parse(id(1), many[..50].to_vec(), None).is_ok());
        assert!(NewOrder::parse(id(1), many, None).is_err());
    }

    #[test]
    fn a_product_listed_twice_is_one_line_of_its_units_in_all() {
        let order = NewOrder::parse(id(1), vec![line(2, 1), line(3, 1), line(2, 4)], None).unwrap();
        assert_eq!(order.lines, [line(2, 5), line(3, 1)]);
        let error = NewOrder::parse(id(1), vec![line(2, 10_000), line(2, 1)], None).unwrap_err();
        assert_eq!(
            error,
            OrderRequestError::TooManyUnits {
                product_id: id(2),
                units: 10_001
            }
        );
    }

    #[test]
    fn fingerprints_differ_when_the_request_differs() {
        let a = NewOrder::parse(id(1), vec![line(2, 3)], None).unwrap();
        let b = NewOrder::parse(id(1), vec![line(2, 4)], None).unwrap();
        let c = NewOrder::parse(id(1), vec![line(2, 3)], Some(id(9))).unwrap();
        let d = NewOrder::parse(id(1), vec![line(2, 3), line(5, 1)], None).unwrap();
        for other in [&b, &c, &d] {
            assert_ne!(a.fingerprint(), other.fingerprint());
        }
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }
}
