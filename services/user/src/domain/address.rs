//! Postal addresses of an account (DESIGN §4): the rules of each field. How many a user may
//! have and which one is the default are rules of the use case, which sees all of them.

use microshop_domain::ValidationError;
use microshop_domain::validation::{bounded_text, required_text};

use super::Country;

/// Most addresses one account may keep.
pub const MAX_ADDRESSES: i64 = 20;
/// Longest recipient name, street line and second line.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest city.
pub const MAX_CITY_CHARS: usize = 100;
/// Longest postal code (the longest in use have 10 characters).
pub const MAX_POSTAL_CODE_CHARS: usize = 16;
/// The rule of a postal code as a JSON Schema `pattern`: letters, digits, spaces and hyphens,
/// starting with a letter or digit (surrounding white space is trimmed).
pub const POSTAL_CODE_PATTERN: &str = r"^\s*[A-Za-z0-9][A-Za-z0-9 -]*\s*$";
/// Longest phone number.
pub const MAX_PHONE_CHARS: usize = 32;
/// The rule of a phone number as a JSON Schema `pattern`: blank (none), or an optional `+`
/// then at least three digits among spaces, dots, hyphens and parentheses.
pub const PHONE_PATTERN: &str = r"^\s*(\+?[ ().-]*([0-9][ ().-]*){3,})?\s*$";

/// An address whose every field passed its rule: text trimmed, blank optional fields `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Who receives parcels there.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, company, ...
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code as written in the country.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: Country,
    /// For the carrier.
    pub phone: Option<String>,
}

/// The fields of an address as a client sent them.
#[derive(Debug, Clone, Copy)]
pub struct AddressInput<'a> {
    /// See [`Address::name`].
    pub name: &'a str,
    /// See [`Address::line1`].
    pub line1: &'a str,
    /// See [`Address::line2`].
    pub line2: Option<&'a str>,
    /// See [`Address::city`].
    pub city: &'a str,
    /// See [`Address::postal_code`].
    pub postal_code: &'a str,
    /// See [`Address::country`].
    pub country: &'a str,
    /// See [`Address::phone`].
    pub phone: Option<&'a str>,
}

impl Address {
    /// Checks every field; the first broken rule names its field.
    pub fn parse(input: AddressInput<'_>) -> Result<Self, ValidationError> {
        Ok(Self {
            name: required_text("name", input.name, MAX_LINE_CHARS)?,
            line1: required_text("line1", input.line1, MAX_LINE_CHARS)?,
            line2: optional("line2", input.line2, MAX_LINE_CHARS, |v| Ok(v.to_owned()))?,
            city: required_text("city", input.city, MAX_CITY_CHARS)?,
            postal_code: postal_code(input.postal_code)?,
            country: Country::parse(input.country)?,
            phone: optional("phone", input.phone, MAX_PHONE_CHARS, phone)?,
        })
    }
}

/// `None` for an absent or blank value, else what `rule` makes of the trimmed value. The length
/// is checked as sent, blank or not: it is the API document's maxLength.
fn optional(
    field: &'static str,
    value: Option<&str>,
    max_chars: usize,
    rule: impl FnOnce(&str) -> Result<String, ValidationError>,
) -> Result<Option<String>, ValidationError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let value = bounded_text(field, value, max_chars)?;
    if value.is_empty() {
        return Ok(None);
    }
    rule(&value).map(Some)
}

fn postal_code(raw: &str) -> Result<String, ValidationError> {
    let code = required_text("postal_code", raw, MAX_POSTAL_CODE_CHARS)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == ' ' || c == '-';
    if !code.starts_with(|c: char| c.is_ascii_alphanumeric()) || !code.chars().all(allowed) {
        return Err(ValidationError::new(
            "postal_code",
            "may contain only letters, digits, spaces and hyphens, starting with a letter or digit",
        ));
    }
    Ok(code)
}

/// A phone number, already trimmed and bounded.
fn phone(value: &str) -> Result<String, ValidationError> {
    let rest = value.strip_prefix('+').unwrap_or(value);
    let allowed = |c: char| c.is_ascii_digit() || " ().-".contains(c);
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    if !rest.chars().all(allowed) || digits < 3 {
        return Err(ValidationError::new(
            "phone",
            "must be a phone number like +49 30 1234567: an optional +, then at least 3 digits \
             among spaces, dots, hyphens and parentheses",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput<'static> {
        AddressInput {
            name: " Ann Example ",
            line1: "Main Street 1",
            line2: Some("  "),
            city: "Berlin",
            postal_code: "10115",
            country: "DE",
            phone: None,
        }
    }

    #[test]
    fn fields_are_trimmed_and_blank_optional_ones_are_none() {
        let address = Address::parse(input()).unwrap();
        assert_eq!(address.name, "Ann Example");
        assert_eq!(address.line2, None);
        assert_eq!(address.phone, None);
        assert_eq!(address.country.as_str(), "DE");
        let address = Address::parse(AddressInput {
            phone: Some(" +44 (20) 7946-0958 "),
            postal_code: "SW1A 1AA",
            country: "GB",
            ..input()
        })
        .unwrap();
        assert_eq!(address.phone.as_deref(), Some("+44 (20) 7946-0958"));
        assert_eq!(address.postal_code, "SW1A 1AA");
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let long = "x".repeat(201);
        let cases = [
            (
                "name",
                AddressInput {
                    name: " ",
                    ..input()
                },
            ),
            (
                "line1",
                AddressInput {
                    line1: &long,
                    ..input()
                },
            ),
            (
                "line2",
                AddressInput {
                    line2: Some("a\u{7}b"),
                    ..input()
                },
            ),
            (
                "city",
                AddressInput {
                    city: "",
                    ..input()
                },
            ),
            (
                "postal_code",
                AddressInput {
                    postal_code: "-123",
                    ..input()
                },
            ),
            (
                "postal_code",
                AddressInput {
                    postal_code: "12345678901234567",
                    ..input()
                },
            ),
            (
                "postal_code",
                AddressInput {
                    postal_code: "10115;",
                    ..input()
                },
            ),
            (
                "country",
                AddressInput {
                    country: "de",
                    ..input()
                },
            ),
            (
                "country",
                AddressInput {
                    country: "XX",
                    ..input()
                },
            ),
            (
                "phone",
                AddressInput {
                    phone: Some("12"),
                    ..input()
                },
            ),
            (
                "phone",
                AddressInput {
                    phone: Some("call me"),
                    ..input()
                },
            ),
            (
                "phone",
                AddressInput {
                    phone: Some("++49 30 123"),
                    ..input()
                },
            ),
        ];
        for (field, case) in cases {
            let error = Address::parse(case).unwrap_err();
            assert_eq!(error.field, field, "{case:?}");
        }
    }

    #[test]
    fn lengths_count_what_was_sent_surrounding_spaces_and_blank_values_included() {
        // What the API document's maxLength says, so a fuzzer driven by it finds nothing.
        let blank_phone = " ".repeat(MAX_PHONE_CHARS + 1);
        let padded_code = format!(" 00{}", " ".repeat(MAX_POSTAL_CODE_CHARS));
        for (field, broken) in [
            (
                "phone",
                AddressInput {
                    phone: Some(&blank_phone),
                    ..input()
                },
            ),
            (
                "postal_code",
                AddressInput {
                    postal_code: &padded_code,
                    ..input()
                },
            ),
        ] {
            let error = Address::parse(broken).unwrap_err();
            assert!(error.to_string().starts_with(field), "{error}");
        }
    }
}
