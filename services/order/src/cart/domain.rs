//! Cart rules: how many lines and units a cart holds, and how a cart is shown against the
//! products as the order service knows them (name and price now, whether each line can be
//! ordered). No Redis, no HTTP here.

use std::collections::HashMap;
use std::hash::BuildHasher;

use chrono::{DateTime, Utc};
use microshop_domain::ValidationError;

use crate::catalog::ProductInfo;

/// Most lines (distinct products) in one cart.
pub const MAX_LINES: usize = 50;
/// Fewest units in a line.
pub const MIN_QUANTITY: i64 = 1;
/// Most units in a line, as in one order line (DESIGN §4).
pub const MAX_QUANTITY: i64 = 10_000;

/// Units of a product in a cart: `1..=10000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    /// Checks `value`.
    pub fn parse(value: i64) -> Result<Self, ValidationError> {
        if (MIN_QUANTITY..=MAX_QUANTITY).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "quantity",
                format!("must be between {MIN_QUANTITY} and {MAX_QUANTITY}, got {value}"),
            ))
        }
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// One line of a stored cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The product.
    pub product_id: i64,
    /// Units, `1..=10000`.
    pub quantity: i64,
}

/// A cart as stored: its lines in the order they were first added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cart {
    /// The lines, oldest first.
    pub lines: Vec<Line>,
    /// The last change; `None` for an empty cart (which is not stored at all).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Cart {
    /// The ids of its products, for a catalogue lookup.
    pub fn product_ids(&self) -> Vec<i64> {
        self.lines.iter().map(|line| line.product_id).collect()
    }
}

/// One line as the buyer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLine {
    /// The product.
    pub product_id: i64,
    /// Its name now; `None` when the product is unknown.
    pub name: Option<String>,
    /// Price of one unit now, in cents; `None` when the product is unknown.
    pub unit_price_cents: Option<i64>,
    /// Units in the cart.
    pub quantity: i64,
    /// `quantity * unit_price_cents`.
    pub line_total_cents: Option<i64>,
    /// Whether the line could be ordered now: the product is sold and has the units.
    pub available: bool,
    /// Units on hand as last heard (0 when the product is unknown).
    pub stock: i64,
}

/// A cart as the buyer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownCart {
    /// Every stored line, in the order first added: unknown and archived products are shown
    /// unavailable, never dropped silently.
    pub lines: Vec<ShownLine>,
    /// Units in all lines.
    pub item_count: i64,
    /// The sum of the line totals of products still sold (archived and unknown ones are left
    /// out; a line short of stock counts: stock is decided when ordering), exact in cents.
    pub subtotal_cents: i64,
    /// The last change.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Shows `cart` with the current name, price and stock of its `products`.
pub fn show<S: BuildHasher>(cart: &Cart, products: &HashMap<i64, ProductInfo, S>) -> ShownCart {
    let mut subtotal_cents = 0_i64;
    let mut item_count = 0_i64;
    let lines = cart
        .lines
        .iter()
        .map(|line| {
            item_count += line.quantity;
            let product = products.get(&line.product_id);
            // At most 10,000 units of at most 1,000,000.00: far from overflowing.
            let line_total_cents = product.map(|p| p.price_cents * line.quantity);
            if let (Some(p), Some(total)) = (product, line_total_cents) {
                if !p.archived {
                    subtotal_cents += total;
                }
            }
            ShownLine {
                product_id: line.product_id,
                name: product.map(|p| p.name.clone()),
                unit_price_cents: product.map(|p| p.price_cents),
                quantity: line.quantity,
                line_total_cents,
                available: product.is_some_and(|p| !p.archived && p.stock >= line.quantity),
                stock: product.map_or(0, |p| p.stock),
            }
        })
        .collect();
    ShownCart {
        lines,
        item_count,
        subtotal_cents,
        updated_at: cart.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: i64, price_cents: i64, stock: i64, archived: bool) -> (i64, ProductInfo) {
        (
            id,
            ProductInfo {
                id,
                name: format!("p{id}"),
                price_cents,
                stock,
                archived,
            },
        )
    }

    #[test]
    fn quantities_are_bounded() {
        assert_eq!(Quantity::parse(1).unwrap().get(), 1);
        assert_eq!(Quantity::parse(10_000).unwrap().get(), 10_000);
        for bad in [0, -1, 10_001, i64::MAX] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cart_is_shown_in_its_order_with_unknown_and_archived_lines_unavailable() {
        let cart = Cart {
            lines: vec![
                Line {
                    product_id: 3,
                    quantity: 2,
                },
                Line {
                    product_id: 1,
                    quantity: 5,
                },
                Line {
                    product_id: 9,
                    quantity: 1,
                },
                Line {
                    product_id: 4,
                    quantity: 1,
                },
            ],
            updated_at: None,
        };
        let products = HashMap::from([
            product(3, 1999, 10, false),
            product(1, 100, 4, false),
            product(4, 700, 10, true),
        ]);
        let shown = show(&cart, &products);
        let ids: Vec<i64> = shown.lines.iter().map(|l| l.product_id).collect();
        assert_eq!(ids, [3, 1, 9, 4]);
        let available: Vec<bool> = shown.lines.iter().map(|l| l.available).collect();
        assert_eq!(
            available,
            [true, false, false, false],
            "short, unknown, archived"
        );
        assert_eq!(shown.lines[0].line_total_cents, Some(3998));
        assert_eq!(shown.lines[2].name, None);
        assert_eq!(shown.lines[2].stock, 0);
        assert_eq!(shown.lines[3].name.as_deref(), Some("p4"));
        assert_eq!(shown.item_count, 9);
        assert_eq!(
            shown.subtotal_cents,
            3998 + 500,
            "archived and unknown left out"
        );
    }
}
