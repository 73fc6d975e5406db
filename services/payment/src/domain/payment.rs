//! A payment's life: `CREATED` (stored, no checkout session yet) → `PENDING` (the buyer can pay
//! on the provider's page) → `SUCCEEDED` or `FAILED`; a succeeded payment may be refunded in
//! parts (`PARTIALLY_REFUNDED`) until `REFUNDED`. Moves only go forward: a provider event that
//! arrives late or twice leaves the payment as it is.

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PaymentStatus {
    /// Stored; the provider's checkout session is not known yet.
    Created,
    /// The buyer can pay on the provider's page.
    Pending,
    /// The provider declined the card. Final: the buyer starts a new payment.
    Failed,
    /// The provider took the money.
    Succeeded,
    /// Part of the money went back.
    PartiallyRefunded,
    /// All the money went back.
    Refunded,
}

/// What the provider says about a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A checkout session exists for it.
    SessionOpened,
    /// The money was taken.
    Succeeded,
    /// The card was declined.
    Failed,
    /// Refunds now total `refunded` of `amount` cents.
    Refunded {
        /// Refunded so far, this one included.
        refunded: i64,
        /// The payment's amount.
        amount: i64,
    },
}

impl PaymentStatus {
    /// Every status, for metrics and checks.
    pub const ALL: [Self; 6] = [
        Self::Created,
        Self::Pending,
        Self::Failed,
        Self::Succeeded,
        Self::PartiallyRefunded,
        Self::Refunded,
    ];

    /// The name in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Pending => "PENDING",
            Self::Failed => "FAILED",
            Self::Succeeded => "SUCCEEDED",
            Self::PartiallyRefunded => "PARTIALLY_REFUNDED",
            Self::Refunded => "REFUNDED",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the buyer may still pay it (one such payment per order).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Created | Self::Pending)
    }

    /// Whether the provider took money for it (refunded or not).
    pub fn took_money(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::PartiallyRefunded | Self::Refunded
        )
    }

    /// The status after `outcome`, or `None` when it changes nothing (a duplicate, or a late
    /// event the payment has moved past).
    pub fn after(self, outcome: Outcome) -> Option<Self> {
        let next = match outcome {
            Outcome::SessionOpened if self == Self::Created => Self::Pending,
            // Money taken is recorded even after a decline was reported: it must be given back
            // or kept, never lost.
            Outcome::Succeeded if self <= Self::Failed => Self::Succeeded,
            Outcome::Failed if self.is_open() => Self::Failed,
            Outcome::Refunded { refunded, amount } if self.took_money() => {
                if refunded >= amount {
                    Self::Refunded
                } else {
                    Self::PartiallyRefunded
                }
            }
            _ => return None,
        };
        (next != self).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus::*;

    #[test]
    fn a_payment_only_moves_forward() {
        assert_eq!(Created.after(Outcome::SessionOpened), Some(Pending));
        assert_eq!(Pending.after(Outcome::SessionOpened), None);
        assert_eq!(Succeeded.after(Outcome::SessionOpened), None);
        assert_eq!(Created.after(Outcome::Succeeded), Some(Succeeded));
        assert_eq!(Pending.after(Outcome::Succeeded), Some(Succeeded));
        assert_eq!(Pending.after(Outcome::Failed), Some(Failed));
        // A decline delivered after the success is stale.
        assert_eq!(Succeeded.after(Outcome::Failed), None);
        assert_eq!(Refunded.after(Outcome::Failed), None);
        // A success delivered twice, or after a refund, changes nothing.
        assert_eq!(Succeeded.after(Outcome::Succeeded), None);
        assert_eq!(PartiallyRefunded.after(Outcome::Succeeded), None);
        assert_eq!(Refunded.after(Outcome::Succeeded), None);
        assert_eq!(Failed.after(Outcome::Succeeded), Some(Succeeded));
    }

    #[test]
    fn refunds_move_to_partially_then_fully_refunded() {
        let part = Outcome::Refunded {
            refunded: 300,
            amount: 1000,
        };
        let all = Outcome::Refunded {
            refunded: 1000,
            amount: 1000,
        };
        assert_eq!(Succeeded.after(part), Some(PartiallyRefunded));
        assert_eq!(PartiallyRefunded.after(part), None);
        assert_eq!(PartiallyRefunded.after(all), Some(Refunded));
        assert_eq!(Succeeded.after(all), Some(Refunded));
        assert_eq!(Pending.after(all), None);
        assert_eq!(Failed.after(part), None);
    }

    #[test]
    fn names_round_trip() {
        for status in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(PaymentStatus::parse("paid"), None);
    }
}
