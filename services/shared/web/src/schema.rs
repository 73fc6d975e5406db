//! OpenAPI schemas that state the domain's text rules, for request fields whose type is a plain
//! `String` (`#[schema(schema_with = ...)]` takes a function without arguments, so each field
//! names a small function that calls one of these):
//!
//! ```ignore
//! #[schema(schema_with = name_schema)]
//! name: String,
//!
//! fn name_schema() -> Object { microshop_web::schema::required_text(200) }
//! ```

use microshop_domain::validation::{BOUNDED_TEXT_PATTERN, REQUIRED_TEXT_PATTERN};
use utoipa::openapi::Object;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

/// A string of 1 to `max` characters, not blank, without control characters but tab and newline
/// (`microshop_domain::validation::required_text`).
pub fn required_text(max: usize) -> Object {
    text(REQUIRED_TEXT_PATTERN, 1, max)
}

/// A string of at most `max` characters without control characters but tab and newline
/// (`microshop_domain::validation::bounded_text`).
pub fn bounded_text(max: usize) -> Object {
    text(BOUNDED_TEXT_PATTERN, 0, max)
}

/// A string of `min` to `max` characters matching `pattern`.
pub fn text(pattern: &str, min: usize, max: usize) -> Object {
    text_of(SchemaType::new(Type::String), pattern, min, max)
}

/// Like [`text`], or `null` (an `Option<String>` field).
pub fn text_or_null(pattern: &str, min: usize, max: usize) -> Object {
    text_of(
        SchemaType::from_iter([Type::String, Type::Null]),
        pattern,
        min,
        max,
    )
}

fn text_of(types: SchemaType, pattern: &str, min: usize, max: usize) -> Object {
    ObjectBuilder::new()
        .schema_type(types)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .build()
}
