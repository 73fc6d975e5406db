//! Card numbers as the hosted page takes them, and what the sandbox's test cards do. A number is
//! never shown whole: its `Debug` and every log line carry only the last four digits.

/// Succeeds.
pub const SUCCEEDS: &str = "4242424242424242";
/// Declined with `card_declined`.
pub const DECLINED: &str = "4000000000000002";
/// Declined with `insufficient_funds`.
pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
/// Succeeds, but every refund of the payment fails (how `refund.failed` can be provoked).
pub const REFUNDS_FAIL: &str = "4000000000005126";

/// Card numbers have 12 to 19 digits (ISO/IEC 7812).
const DIGITS: std::ops::RangeInclusive<usize> = 12..=19;

/// A card number that passed the checks: digits only, spaces and dashes removed.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl std::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardNumber(…{})", self.last4())
    }
}

/// Why a number is not a card number. The messages never repeat the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCard {
    /// Characters other than digits, spaces and dashes.
    #[error("the card number may contain only digits, spaces and dashes")]
    NotDigits,
    /// Too few or too many digits.
    #[error("a card number has 12 to 19 digits, this one has {0}")]
    Length(usize),
    /// The check digit is wrong: a typo.
    #[error("the card number is not valid (its check digit is wrong); check it for a typo")]
    Luhn,
}

/// Why a card is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    /// The issuer said no.
    CardDeclined,
    /// Not enough money on the account.
    InsufficientFunds,
}

impl Decline {
    /// The `failure_code` of sessions, webhooks and answers.
    pub fn code(self) -> &'static str {
        match self {
            Self::CardDeclined => "card_declined",
            Self::InsufficientFunds => "insufficient_funds",
        }
    }

    /// The message for the buyer.
    pub fn message(self) -> &'static str {
        match self {
            Self::CardDeclined => "Your card was declined.",
            Self::InsufficientFunds => "Your card has insufficient funds.",
        }
    }

    /// The `failure_code` back into a decline.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "card_declined" => Some(Self::CardDeclined),
            "insufficient_funds" => Some(Self::InsufficientFunds),
            _ => None,
        }
    }
}

/// What paying with a card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOutcome {
    /// Paid; `refunds_fail` for the test card whose refunds fail.
    Approved {
        /// Every refund of this payment fails.
        refunds_fail: bool,
    },
    /// Refused.
    Declined(Decline),
}

impl CardNumber {
    /// Reads what a buyer typed: spaces and dashes are ignored, the rest must be 12 to 19 digits
    /// passing the Luhn check.
    pub fn parse(input: &str) -> Result<Self, InvalidCard> {
        let mut digits = String::with_capacity(19);
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => return Err(InvalidCard::NotDigits),
            }
            if digits.len() > *DIGITS.end() {
                // A bound on the work for an absurd input; the count reported is a floor.
                return Err(InvalidCard::Length(digits.len()));
            }
        }
        if !DIGITS.contains(&digits.len()) {
            return Err(InvalidCard::Length(digits.len()));
        }
        if !luhn(&digits) {
            return Err(InvalidCard::Luhn);
        }
        Ok(Self(digits))
    }

    /// The last four digits, all that may be shown or logged.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// The digits (for the settings answer of a test control; never logged).
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// What paying with this card does (`docs/payments.md`, test cards).
    pub fn outcome(&self) -> CardOutcome {
        match self.0.as_str() {
            DECLINED => CardOutcome::Declined(Decline::CardDeclined),
            INSUFFICIENT_FUNDS => CardOutcome::Declined(Decline::InsufficientFunds),
            REFUNDS_FAIL => CardOutcome::Approved { refunds_fail: true },
            _ => CardOutcome::Approved {
                refunds_fail: false,
            },
        }
    }
}

/// The Luhn check of a string of ASCII digits.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_have_their_outcomes_and_spaces_and_dashes_are_ignored() {
        let outcome = |n: &str| CardNumber::parse(n).unwrap().outcome();
        let approved = CardOutcome::Approved {
            refunds_fail: false,
        };
        assert_eq!(outcome("4242 4242 4242 4242"), approved);
        assert_eq!(outcome("4242-4242-4242-4242"), approved);
        assert_eq!(
            outcome("4000 0000 0000 0002"),
            CardOutcome::Declined(Decline::CardDeclined)
        );
        assert_eq!(
            outcome("4000000000009995"),
            CardOutcome::Declined(Decline::InsufficientFunds)
        );
        assert_eq!(
            outcome("4000 0000 0000 5126"),
            CardOutcome::Approved { refunds_fail: true }
        );
        // Any other number passing the Luhn check succeeds.
        assert_eq!(outcome("5555 5555 5555 4444"), approved);
    }

    #[test]
    fn numbers_failing_the_checks_are_invalid() {
        assert_eq!(
            CardNumber::parse("4242 4242 4242 4241"),
            Err(InvalidCard::Luhn)
        );
        assert_eq!(CardNumber::parse("4242"), Err(InvalidCard::Length(4)));
        assert_eq!(CardNumber::parse(""), Err(InvalidCard::Length(0)));
        assert_eq!(CardNumber::parse("4242x4242"), Err(InvalidCard::NotDigits));
        assert!(matches!(
            CardNumber::parse(&"4".repeat(10_000)),
            Err(InvalidCard::Length(20))
        ));
    }

    #[test]
    fn only_the_last_four_digits_are_ever_shown() {
        let card = CardNumber::parse("4242 4242 4242 4242").unwrap();
        assert_eq!(card.last4(), "4242");
        assert_eq!(format!("{card:?}"), "CardNumber(…4242)");
    }
}
