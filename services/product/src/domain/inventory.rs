//! Stock moves of the inventory API: quantities, references, thresholds, and what every stock
//! change is caused by.

use microshop_domain::{Id, ValidationError};

use super::MAX_STOCK;

/// Most units one deduct or restore moves.
pub const MAX_MOVE_QUANTITY: i64 = 1_000_000;
/// Longest reference of a manual move, counted as sent.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// The reference rule as a JSON Schema `pattern`: not blank, no control characters at all.
pub const REFERENCE_PATTERN: &str =
    r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";

/// What changed a product's stock; its wire name is the `cause` of `product.stock.updated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An order's reservation took units (the saga).
    Order,
    /// A cancelled order's units came back (the saga).
    Release,
    /// A manual deduct of the inventory API.
    Deduct,
    /// A manual restore of the inventory API.
    Restore,
    /// An admin or service set the stock (`PUT /api/inventory/{product_id}`).
    Set,
}

impl Cause {
    /// `order`, `release`, `deduct`, `restore` or `set`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Release => "release",
            Self::Deduct => "deduct",
            Self::Restore => "restore",
            Self::Set => "set",
        }
    }
}

/// One change of one product's available stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockChange {
    /// The product.
    pub product_id: i64,
    /// Units available after the change.
    pub stock_after: i64,
    /// The change, e.g. `-2` for an order of two.
    pub delta: i64,
    /// What made it.
    pub cause: Cause,
}

/// The two manual moves, each idempotent by its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveKind {
    /// Takes units out of stock (never below zero).
    Deduct,
    /// Puts units back (never above [`MAX_STOCK`]).
    Restore,
}

impl MoveKind {
    /// `deduct` or `restore`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deduct => "deduct",
            Self::Restore => "restore",
        }
    }

    /// The cause of the stock change it makes.
    pub fn cause(self) -> Cause {
        match self {
            Self::Deduct => Cause::Deduct,
            Self::Restore => Cause::Restore,
        }
    }
}

/// A manual move that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    /// Deduct or restore.
    pub kind: MoveKind,
    /// The product.
    pub product_id: Id,
    /// Units, `1..=MAX_MOVE_QUANTITY`.
    pub quantity: i64,
    /// The caller's reference: trimmed, 1 to [`MAX_REFERENCE_CHARS`] characters, printable.
    pub reference: String,
}

impl StockMove {
    /// Checks a move's fields.
    pub fn parse(
        kind: MoveKind,
        product_id: Id,
        quantity: i64,
        reference: &str,
    ) -> Result<Self, ValidationError> {
        if !(1..=MAX_MOVE_QUANTITY).contains(&quantity) {
            return Err(ValidationError::new(
                "quantity",
                format!("must be between 1 and {MAX_MOVE_QUANTITY}, got {quantity}"),
            ));
        }
        Ok(Self {
            kind,
            product_id,
            quantity,
            reference: reference_text(reference)?,
        })
    }

    /// Whether a stored move of `kind`, `product_id` and `quantity` is this same move (so a
    /// repeat of it is a replay, not a conflict).
    pub fn is_same_as(&self, kind: &str, product_id: i64, quantity: i64) -> bool {
        kind == self.kind.as_str()
            && product_id == self.product_id.get()
            && quantity == self.quantity
    }
}

