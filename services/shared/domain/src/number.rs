//! Whole numbers in JSON as JSON Schema counts them: `3` and `3.0` are both the integer 3 (a
//! schema's `"type": "integer"` accepts both, and some clients write every number as a float).
//! `#[serde(deserialize_with = "microshop_domain::number::whole")]` on an `i64` field accepts
//! both; anything with a fraction, out of range or not a number is refused.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// Largest `f64` that converts to `i64` exactly and in range (2^63 is just past `i64::MAX`).
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// Deserializes a whole number into `i64` (see the module docs).
pub fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_i64(WholeVisitor)
}

/// Like [`whole`], for an optional field (use with `#[serde(default)]`).
pub fn whole_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    whole(deserializer).map(Some)
}

/// Like [`whole_option`], where `null` is allowed too and means none.
pub fn whole_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_option(NullableWhole)
}

struct NullableWhole;

impl<'de> Visitor<'de> for NullableWhole {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<i64>, D::Error> {
        whole(deserializer).map(Some)
    }
}

/// Like [`whole_option`], for query strings, where every value is text: `20` and `20.0` are the
/// same whole number there too.
pub fn whole_text_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_str(WholeVisitor).map(Some)
}

/// The `i64` of a whole `f64` in range, if it is one.
pub(crate) fn whole_f64(value: f64) -> Option<i64> {
    if value.fract() != 0.0 || !(-I64_LIMIT..I64_LIMIT).contains(&value) {
        return None;
    }
    // Whole and within range, checked above: the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    Some(value as i64)
}

struct WholeVisitor;

impl Visitor<'_> for WholeVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom(format_args!("{value} is too large")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        whole_f64(value).ok_or_else(|| E::custom(format_args!("{value} is not a whole number")))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<i64, E> {
        text.parse::<i64>()
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(whole_f64))
            .ok_or_else(|| E::custom(format_args!("`{text}` is not a whole number")))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::whole")]
        quantity: i64,
    }

    fn parse(json: &str) -> Result<i64, serde_json::Error> {
        serde_json::from_str::<Body>(json).map(|b| b.quantity)
    }

    #[test]
    fn integers_and_whole_floats_are_the_same_number() {
        assert_eq!(parse(r#"{"quantity": 3}"#).unwrap(), 3);
        assert_eq!(parse(r#"{"quantity": 3.0}"#).unwrap(), 3);
        assert_eq!(parse(r#"{"quantity": -2.0}"#).unwrap(), -2);
        assert_eq!(parse(r#"{"quantity": 3e2}"#).unwrap(), 300);
    }

    #[test]
    fn fractions_strings_and_huge_numbers_are_refused() {
        for bad in [
            "3.5",
            r#""3""#,
            "1e300",
            "9223372036854775808",
            "true",
            "null",
        ] {
            assert!(
                parse(&format!(r#"{{"quantity": {bad}}}"#)).is_err(),
                "{bad}"
            );
        }
    }
}
