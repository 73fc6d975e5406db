//! Categories: a tree of named, slugged groups of products.

use microshop_domain::ValidationError;
use microshop_domain::validation::required_text;

/// Longest category name.
pub const MAX_CATEGORY_NAME_CHARS: usize = 100;
/// Longest slug.
pub const MAX_SLUG_CHARS: usize = 100;
/// A slug as a JSON Schema `pattern`: lower-case words of letters and digits joined by single
/// hyphens (what [`Slug::parse`] accepts).
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// A category's URL name, e.g. `laptops` or `home-office`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Checks a slug the client chose.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let valid = !value.is_empty()
            && value.chars().count() <= MAX_SLUG_CHARS
            && value.split('-').all(|word| {
                !word.is_empty()
                    && word
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::new(
                "slug",
                format!(
                    "must be 1 to {MAX_SLUG_CHARS} lower-case letters or digits in words \
                     joined by single hyphens, e.g. \"home-office\""
                ),
            ))
        }
    }

    /// The slug made from a name: ASCII letters and digits lower-cased, everything else a
    /// word break. `None` when the name has no such characters (the client must then choose).
    pub fn from_name(name: &str) -> Option<Self> {
        let lowered = name.to_ascii_lowercase();
        let words: Vec<&str> = lowered
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect();
        let mut slug = String::new();
        for word in words {
            if slug.len() + word.len() + 1 > MAX_SLUG_CHARS {
                break;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            slug.push_str(word);
        }
        (!slug.is_empty()).then_some(Self(slug))
    }

    /// A slug for a name without ASCII letters or digits (`☕`): `c-` and a digest of the name,
    /// the same every time for the same name.
    pub fn digest_of(name: &str) -> Self {
        // FNV-1a: stable across processes and versions, unlike the standard library's hasher.
        let digest = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        Self(format!("c-{digest:016x}"))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category that passed every rule (a new one, or one's new state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDraft {
    /// Trimmed name.
    pub name: String,
    /// Chosen or derived slug.
    pub slug: Slug,
    /// The category it sits in; `None` for a top-level one.
    pub parent_id: Option<i64>,
}

impl CategoryDraft {
    /// Checks a category's fields; the slug is derived from the name when left out.
    pub fn parse(
        name: &str,
        slug: Option<&str>,
        parent_id: Option<i64>,
    ) -> Result<Self, ValidationError> {
        let name = required_text("name", name, MAX_CATEGORY_NAME_CHARS)?;
        let slug = match slug {
            Some(slug) => Slug::parse(slug)?,
            None => Slug::from_name(&name).unwrap_or_else(|| Slug::digest_of(&name)),
        };
        if parent_id.is_some_and(|id| id < 1) {
            return Err(ValidationError::new("parent_id", "must be a category id"));
        }
        Ok(Self {
            name,
            slug,
            parent_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_made_from_names() {
        let slug = |name| Slug::from_name(name).map(|s| s.0);
        assert_eq!(slug("Home & Office"), Some("home-office".to_owned()));
        assert_eq!(slug("  Laptops 2026 "), Some("laptops-2026".to_owned()));
        assert_eq!(slug("Café"), Some("caf".to_owned()));
        assert_eq!(slug("☕"), None);
    }

    #[test]
    fn chosen_slugs_follow_the_pattern() {
        assert!(Slug::parse("home-office").is_ok());
        for bad in [
            "",
            "Home",
            "home--office",
            "-home",
            "home-",
            "home office",
            "é",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Slug::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn a_name_without_letters_gets_a_stable_slug_unless_one_is_chosen() {
        let made = CategoryDraft::parse("☕", None, None).unwrap();
        assert!(made.slug.as_str().starts_with("c-"));
        assert!(Slug::parse(made.slug.as_str()).is_ok());
        assert_eq!(
            made.slug,
            CategoryDraft::parse("☕", None, None).unwrap().slug
        );
        let draft = CategoryDraft::parse("☕", Some("coffee"), Some(3)).unwrap();
        assert_eq!(draft.slug.as_str(), "coffee");
        assert!(CategoryDraft::parse("Tea", None, Some(0)).is_err());
    }
}