fn reference_text(value: &str) -> Result<String, ValidationError> {
    let chars = value.chars().count();
    if chars > MAX_REFERENCE_CHARS {
        return Err(ValidationError::new(
            "reference",
            format!("must be at most {MAX_REFERENCE_CHARS} characters, got {chars}"),
        ));
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new("reference", "must not be blank"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "reference",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// What `PUT /api/inventory/{product_id}` changes: the available units, the threshold, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockSetting {
    /// New available units, `0..=MAX_STOCK`.
    pub stock: Option<i64>,
    /// New low-stock threshold, `0..=MAX_STOCK`.
    pub threshold: Option<i64>,
}

impl StockSetting {
    /// Checks that every value given is in range (none given: a setting that changes nothing).
    pub fn parse(stock: Option<i64>, threshold: Option<i64>) -> Result<Self, ValidationError> {
        for (field, value) in [("stock", stock), ("low_stock_threshold", threshold)] {
            if let Some(value) = value.filter(|v| !(0..=MAX_STOCK).contains(v)) {
                return Err(ValidationError::new(
                    field,
                    format!("must be between 0 and {MAX_STOCK}, got {value}"),
                ));
            }
        }
        Ok(Self { stock, threshold })
    }
}

/// A product's stock as the inventory API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// The product.
    pub product_id: i64,
    /// Units that can still be sold (`products.stock`).
    pub available: i64,
    /// Units held for orders that are not shipped yet.
    pub reserved: i64,
    /// At or below this many available units the product is low on stock.
    pub threshold: i64,
}

impl Level {
    /// Units on hand: available plus reserved.
    pub fn on_hand(&self) -> i64 {
        self.available + self.reserved
    }

    /// Whether the available units are at or below the threshold.
    pub fn is_low(&self) -> bool {
        self.available <= self.threshold
    }
}

/// A manual move as stored, and whether this answer repeats an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The caller's reference.
    pub reference: String,
    /// The product.
    pub product_id: i64,
    /// Deduct or restore.
    pub kind: MoveKind,
    /// Units moved.
    pub quantity: i64,
    /// Available units right after the move.
    pub stock_after: i64,
    /// True when the move was applied by an earlier call with the same reference.
    pub replayed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: i64) -> Id {
        Id::new(value).unwrap()
    }

    #[test]
    fn a_move_needs_a_quantity_in_range_and_a_printable_reference() {
        let ok = StockMove::parse(MoveKind::Deduct, id(1), 1, "  inv-7  ").unwrap();
        assert_eq!(ok.reference, "inv-7");
        assert!(StockMove::parse(MoveKind::Deduct, id(1), MAX_MOVE_QUANTITY, "r").is_ok());
        for quantity in [0, -1, MAX_MOVE_QUANTITY + 1] {
            assert!(StockMove::parse(MoveKind::Restore, id(1), quantity, "r").is_err());
        }
        for reference in ["", "   ", "a\tb", "a\u{7}", &"x".repeat(101)] {
            assert!(
                StockMove::parse(MoveKind::Deduct, id(1), 1, reference).is_err(),
                "{reference:?}"
            );
        }
        assert!(StockMove::parse(MoveKind::Deduct, id(1), 1, &"é".repeat(100)).is_ok());
    }

    #[test]
    fn a_repeat_is_the_same_move_only_with_the_same_kind_product_and_quantity() {
        let m = StockMove::parse(MoveKind::Deduct, id(3), 2, "r").unwrap();
        assert!(m.is_same_as("deduct", 3, 2));
        assert!(!m.is_same_as("restore", 3, 2));
        assert!(!m.is_same_as("deduct", 4, 2));
        assert!(!m.is_same_as("deduct", 3, 1));
    }

    #[test]
    fn a_setting_changes_something_within_limits() {
        assert!(StockSetting::parse(None, None).is_ok());
        assert!(StockSetting::parse(Some(0), None).is_ok());
        assert!(StockSetting::parse(None, Some(MAX_STOCK)).is_ok());
        assert!(StockSetting::parse(Some(-1), Some(3)).is_err());
        let err = StockSetting::parse(Some(3), Some(MAX_STOCK + 1)).unwrap_err();
        assert_eq!(err.field, "low_stock_threshold");
    }

    #[test]
    fn a_level_is_low_at_or_below_its_threshold() {
        let level = Level {
            product_id: 1,
            available: 10,
            reserved: 5,
            threshold: 10,
        };
        assert_eq!(level.on_hand(), 15);
        assert!(level.is_low());
        assert!(
            !Level {
                available: 11,
                ..level
            }
            .is_low()
        );
    }
}
