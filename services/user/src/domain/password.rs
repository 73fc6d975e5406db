//! Passwords: length rules, argon2id hashing and constant-time verification.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use microshop_domain::ValidationError;
use secrecy::{ExposeSecret, SecretString};

/// Shortest password accepted at registration.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted; bounds the hashing cost an attacker can cause.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A plaintext password that passed the length rules; never printed, never logged.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    /// Checks the length rules (counted in characters, so any script is treated alike).
    pub fn parse(raw: String) -> Result<Self, ValidationError> {
        let chars = raw.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(ValidationError::new(
                "password",
                format!(
                    "must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long, got {chars}"
                ),
            ));
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// Hashes with argon2id (19 MiB, 2 passes: OWASP's recommendation) and a random salt,
    /// returning the PHC string to store. CPU-bound: call from a blocking thread.
    pub fn hash(&self) -> Result<String, argon2::password_hash::Error> {
        let salt = SaltString::generate(&mut OsRng);
        Ok(Argon2::default()
            .hash_password(self.0.expose_secret().as_bytes(), &salt)?
            .to_string())
    }
}

/// Checks `candidate` against a stored PHC string in constant time. A malformed stored hash
/// counts as a mismatch. CPU-bound: call from a blocking thread.
pub fn verify(candidate: &SecretString, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let hash = Password::parse("correct horse".to_owned())
            .unwrap()
            .hash()
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&SecretString::from("correct horse"), &hash));
        assert!(!verify(&SecretString::from("correct horsE"), &hash));
        assert!(!verify(&SecretString::from("correct horse"), "not a hash"));
    }

    #[test]
    fn length_rules_count_characters() {
        assert!(Password::parse("short".to_owned()).is_err());
        assert!(Password::parse("ééééééé".to_owned()).is_err());
        assert!(Password::parse("éééééééé".to_owned()).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
    }
}
