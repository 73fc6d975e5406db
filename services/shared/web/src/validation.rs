//! Field rules shared by request types: bounded text and positive ids. A broken rule is a
//! [`ValidationError`], answered as `422 validation_failed` naming the field.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};

use crate::ApiError;

/// A value in a request broke a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct ValidationError {
    /// The request field, as the client spelled it.
    pub field: &'static str,
    /// What is wrong, phrased to follow the field name.
    pub problem: String,
}

impl ValidationError {
    /// A broken rule for `field`.
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::unprocessable("validation_failed", error.to_string())
    }
}

/// Trims `value` and checks it is not blank, has at most `max_chars` characters and no control
/// characters (which only ever arrive by mistake or malice).
pub fn required_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    bounded_text(field, trimmed, max_chars)
}

/// Like [`required_text`], but an empty value is allowed.
pub fn bounded_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters, got {chars}"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A resource id: a positive 64-bit integer, as PostgreSQL `bigint` identity columns hand out.
///
/// Deserializes from a path segment (`"42"`) or a JSON number (`42`); anything else, zero or a
/// negative number is rejected with a message that says what an id looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Id(i64);

impl Id {
    /// Wraps `value` when it is positive.
    pub fn new(value: i64) -> Option<Self> {
        (value > 0).then_some(Self(value))
    }

    /// The raw value, for queries.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

fn not_an_id<E: de::Error>(shown: impl fmt::Display) -> E {
    E::custom(format_args!(
        "`{shown}` is not a valid id: ids are positive whole numbers below 2^63"
    ))
}

impl Visitor<'_> for IdVisitor {
    type Value = Id;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a positive 64-bit integer id")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Id, E> {
        Id::new(value).ok_or_else(|| not_an_id(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Id, E> {
        i64::try_from(value)
            .ok()
            .and_then(Id::new)
            .ok_or_else(|| not_an_id(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Id, E> {
        value
            .parse::<i64>()
            .ok()
            .and_then(Id::new)
            .ok_or_else(|| not_an_id(value))
    }
}

impl utoipa::PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .description(Some("positive 64-bit integer id"))
            .into()
    }
}

impl utoipa::ToSchema for Id {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_by_characters_not_bytes() {
        assert_eq!(required_text("name", "  é  ", 1).unwrap(), "é");
        let err = required_text("name", &"x".repeat(201), 200).unwrap_err();
        assert_eq!(
            err.to_string(),
            "name must be at most 200 characters, got 201"
        );
    }

    #[test]
    fn blank_and_control_characters_are_rejected() {
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "a\u{0}b", 10).is_err());
        assert_eq!(bounded_text("description", "", 10).unwrap(), "");
    }

    #[test]
    fn ids_must_be_positive_and_fit_in_i64() {
        let parse = |s: &str| serde_json::from_str::<Id>(s);
        assert_eq!(parse("42").unwrap().get(), 42);
        assert_eq!(parse("\"42\"").unwrap().get(), 42);
        for bad in ["0", "-1", "99999999999999999999", "\"abc\"", "1.5", "true"] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
