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

/// Checks `value` has at most `max_chars` characters as sent (the limit the API document
/// states), is not blank and has no control characters (which only ever arrive by mistake or
/// malice); the trimmed value.
pub fn required_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let text = bounded_text(field, value, max_chars)?;
    if text.is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    Ok(text)
}

/// Like [`required_text`], but an empty value is allowed.
pub fn bounded_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    // Counted as sent: the schema's maxLength counts surrounding spaces too.
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters, got {chars}"),
        ));
    }
    let trimmed = value.trim();
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
    fn text_is_bounded_as_sent_by_characters_not_bytes_then_trimmed() {
        assert_eq!(required_text("name", "  é  ", 5).unwrap(), "é");
        // The API document's maxLength counts what is sent, surrounding spaces included.
        assert!(required_text("name", " é ", 2).is_err());
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
