//! E-mail addresses: what the shop accepts and how it normalises them.

use crate::ValidationError;

/// Longest address (RFC 5321 path limit, DESIGN §4).
pub const MAX_EMAIL_CHARS: usize = 254;

/// The rule of [`Email::parse`] as a JSON Schema `pattern` (for the OpenAPI document): one `@`,
/// 1 to 64 characters before it, dot-separated non-empty labels after it, no white space or
/// control characters.
pub const EMAIL_PATTERN: &str =
    r"^[^@\s\x00-\x1F\x7F-\x9F]{1,64}@[^@.\s\x00-\x1F\x7F-\x9F]+(\.[^@.\s\x00-\x1F\x7F-\x9F]+)*$";

/// A plausible e-mail address, trimmed and lower-cased so that `Ann@Example.com` and
/// `ann@example.com` are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain` with no spaces, a non-empty local part of at most 64 characters
    /// and a domain of dot-separated non-empty labels. Deliverability is not checked here.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = |problem: &str| ValidationError::new("email", problem.to_owned());
        // Lengths are those of the address as sent (lower-casing can lengthen a few letters).
        let trimmed = raw.trim();
        let email = trimmed.to_lowercase();
        let chars = trimmed.chars().count();
        if chars > MAX_EMAIL_CHARS {
            return Err(ValidationError::new(
                "email",
                format!("must be at most {MAX_EMAIL_CHARS} characters, got {chars}"),
            ));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid(
                "must be an address like ann@example.com (no `@` found)",
            ));
        };
        let local_chars = trimmed
            .split_once('@')
            .map_or(0, |(l, _)| l.chars().count());
        if local.is_empty() || local_chars > 64 {
            return Err(invalid("must have 1 to 64 characters before the `@`"));
        }
        if domain.is_empty() || domain.contains('@') || domain.split('.').any(str::is_empty) {
            return Err(invalid("must have a domain like example.com after the `@`"));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn implausible_addresses_are_rejected() {
        let too_long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@@example.com",
            "ann@example..com",
            "ann @example.com",
            "ann@.com",
            too_long.as_str(),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
