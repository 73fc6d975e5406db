//! A cart's hash in Redis, `{REDIS_KEY_PREFIX}cart:{user_id}`, and how it reads back:
//!
//! | field          | value                                                        |
//! |----------------|--------------------------------------------------------------|
//! | `{product_id}` | `{seq}:{quantity}`: `seq` orders the lines by first addition |
//! | `_seq`         | the last `seq` given                                         |
//! | `_at`          | the last change, milliseconds since the Unix epoch           |
//!
//! A cart whose last line goes is deleted, so a stored cart always has both `_` fields.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::domain::{Cart, Line};

/// A flat `HGETALL` answer as field-value pairs.
pub(super) fn pairs(fields: Vec<String>) -> HashMap<String, String> {
    let mut map = HashMap::with_capacity(fields.len() / 2);
    let mut fields = fields.into_iter();
    while let (Some(field), Some(value)) = (fields.next(), fields.next()) {
        map.insert(field, value);
    }
    map
}

/// A cart from its hash's fields; fields that do not parse are skipped (and logged).
pub(super) fn parse(fields: &HashMap<String, String>) -> Cart {
    let updated_at = fields
        .get("_at")
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let mut lines: Vec<(i64, Line)> = fields
        .iter()
        .filter(|(field, _)| !field.starts_with('_'))
        .filter_map(|(field, value)| {
            let line = parse_line(field, value);
            if line.is_none() {
                tracing::warn!(field, value, "a cart field does not parse; left out");
            }
            line
        })
        .collect();
    lines.sort_unstable_by_key(|(seq, line)| (*seq, line.product_id));
    Cart {
        lines: lines.into_iter().map(|(_, line)| line).collect(),
        updated_at,
    }
}

/// `(seq, line)` from `{product_id}` = `{seq}:{quantity}`.
fn parse_line(field: &str, value: &str) -> Option<(i64, Line)> {
    let product_id = field.parse().ok()?;
    let (seq, quantity) = value.split_once(':')?;
    Some((
        seq.parse().ok()?,
        Line {
            product_id,
            quantity: quantity.parse().ok()?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_reads_back_as_lines_in_the_order_first_added() {
        let fields = pairs(
            [
                "_seq",
                "3",
                "_at",
                "1700000000000",
                "9",
                "3:1",
                "4",
                "1:20",
                "7",
                "2:5",
                "x",
                "junk",
            ]
            .map(str::to_owned)
            .to_vec(),
        );
        let cart = parse(&fields);
        let lines: Vec<(i64, i64)> = cart
            .lines
            .iter()
            .map(|l| (l.product_id, l.quantity))
            .collect();
        assert_eq!(lines, [(4, 20), (7, 5), (9, 1)]);
        assert_eq!(
            cart.updated_at.map(|at| at.timestamp_millis()),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse(&HashMap::new()), Cart::default());
    }
}
