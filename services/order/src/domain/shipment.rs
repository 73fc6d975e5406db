//! What an admin or buyer types when moving an order: a carrier's tracking number, the reason of
//! a cancellation.

use microshop_domain::ValidationError;
use microshop_domain::validation::bounded_text;

/// Longest tracking number.
pub const MAX_TRACKING_CHARS: usize = 64;
/// The rule of [`TrackingNumber::parse`] as a JSON Schema `pattern`: 4 to 64 letters, digits
/// and hyphens.
pub const TRACKING_PATTERN: &str = r"^[A-Za-z0-9-]{4,64}$";
/// Longest cancellation reason.
pub const MAX_REASON_CHARS: usize = 500;

/// A carrier's tracking number: 4 to 64 ASCII letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingNumber(String);

impl TrackingNumber {
    /// Checks `raw`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = (4..=MAX_TRACKING_CHARS).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                "tracking_number",
                format!("must be 4 to {MAX_TRACKING_CHARS} letters, digits and hyphens"),
            ))
        }
    }

    /// As given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an order is cancelled, as its buyer or an admin says it: at most 500 characters, no
/// control characters; blank means none.
pub fn cancel_reason(raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(raw) = raw else { return Ok(None) };
    let text = bounded_text("reason", raw, MAX_REASON_CHARS)?;
    Ok((!text.is_empty()).then_some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_are_short_plain_codes() {
        assert!(TrackingNumber::parse("1Z999AA10123456784").is_ok());
        assert!(TrackingNumber::parse("DHL-123").is_ok());
        for bad in ["", "abc", "with space", "ü-1234", &"9".repeat(65)] {
            assert!(TrackingNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reasons_are_bounded_and_blank_is_none() {
        assert_eq!(cancel_reason(None).unwrap(), None);
        assert_eq!(cancel_reason(Some("  ")).unwrap(), None);
        assert_eq!(
            cancel_reason(Some(" changed my mind ")).unwrap().as_deref(),
            Some("changed my mind")
        );
        assert!(cancel_reason(Some(&"x".repeat(501))).is_err());
        assert!(cancel_reason(Some("bell\u{7}")).is_err());
    }
}
