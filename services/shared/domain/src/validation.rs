//! Field rules shared by the services' domain types: a broken rule is a [`ValidationError`]
//! naming the field, which the web crate answers as `422 validation_failed`.

/// A value broke a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct ValidationError {
    /// The field, as the client spelled it.
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

/// The rule of [`required_text`] as a JSON Schema `pattern` (for OpenAPI documents): at least
/// one character that is not white space, and no control characters but tab and newline.
pub const REQUIRED_TEXT_PATTERN: &str =
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";

/// The rule of [`bounded_text`] as a JSON Schema `pattern`: no control characters but tab and
/// newline.
pub const BOUNDED_TEXT_PATTERN: &str = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";

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
}
