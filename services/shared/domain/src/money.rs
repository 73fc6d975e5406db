//! [`Money`]: exact integer cents inside, a plain JSON number (`12999.0`, `19.99`) outside, as the
//! seed's clients expect.

use serde::{Serialize, Serializer};

use crate::ValidationError;

/// Cheapest allowed price: one cent.
pub const MIN_PRICE_CENTS: i64 = 1;
/// Dearest allowed price: 1,000,000.00 (DESIGN §4).
pub const MAX_PRICE_CENTS: i64 = 100_000_000;

/// Largest amount [`Money::price`] looks at before rejecting (10^7): below it every `f64` with at
/// most two decimals is within 10^-6 cents of its exact value.
const MAX_DECIMAL: f64 = 1e7;

/// An exact amount of money in cents (a price, an order total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// Reads a price from a JSON number such as `19.99`: finite, at most two decimal places,
    /// between 0.01 and 1,000,000. Amounts with more decimals are rejected rather than rounded.
    pub fn price(field: &'static str, value: f64) -> Result<Self, ValidationError> {
        if !value.is_finite() {
            return Err(ValidationError::new(field, "must be a finite number"));
        }
        let out_of_range = || {
            ValidationError::new(
                field,
                format!("must be between 0.01 and 1000000, got {value}"),
            )
        };
        // The range holds for the number as sent, not only once rounded to cents: 1000000.0001
        // is over the maximum even though it rounds to it.
        #[allow(clippy::cast_precision_loss)] // both limits are exact in f64
        let (min, max) = (
            MIN_PRICE_CENTS as f64 / 100.0,
            MAX_PRICE_CENTS as f64 / 100.0,
        );
        if !(min..=max).contains(&value) || value > MAX_DECIMAL {
            return Err(out_of_range());
        }
        let scaled = value * 100.0;
        let cents = scaled.round();
        if (scaled - cents).abs() > 1e-6 {
            return Err(ValidationError::new(
                field,
                format!("must have at most two decimal places, got {value}"),
            ));
        }
        // In range 0..=1e9 after the check above, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let cents = cents as i64;
        if !(MIN_PRICE_CENTS..=MAX_PRICE_CENTS).contains(&cents) {
            return Err(out_of_range());
        }
        Ok(Self(cents))
    }

    /// Wraps cents read back from the database or an event (their constraints hold the range).
    pub fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// `quantity` times this amount, or `None` on overflow.
    pub fn times(self, quantity: i64) -> Option<Self> {
        self.0.checked_mul(quantity).map(Self)
    }

    /// The amount as a JSON-friendly number (`1999` cents → `19.99`).
    #[allow(clippy::cast_precision_loss)] // amounts stay far below 2^53 cents: exact in f64
    pub fn as_decimal(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_decimal())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Number))
            .minimum(Some(0))
            .multiple_of(Some(0.01))
            .description(Some("an exact amount with at most two decimal places"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimal_amounts_are_exact() {
        assert_eq!(Money::price("price", 19.99).unwrap().cents(), 1999);
        assert_eq!(Money::price("price", 0.01).unwrap().cents(), 1);
        assert_eq!(
            Money::price("price", 1_000_000.0).unwrap().cents(),
            100_000_000
        );
        assert_eq!(Money::price("price", 0.1 + 0.2).unwrap().cents(), 30);
    }

    #[test]
    fn serialises_like_the_seed() {
        let json = |cents| serde_json::to_string(&Money::from_cents(cents)).unwrap();
        assert_eq!(json(1_299_900), "12999.0");
        assert_eq!(json(1999), "19.99");
    }

    #[test]
    fn out_of_range_and_fractional_cents_are_rejected() {
        for bad in [
            0.0,
            -1.0,
            0.001,
            19.999,
            1_000_000.01,
            f64::NAN,
            f64::INFINITY,
            1e300,
        ] {
            assert!(
                Money::price("price", bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn totals_multiply_exactly_and_never_wrap() {
        assert_eq!(
            Money::from_cents(1999).times(3),
            Some(Money::from_cents(5997))
        );
        assert_eq!(Money::from_cents(i64::MAX).times(2), None);
    }
}
