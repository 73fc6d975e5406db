//! Checkout sessions: what a new one must hold, how it is paid once, and how much of it was
//! refunded.

use microshop_domain::ValidationError;
use microshop_domain::validation::{bounded_text, required_text};

use super::card::{CardOutcome, Decline};
use super::ids;
use super::refund::{Refund, RefundStatus};

/// Largest amount of a session or refund, in cents (99,999,999.99).
pub const MAX_AMOUNT_CENTS: i64 = 9_999_999_999;
/// Longest `reference` (of a session or a refund).
pub const MAX_REFERENCE_CHARS: usize = 200;
/// Longest `description`.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Longest `return_url`.
pub const MAX_RETURN_URL_CHARS: usize = 2_000;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a card.
    Open,
    /// Paid.
    Succeeded,
    /// Declined; the buyer starts a new payment.
    Failed,
}

impl Status {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// What a new session holds, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// 1 to [`MAX_AMOUNT_CENTS`].
    pub amount_cents: i64,
    /// Three upper-case letters.
    pub currency: String,
    /// The payment service's payment id.
    pub reference: String,
    /// Shown on the card page.
    pub description: Option<String>,
    /// Linked from the result page.
    pub return_url: Option<String>,
}

impl NewSession {
    /// Checks each field.
    pub fn parse(
        amount_cents: i64,
        currency: &str,
        reference: &str,
        description: Option<&str>,
        return_url: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let description = description
            .map(|text| bounded_text("description", text, MAX_DESCRIPTION_CHARS))
            .transpose()?
            .filter(|text| !text.is_empty());
        Ok(Self {
            amount_cents: amount("amount_cents", amount_cents)?,
            currency: currency_code(currency)?,
            reference: required_text("reference", reference, MAX_REFERENCE_CHARS)?,
            description,
            return_url: return_url.map(web_url).transpose()?,
        })
    }
}

/// A checkout session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `cs_…`.
    pub id: String,
    /// What it was created with.
    pub details: NewSession,
    /// Where it stands.
    pub status: Status,
    /// Why it failed.
    pub failure: Option<Decline>,
    /// Its refunds, oldest first.
    pub refunds: Vec<Refund>,
    /// Paid with the test card whose refunds fail.
    pub(super) refunds_fail: bool,
}

impl Session {
    /// A new, open session.
    pub fn open(details: NewSession) -> Self {
        Self {
            id: ids::new(ids::SESSION),
            details,
            status: Status::Open,
            failure: None,
            refunds: Vec::new(),
            refunds_fail: false,
        }
    }

    /// Refunded so far (failed refunds give nothing back).
    pub fn refunded_cents(&self) -> i64 {
        self.refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Succeeded)
            .map(|r| r.amount_cents)
            .sum()
    }

    /// Pays the session with a card's outcome; a closed session refuses, naming its status.
    pub fn pay(&mut self, outcome: CardOutcome) -> Result<(), Status> {
        if self.status != Status::Open {
            return Err(self.status);
        }
        match outcome {
            CardOutcome::Approved { refunds_fail } => {
                self.status = Status::Succeeded;
                self.refunds_fail = refunds_fail;
            }
            CardOutcome::Declined(decline) => {
                self.status = Status::Failed;
                self.failure = Some(decline);
            }
        }
        Ok(())
    }
}

pub(super) fn amount(field: &'static str, cents: i64) -> Result<i64, ValidationError> {
    if (1..=MAX_AMOUNT_CENTS).contains(&cents) {
        Ok(cents)
    } else {
        Err(ValidationError::new(
            field,
            format!("must be a whole number of cents from 1 to {MAX_AMOUNT_CENTS}, got {cents}"),
        ))
    }
}

fn currency_code(text: &str) -> Result<String, ValidationError> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err(ValidationError::new(
            "currency",
            "must be an ISO 4217 code of three letters, such as \"USD\"",
        ))
    }
}

/// An absolute `http(s)` URL without spaces or control characters (it becomes a link).
fn web_url(text: &str) -> Result<String, ValidationError> {
    let invalid = || {
        ValidationError::new(
            "return_url",
            format!(
                "must be an http:// or https:// URL of at most {MAX_RETURN_URL_CHARS} characters without spaces"
            ),
        )
    };
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let clean = !rest.is_empty()
        && !rest.starts_with('/')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if clean && text.chars().count() <= MAX_RETURN_URL_CHARS {
        Ok(text.to_owned())
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_session_checks_its_fields() {
        let ok = NewSession::parse(1299, "usd", " 42 ", Some(""), Some("https://shop/x")).unwrap();
        assert_eq!(ok.currency, "USD");
        assert_eq!(ok.reference, "42");
        assert_eq!(ok.description, None);
        for (amount, currency, reference, url, field) in [
            (0, "USD", "1", None, "amount_cents"),
            (MAX_AMOUNT_CENTS + 1, "USD", "1", None, "amount_cents"),
            (1, "US", "1", None, "currency"),
            (1, "USD", " ", None, "reference"),
            (1, "USD", "1", Some("javascript:alert(1)"), "return_url"),
            (1, "USD", "1", Some("http://a b"), "return_url"),
            (1, "USD", "1", Some("https://"), "return_url"),
        ] {
            let error = NewSession::parse(amount, currency, reference, None, url).unwrap_err();
            assert_eq!(error.field, field);
        }
    }

    #[test]
    fn a_session_is_paid_or_declined_once() {
        let mut session = Session::open(NewSession::parse(100, "USD", "1", None, None).unwrap());
        session
            .pay(CardOutcome::Declined(Decline::CardDeclined))
            .unwrap();
        assert_eq!(session.status, Status::Failed);
        assert_eq!(session.failure, Some(Decline::CardDeclined));
        let again = session.pay(CardOutcome::Approved {
            refunds_fail: false,
        });
        assert_eq!(again, Err(Status::Failed));
    }
}
