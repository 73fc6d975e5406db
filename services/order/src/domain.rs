//! Order rules: quantities, statuses, idempotency keys and the request fingerprint of
//! idempotent retries.

use microshop_domain::{Id, ValidationError};

/// Fewest units in one order.
pub const MIN_QUANTITY: i64 = 1;
/// Most units in one order (DESIGN §4).
pub const MAX_QUANTITY: i64 = 10_000;
/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// The rule of [`IdempotencyKey::parse`] as a JSON Schema `pattern`: printable ASCII without
/// spaces.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\x21-\x7E]+$";

/// Where an order is in its saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Accepted, waiting for the product service to reserve stock.
    Pending,
    /// Stock reserved.
    Confirmed,
    /// Stock could not be reserved; `reason` says why.
    Rejected,
}

impl OrderStatus {
    /// As stored and shown: `PENDING`, `CONFIRMED`, `REJECTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Confirmed => "CONFIRMED",
            Self::Rejected => "REJECTED",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Confirmed, Self::Rejected]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A well-formed order request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Who orders.
    pub user_id: Id,
    /// What.
    pub product_id: Id,
    /// How many, `1..=10000`.
    pub quantity: i64,
}

impl NewOrder {
    /// Checks the quantity.
    pub fn parse(user_id: Id, product_id: Id, quantity: i64) -> Result<Self, ValidationError> {
        if !(MIN_QUANTITY..=MAX_QUANTITY).contains(&quantity) {
            return Err(ValidationError::new(
                "quantity",
                format!("must be between {MIN_QUANTITY} and {MAX_QUANTITY}, got {quantity}"),
            ));
        }
        Ok(Self {
            user_id,
            product_id,
            quantity,
        })
    }

    /// Identifies the request's content: a retry with the same idempotency key must carry the
    /// same fingerprint.
    pub fn fingerprint(&self) -> String {
        format!(
            "user={};product={};quantity={}",
            self.user_id, self.product_id, self.quantity
        )
    }
}

/// A client-chosen key that makes retries of a request safe: 1 to 255 printable ASCII
/// characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_IDEMPOTENCY_KEY_CHARS
            && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                "idempotency key",
                format!(
                    "must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters without spaces"
                ),
            ))
        }
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: i64) -> Id {
        Id::new(value).unwrap()
    }

    #[test]
    fn quantity_is_bounded() {
        assert!(NewOrder::parse(id(1), id(2), 1).is_ok());
        assert!(NewOrder::parse(id(1), id(2), 10_000).is_ok());
        for bad in [0, -1, 10_001] {
            assert!(NewOrder::parse(id(1), id(2), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprints_differ_when_the_request_differs() {
        let a = NewOrder::parse(id(1), id(2), 3).unwrap();
        let b = NewOrder::parse(id(1), id(2), 4).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }

    #[test]
    fn idempotency_keys_are_printable_and_bounded() {
        assert!(IdempotencyKey::parse("order-2026-11-24-0001").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
