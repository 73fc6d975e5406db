//! The user domain: rules for e-mail addresses, names, passwords and postal addresses. No HTTP,
//! no SQL.

pub mod address;
mod country;

pub mod password;

pub use address::{Address, AddressInput};
pub use country::{COUNTRY_CODES, Country};
pub use microshop_domain::email::{EMAIL_PATTERN, Email, MAX_EMAIL_CHARS};
pub use password::Password;

use microshop_domain::ValidationError;
use microshop_domain::validation::required_text;

/// Longest display name (DESIGN §4).
pub const MAX_NAME_CHARS: usize = 200;

/// A registration that passed every rule.
#[derive(Debug)]
pub struct NewUser {
    /// Normalised (lower-case) address.
    pub email: Email,
    /// Trimmed display name.
    pub name: String,
    /// The plaintext password, only until it is hashed.
    pub password: Password,
}

impl NewUser {
    /// Checks every field of a registration.
    pub fn parse(email: &str, name: &str, password: String) -> Result<Self, ValidationError> {
        Ok(Self {
            email: Email::parse(email)?,
            name: required_text("name", name, MAX_NAME_CHARS)?,
            password: Password::parse(password)?,
        })
    }
}
