//! The sandbox's test controls (`PUT /v1/test/settings`): how many times each event is
//! delivered, whether events are held back, and whether new sessions are paid on creation.

use microshop_domain::ValidationError;

use super::card::CardNumber;

/// Most copies of one event.
pub const MAX_DUPLICATES: i64 = 20;

/// The current test settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Each event is delivered this many times (1 to [`MAX_DUPLICATES`]).
    pub duplicates: u32,
    /// Events are kept instead of sent, until released.
    pub hold: bool,
    /// New sessions are paid with this card before the create call is answered.
    pub pay_on_create: Option<CardNumber>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            duplicates: 1,
            hold: false,
            pay_on_create: None,
        }
    }
}

impl Settings {
    /// Checks each field.
    pub fn parse(
        duplicates: i64,
        hold: bool,
        pay_on_create: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let duplicates = u32::try_from(duplicates)
            .ok()
            .filter(|n| (1..=MAX_DUPLICATES).contains(&i64::from(*n)))
            .ok_or_else(|| {
                ValidationError::new(
                    "duplicates",
                    format!("must be from 1 to {MAX_DUPLICATES}, got {duplicates}"),
                )
            })?;
        let pay_on_create = pay_on_create
            .map(CardNumber::parse)
            .transpose()
            .map_err(|invalid| ValidationError::new("pay_on_create", invalid.to_string()))?;
        Ok(Self {
            duplicates,
            hold,
            pay_on_create,
        })
    }
}

/// In which order `POST /v1/test/release` sends the held events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReleaseOrder {
    /// The order they were raised in.
    #[default]
    Sent,
    /// The newest first.
    Reversed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_check_their_bounds_and_card() {
        assert!(Settings::parse(20, true, Some("4242 4242 4242 4242")).is_ok());
        assert_eq!(
            Settings::parse(0, false, None).unwrap_err().field,
            "duplicates"
        );
        assert_eq!(
            Settings::parse(21, false, None).unwrap_err().field,
            "duplicates"
        );
        let error = Settings::parse(1, false, Some("4242 4242 4242 4241")).unwrap_err();
        assert_eq!(error.field, "pay_on_create");
    }
}
