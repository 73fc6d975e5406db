//! The sandbox's rules, free of HTTP: card numbers and their outcomes, checkout sessions and
//! their refunds, webhook events, the test settings, ids and money as people read it.

pub mod card;
pub mod event;
pub mod refund;
pub mod session;
pub mod settings;

pub use card::{CardNumber, CardOutcome, Decline, InvalidCard};
pub use event::Event;
pub use refund::{NewRefund, Refund, RefundRefusal, RefundStatus, Refunded};
pub use session::{NewSession, Session, Status};
pub use settings::{ReleaseOrder, Settings};

/// Ids: a prefix naming the kind (`cs_`, `re_`, `evt_`) and 32 hex digits of a random UUID.
pub mod ids {
    /// Prefix of checkout session ids.
    pub const SESSION: &str = "cs_";
    /// Prefix of refund ids.
    pub const REFUND: &str = "re_";
    /// Prefix of webhook event ids.
    pub const EVENT: &str = "evt_";

    /// A fresh id of the kind `prefix` names.
    pub fn new(prefix: &str) -> String {
        format!("{prefix}{}", uuid::Uuid::new_v4().simple())
    }

    /// Whether `text` looks like an id of the kind `prefix` names (it may still not exist).
    pub fn is(prefix: &str, text: &str) -> bool {
        text.strip_prefix(prefix).is_some_and(|hex| {
            hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
    }
}

/// `1299` cents of `USD` as people read it: `USD 12.99` (two decimals, whatever the currency).
pub fn display_amount(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{currency} {sign}{}.{:02}", cents / 100, cents % 100)
}

/// Now, in unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_a_prefix_and_32_hex_digits() {
        let id = ids::new(ids::SESSION);
        assert!(ids::is(ids::SESSION, &id), "{id}");
        assert_eq!(id.len(), 35);
        assert!(!ids::is(ids::REFUND, &id));
        assert!(!ids::is(ids::SESSION, "cs_123"));
        assert!(!ids::is(ids::SESSION, &id.to_uppercase()));
    }

    #[test]
    fn amounts_read_as_currency_and_two_decimals() {
        assert_eq!(display_amount(1299, "USD"), "USD 12.99");
        assert_eq!(display_amount(5, "EUR"), "EUR 0.05");
        assert_eq!(display_amount(100_000, "USD"), "USD 1000.00");
    }
}
