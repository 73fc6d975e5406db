//! [`Id`]: what PostgreSQL `bigint` identity columns hand out.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A resource id: a positive 64-bit integer.
///
/// Deserializes only from an integer (`42`): a JSON string `"42"` is refused, as the schema
/// says. Path segments and query strings reach it as integers too, because their deserializers
/// parse the text when asked for one; a segment that is not an integer fails there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Id(i64);

/// What an id looks like, for error messages.
pub const ID_RULE: &str = "ids are positive whole numbers below 2^63";

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

/// Why a text is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid id: {ID_RULE}")]
pub struct NotAnId(pub String);

impl FromStr for Id {
    type Err = NotAnId;

    fn from_str(text: &str) -> Result<Self, NotAnId> {
        text.parse::<i64>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| NotAnId(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_i64(IdVisitor)
    }
}

struct IdVisitor;

fn not_an_id<E: de::Error>(shown: impl fmt::Display) -> E {
    E::custom(NotAnId(shown.to_string()))
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

    /// `7.0` is the integer 7, as JSON Schema counts integers.
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Id, E> {
        crate::number::whole_f64(value)
            .and_then(Id::new)
            .ok_or_else(|| not_an_id(value))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        use utoipa::openapi::{KnownFormat, SchemaFormat};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(i64::MAX))
            .description(Some("positive 64-bit integer id"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Id {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_json_integers_that_fit_in_i64() {
        let parse = |s: &str| serde_json::from_str::<Id>(s);
        assert_eq!(parse("42").unwrap().get(), 42);
        assert_eq!(
            parse("42.0").unwrap().get(),
            42,
            "a whole float is an integer"
        );
        for bad in ["0", "-1", "99999999999999999999", "\"abc\"", "1.5", "true"] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn a_json_string_is_not_an_id_even_when_it_holds_digits() {
        let error = serde_json::from_str::<Id>("\"42\"").unwrap_err();
        assert!(
            error.to_string().contains("invalid type: string"),
            "{error}"
        );
    }

    #[test]
    fn text_parses_into_an_id_with_a_message_quoting_it() {
        assert_eq!("7".parse::<Id>().unwrap().get(), 7);
        let error = "abc".parse::<Id>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`abc` is not a valid id: ids are positive whole numbers below 2^63"
        );
        assert!("0".parse::<Id>().is_err());
    }
}
