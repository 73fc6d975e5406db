//! What may be refunded: never more than was paid, counting the refunds already asked for that
//! the provider has not refused.

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// Asked for; the provider has not confirmed yet.
    Pending,
    /// The money went back.
    Succeeded,
    /// The provider refused it.
    Failed,
}

impl RefundStatus {
    /// The name in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// Why a refund cannot be asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefusal {
    /// Nothing was paid, or all of it is refunded or being refunded.
    #[error(
        "nothing is left to refund: {paid} cents paid, {committed} cents refunded or being refunded"
    )]
    NothingLeft {
        /// The payment's amount.
        paid: i64,
        /// Refunds succeeded or pending.
        committed: i64,
    },
    /// More than what is left.
    #[error(
        "at most {left} cents can be refunded ({paid} paid, {committed} refunded or being refunded); {asked} asked"
    )]
    TooMuch {
        /// What was asked.
        asked: i64,
        /// What is left.
        left: i64,
        /// The payment's amount.
        paid: i64,
        /// Refunds succeeded or pending.
        committed: i64,
    },
}

/// The amount to refund: `asked`, or all that is left when `None`.
pub fn refundable(paid: i64, committed: i64, asked: Option<i64>) -> Result<i64, RefundRefusal> {
    let left = paid - committed;
    if left <= 0 {
        return Err(RefundRefusal::NothingLeft { paid, committed });
    }
    match asked {
        None => Ok(left),
        Some(asked) if asked <= left => Ok(asked),
        Some(asked) => Err(RefundRefusal::TooMuch {
            asked,
            left,
            paid,
            committed,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_was_paid() {
        assert_eq!(refundable(1000, 0, None), Ok(1000));
        assert_eq!(refundable(1000, 0, Some(400)), Ok(400));
        assert_eq!(refundable(1000, 400, None), Ok(600));
        assert_eq!(refundable(1000, 400, Some(600)), Ok(600));
        assert!(matches!(
            refundable(1000, 400, Some(601)),
            Err(RefundRefusal::TooMuch { left: 600, .. })
        ));
        assert!(matches!(
            refundable(1000, 1000, None),
            Err(RefundRefusal::NothingLeft { .. })
        ));
    }
}
