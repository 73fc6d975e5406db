//! [`Page`]: which slice of a list to return.

use crate::ValidationError;

/// A validated page request: at most [`Page::MAX_LIMIT`] items from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Page {
    /// Items to return, `1..=100`.
    pub limit: i64,
    /// Items to skip, `0..=MAX_OFFSET`.
    pub offset: i64,
}

impl Page {
    /// Largest page a client may ask for.
    pub const MAX_LIMIT: i64 = 100;
    /// Page size when the client does not say.
    pub const DEFAULT_LIMIT: i64 = 20;
    /// Deepest offset: skipping rows costs the database as much as reading them, so a list is
    /// paged at most this deep.
    pub const MAX_OFFSET: i64 = 10_000;

    /// Checks the raw values; `None` means the default.
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Self, ValidationError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        let offset = offset.unwrap_or(0);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {}, got {limit}", Self::MAX_LIMIT),
            ));
        }
        if !(0..=Self::MAX_OFFSET).contains(&offset) {
            return Err(ValidationError::new(
                "offset",
                format!("must be between 0 and {}, got {offset}", Self::MAX_OFFSET),
            ));
        }
        Ok(Self { limit, offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            Page::new(None, None).unwrap(),
            Page {
                limit: 20,
                offset: 0
            }
        );
        assert!(Page::new(Some(100), Some(10_000)).is_ok());
        for (limit, offset) in [(0, 0), (101, 0), (1, -1), (1, 10_001)] {
            assert!(
                Page::new(Some(limit), Some(offset)).is_err(),
                "{limit} {offset}"
            );
        }
        assert_eq!(
            Page::new(Some(0), None).unwrap_err().to_string(),
            "limit must be between 1 and 100, got 0"
        );
    }
}
