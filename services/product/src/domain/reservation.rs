//! An order's reservation: its lines (a product named twice is one line with the summed
//! quantity), where it stands, and why a line cannot be served, in words for a person.

use std::fmt;

/// One product of an order and its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// The product.
    pub product_id: i64,
    /// Units.
    pub quantity: i64,
}

/// The lines of an order as reserved: one per product, in the order each product first
/// appears, its quantities summed (saturating: an absurd sum is as short as it gets).
pub fn merge(lines: impl IntoIterator<Item = Line>) -> Vec<Line> {
    let mut merged: Vec<Line> = Vec::new();
    for line in lines {
        match merged.iter_mut().find(|m| m.product_id == line.product_id) {
            Some(earlier) => earlier.quantity = earlier.quantity.saturating_add(line.quantity),
            None => merged.push(line),
        }
    }
    merged
}

/// Where an order's reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationState {
    /// The units are taken for the order.
    Held,
    /// They were given back.
    Released,
    /// The order was cancelled before any stock was taken: none ever will be.
    Cancelled,
    /// The order shipped: its units left the warehouse for good.
    Fulfilled,
}

impl ReservationState {
    /// The stored name, or `None` for a name this version does not know.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "held" => Some(Self::Held),
            "released" => Some(Self::Released),
            "cancelled" => Some(Self::Cancelled),
            "fulfilled" => Some(Self::Fulfilled),
            _ => None,
        }
    }

    /// `held`, `released`, `cancelled` or `fulfilled`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Released => "released",
            Self::Cancelled => "cancelled",
            Self::Fulfilled => "fulfilled",
        }
    }

    /// Whether the order counts as reserved: its units were taken and not given back.
    pub fn is_reserved(self) -> bool {
        matches!(self, Self::Held | Self::Fulfilled)
    }
}

/// Why a line cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// It asks for fewer than one unit.
    BadQuantity,
    /// No such product.
    NoSuchProduct,
    /// The product is archived: no longer sold.
    NoLongerSold,
    /// Fewer units are available than asked for.
    TooFew,
}

/// A line that cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortLine {
    /// The product.
    pub product_id: i64,
    /// Units asked for.
    pub requested: i64,
    /// Units available (0 when the product does not exist or is no longer sold).
    pub available: i64,
    /// Why.
    pub shortfall: Shortfall,
}

impl fmt::Display for ShortLine {
    /// For a person, e.g. "only 1 left of product 7, 3 requested".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let product = self.product_id;
        match self.shortfall {
            Shortfall::BadQuantity => write!(
                f,
                "the quantity of product {product} must be at least 1, got {}",
                self.requested
            ),
            Shortfall::NoSuchProduct => write!(f, "product {product} does not exist"),
            Shortfall::NoLongerSold => write!(f, "product {product} is no longer sold"),
            Shortfall::TooFew => write!(
                f,
                "only {} left of product {product}, {} requested",
                self.available, self.requested
            ),
        }
    }
}

/// Why an order of `lines` lines cannot be served, in one sentence for a person: its `short`
/// lines, each with its own reason ("2 of 3 lines cannot be served: only 1 left of product 7,
/// 3 requested; product 9 is no longer sold"); an order of one line is its line's reason alone.
pub fn rejection(short: &[ShortLine], lines: usize) -> String {
    if lines == 0 {
        return "the order has no lines".to_owned();
    }
    let reasons: Vec<String> = short.iter().map(ToString::to_string).collect();
    if lines == 1 {
        return reasons.join("; ");
    }
    format!(
        "{} of {lines} lines cannot be served: {}",
        short.len(),
        reasons.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product_id: i64, quantity: i64) -> Line {
        Line {
            product_id,
            quantity,
        }
    }

    fn short(product_id: i64, requested: i64, available: i64, shortfall: Shortfall) -> ShortLine {
        ShortLine {
            product_id,
            requested,
            available,
            shortfall,
        }
    }

    #[test]
    fn a_product_named_twice_is_one_line_with_the_summed_quantity() {
        assert_eq!(
            merge([line(7, 1), line(3, 2), line(7, 4)]),
            [line(7, 5), line(3, 2)]
        );
        assert_eq!(merge([line(1, i64::MAX), line(1, 1)]), [line(1, i64::MAX)]);
        assert!(merge([]).is_empty());
    }

    #[test]
    fn states_read_back_what_they_store() {
        for state in [
            ReservationState::Held,
            ReservationState::Released,
            ReservationState::Cancelled,
            ReservationState::Fulfilled,
        ] {
            assert_eq!(ReservationState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ReservationState::parse("lost"), None);
        assert!(ReservationState::Fulfilled.is_reserved());
        assert!(!ReservationState::Cancelled.is_reserved());
    }

    #[test]
    fn the_rejection_names_each_short_line_in_one_sentence() {
        let lines = [
            short(7, 3, 1, Shortfall::TooFew),
            short(9, 1, 0, Shortfall::NoLongerSold),
        ];
        assert_eq!(
            rejection(&lines, 3),
            "2 of 3 lines cannot be served: only 1 left of product 7, 3 requested; \
             product 9 is no longer sold"
        );
        assert_eq!(
            rejection(&[short(4242, 1, 0, Shortfall::NoSuchProduct)], 1),
            "product 4242 does not exist"
        );
        assert_eq!(
            rejection(&[short(5, 0, 0, Shortfall::BadQuantity)], 2),
            "1 of 2 lines cannot be served: the quantity of product 5 must be at least 1, got 0"
        );
        assert_eq!(rejection(&[], 0), "the order has no lines");
    }
}
