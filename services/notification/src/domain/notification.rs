//! A notification: on one channel, of one category, through its delivery states.

use std::time::Duration;

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// E-mail over SMTP.
    Email,
    /// A text message through the SMS provider.
    Sms,
}

impl Channel {
    /// The name in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    /// The channel named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Email, Self::Sms]
            .into_iter()
            .find(|c| c.as_str() == name)
    }
}

/// Whether a user may turn a notification off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// About the user's account or orders: always sent.
    Transactional,
    /// News and offers: not sent to users who turned marketing off.
    Marketing,
}

impl Category {
    /// The name in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transactional => "transactional",
            Self::Marketing => "marketing",
        }
    }

    /// The category named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Transactional, Self::Marketing]
            .into_iter()
            .find(|c| c.as_str() == name)
    }
}

/// Where a notification's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the sender (first attempt, or a retry after a failure).
    Queued,
    /// Handed to the transport; if the sender stops now, it is not sent again.
    Sending,
    /// Accepted by the SMTP server or the SMS provider.
    Sent,
    /// Given up after the last attempt.
    Failed,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Queued, Self::Sending, Self::Sent, Self::Failed];

    /// The name in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Sending => "SENDING",
            Self::Sent => "SENT",
            Self::Failed => "FAILED",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// How long to wait after failed attempt number `attempts` (1 for the first): `base` doubling
/// up to `max`.
pub fn retry_delay(attempts: i32, base: Duration, max: Duration) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    base.saturating_mul(2_u32.saturating_pow(exponent)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_ceiling() {
        let (base, max) = (Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(retry_delay(1, base, max), Duration::from_secs(1));
        assert_eq!(retry_delay(2, base, max), Duration::from_secs(2));
        assert_eq!(retry_delay(6, base, max), Duration::from_secs(32));
        assert_eq!(retry_delay(7, base, max), Duration::from_secs(60));
        assert_eq!(retry_delay(1_000, base, max), Duration::from_secs(60));
    }

    #[test]
    fn names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Channel::parse("sms"), Some(Channel::Sms));
        assert_eq!(Category::parse("marketing"), Some(Category::Marketing));
        assert_eq!(Channel::parse("fax"), None);
    }
}
