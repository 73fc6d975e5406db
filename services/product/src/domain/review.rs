//! Reviews: a rating of 1 to 5 and a text of at most 2,000 characters, and what a review write
//! does to its product's rating totals.

use microshop_domain::ValidationError;
use microshop_domain::validation::bounded_text;

/// Lowest rating.
pub const MIN_RATING: i64 = 1;
/// Highest rating.
pub const MAX_RATING: i64 = 5;
/// Longest review text, counted in characters as sent.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// A rating, `MIN_RATING..=MAX_RATING` stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating(i16);

impl Rating {
    /// Checks `value` is a whole number of stars from 1 to 5.
    pub fn parse(value: i64) -> Result<Self, ValidationError> {
        if !(MIN_RATING..=MAX_RATING).contains(&value) {
            return Err(ValidationError::new(
                "rating",
                format!("must be between {MIN_RATING} and {MAX_RATING}, got {value}"),
            ));
        }
        let stars = i16::try_from(value).expect("1 to 5 fits in i16, checked above");
        Ok(Self(stars))
    }

    /// The stars, as stored.
    pub fn get(self) -> i16 {
        self.0
    }
}

/// A review's content that passed every rule: what a post or an edit writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewContent {
    /// The stars.
    pub rating: Rating,
    /// Trimmed text, possibly empty.
    pub text: String,
}

impl ReviewContent {
    /// Checks the rating and the text (at most [`MAX_TEXT_CHARS`] as sent, no control
    /// characters but tab and newline; trimmed).
    pub fn parse(rating: i64, text: &str) -> Result<Self, ValidationError> {
        Ok(Self {
            rating: Rating::parse(rating)?,
            text: bounded_text("text", text, MAX_TEXT_CHARS)?,
        })
    }
}

/// What one review write adds to its product's `rating_sum` and `rating_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatingDelta {
    /// Added to `rating_sum`.
    pub sum: i64,
    /// Added to `rating_count`.
    pub count: i64,
}

impl RatingDelta {
    /// A new review rated `rating`.
    pub fn posted(rating: i16) -> Self {
        Self {
            sum: i64::from(rating),
            count: 1,
        }
    }

    /// A review's rating changed from `old` to `new`.
    pub fn edited(old: i16, new: i16) -> Self {
        Self {
            sum: i64::from(new) - i64::from(old),
            count: 0,
        }
    }

    /// A review rated `rating` was deleted.
    pub fn deleted(rating: i16) -> Self {
        Self {
            sum: -i64::from(rating),
            count: -1,
        }
    }

    /// Whether the totals stay as they are.
    pub fn is_zero(self) -> bool {
        self.sum == 0 && self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_whole_stars_from_one_to_five() {
        assert_eq!(Rating::parse(1).unwrap().get(), 1);
        assert_eq!(Rating::parse(5).unwrap().get(), 5);
        for bad in [0, 6, -1, i64::MAX] {
            assert!(Rating::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Rating::parse(6).unwrap_err().to_string(),
            "rating must be between 1 and 5, got 6"
        );
    }

    #[test]
    fn text_may_be_empty_is_trimmed_and_is_bounded_as_sent() {
        assert_eq!(ReviewContent::parse(3, "").unwrap().text, "");
        assert_eq!(ReviewContent::parse(3, "  ok \n").unwrap().text, "ok");
        assert!(ReviewContent::parse(3, &"x".repeat(MAX_TEXT_CHARS)).is_ok());
        let error = ReviewContent::parse(3, &"é".repeat(MAX_TEXT_CHARS + 1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "text must be at most 2000 characters, got 2001"
        );
        assert!(ReviewContent::parse(3, "a\u{0}b").is_err());
    }

    #[test]
    fn deltas_keep_the_totals_equal_to_the_reviews() {
        let totals = [
            RatingDelta::posted(4),
            RatingDelta::edited(4, 2),
            RatingDelta::posted(5),
            RatingDelta::deleted(2),
        ]
        .iter()
        .fold((0, 0), |(sum, count), delta| {
            (sum + delta.sum, count + delta.count)
        });
        assert_eq!(totals, (5, 1));
        assert!(RatingDelta::edited(3, 3).is_zero());
    }
}
