//! A catalogue query: words, a category, a price range, availability, an order and a page.

use microshop_domain::validation::bounded_text;
use microshop_domain::{Money, Page, ValidationError};

/// Longest search text.
pub const MAX_QUERY_CHARS: usize = 200;
/// Longest `category` filter (an id or a slug).
pub const MAX_CATEGORY_FILTER_CHARS: usize = 100;

/// The order of a listing; every order ends with the product id, so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sort {
    /// Best match first (needs words to match).
    Relevance,
    /// Cheapest first.
    Price,
    /// Dearest first.
    PriceDescending,
    /// By name.
    Name,
    /// Most recently added first.
    Newest,
    /// Best rated first, unrated last.
    Rating,
    /// Oldest first: the seed's order, and the default without words.
    Oldest,
}

impl Sort {
    /// Every accepted spelling, for the API document.
    pub const NAMES: [&'static str; 7] = [
        "relevance",
        "price",
        "-price",
        "name",
        "newest",
        "rating",
        "oldest",
    ];

    fn parse(text: &str) -> Result<Self, ValidationError> {
        Ok(match text {
            "relevance" => Self::Relevance,
            "price" => Self::Price,
            "-price" => Self::PriceDescending,
            "name" => Self::Name,
            "newest" => Self::Newest,
            "rating" => Self::Rating,
            "oldest" => Self::Oldest,
            other => {
                return Err(ValidationError::new(
                    "sort",
                    format!("must be one of {}, got {other:?}", Self::NAMES.join(", ")),
                ));
            }
        })
    }
}

/// A checked catalogue query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search {
    /// Trimmed words to match, if any.
    pub words: Option<String>,
    /// A category id or slug; its sub-categories match too.
    pub category: Option<String>,
    /// Cheapest price shown.
    pub min_price: Option<Money>,
    /// Dearest price shown.
    pub max_price: Option<Money>,
    /// `Some(true)`: only products in stock; `Some(false)`: only sold-out ones.
    pub in_stock: Option<bool>,
    /// The order.
    pub sort: Sort,
    /// Which slice.
    pub page: Page,
}

/// The raw values of a catalogue query string.
#[derive(Debug, Default, Clone)]
pub struct RawSearch<'a> {
    /// `q`.
    pub q: Option<&'a str>,
    /// `category`.
    pub category: Option<&'a str>,
    /// `min_price`.
    pub min_price: Option<f64>,
    /// `max_price`.
    pub max_price: Option<f64>,
    /// `in_stock`.
    pub in_stock: Option<bool>,
    /// `sort`.
    pub sort: Option<&'a str>,
}

impl Search {
    /// Checks a query. Without words (none sent, or blank) it is a plain listing, and
    /// `relevance` falls back to the listing's order.
    pub fn parse(raw: &RawSearch<'_>, page: Page) -> Result<Self, ValidationError> {
        let words = match raw.q {
            Some(q) => Some(bounded_text("q", q, MAX_QUERY_CHARS)?).filter(|q| !q.is_empty()),
            None => None,
        };
        // No control characters: PostgreSQL refuses a NUL byte in text, which must be our 422,
        // never its error.
        let category = match raw.category {
            Some(c) => Some(bounded_text("category", c, MAX_CATEGORY_FILTER_CHARS)?)
                .filter(|c| !c.is_empty()),
            None => None,
        };
        // A minimum above the maximum is a range with nothing in it, not an error.
        let min_price = bound("min_price", raw.min_price)?;
        let max_price = bound("max_price", raw.max_price)?;
        let sort = match (raw.sort.map(Sort::parse).transpose()?, &words) {
            (Some(Sort::Relevance) | None, Some(_)) => Sort::Relevance,
            (Some(Sort::Relevance) | None, None) => Sort::Oldest,
            (Some(sort), _) => sort,
        };
        Ok(Self {
            words,
            category,
            min_price,
            max_price,
            in_stock: raw.in_stock,
            sort,
            page,
        })
    }
}

/// A price bound: 0 means none.
fn bound(field: &'static str, value: Option<f64>) -> Result<Option<Money>, ValidationError> {
    match value {
        None | Some(0.0) => Ok(None),
        Some(v) => Money::price(field, v).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        Page::new(None, None).unwrap()
    }

    #[test]
    fn a_category_filter_with_a_control_character_is_refused() {
        let raw = RawSearch {
            category: Some("comp\u{0}uters"),
            ..RawSearch::default()
        };
        let error = Search::parse(&raw, page()).unwrap_err().to_string();
        assert!(error.contains("control characters"), "{error}");
    }

    #[test]
    fn words_choose_relevance_and_their_absence_the_seed_order() {
        let raw = RawSearch {
            q: Some("  laptop "),
            ..RawSearch::default()
        };
        let search = Search::parse(&raw, page()).unwrap();
        assert_eq!(search.words.as_deref(), Some("laptop"));
        assert_eq!(search.sort, Sort::Relevance);
        let plain = Search::parse(&RawSearch::default(), page()).unwrap();
        assert_eq!(plain.sort, Sort::Oldest);
        let blank = RawSearch {
            q: Some("  "),
            sort: Some("relevance"),
            ..RawSearch::default()
        };
        let blank = Search::parse(&blank, page()).unwrap();
        assert_eq!((blank.words, blank.sort), (None, Sort::Oldest));
    }

    #[test]
    fn bad_filters_are_named() {
        let err = |raw: RawSearch<'_>| Search::parse(&raw, page()).unwrap_err().field;
        assert_eq!(
            err(RawSearch {
                sort: Some("cheap"),
                ..RawSearch::default()
            }),
            "sort"
        );
        assert_eq!(
            err(RawSearch {
                q: Some("a\u{1}b"),
                ..RawSearch::default()
            }),
            "q"
        );
        assert_eq!(
            err(RawSearch {
                max_price: Some(-1.0),
                ..RawSearch::default()
            }),
            "max_price"
        );
        let long = "x".repeat(201);
        assert_eq!(
            err(RawSearch {
                q: Some(&long),
                ..RawSearch::default()
            }),
            "q"
        );
    }
}
