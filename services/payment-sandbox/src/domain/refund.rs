//! Refunds of a paid session: part or the rest of what was paid, once per reference; the test
//! card whose refunds fail makes failed ones.

use microshop_domain::ValidationError;
use microshop_domain::validation::required_text;

use super::ids;
use super::session::{MAX_REFERENCE_CHARS, Session, Status, amount};

/// Most refunds (succeeded or failed) one session keeps.
pub const MAX_REFUNDS: usize = 1_000;

/// A refund asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// 1 to [`MAX_AMOUNT_CENTS`](super::session::MAX_AMOUNT_CENTS).
    pub amount_cents: i64,
    /// The payment service's refund id; one refund per reference and session.
    pub reference: String,
}

impl NewRefund {
    /// Checks each field.
    pub fn parse(amount_cents: i64, reference: &str) -> Result<Self, ValidationError> {
        Ok(Self {
            amount_cents: amount("amount_cents", amount_cents)?,
            reference: required_text("reference", reference, MAX_REFERENCE_CHARS)?,
        })
    }
}

/// How a refund ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// The money went back.
    Succeeded,
    /// The money did not go back; `failure_message` says why.
    Failed,
}

impl RefundStatus {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// A refund of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// Its session.
    pub session_id: String,
    /// How much.
    pub amount_cents: i64,
    /// The payment service's refund id.
    pub reference: String,
    /// How it ended.
    pub status: RefundStatus,
    /// Why it failed.
    pub failure_message: Option<String>,
}

/// What a refund request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refunded {
    /// A new refund.
    Created(Refund),
    /// The refund already made for this reference.
    Known(Refund),
}

/// Why a session cannot be refunded as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    /// The session is open or failed.
    NotPaid(Status),
    /// More than was paid and not yet refunded.
    AmountTooLarge {
        /// Asked for.
        requested: i64,
        /// What is left.
        refundable: i64,
    },
    /// The session has [`MAX_REFUNDS`] refunds.
    TooMany,
}

impl Session {
    /// Refunds part or the rest of a paid session, once per reference.
    pub fn refund(&mut self, new: NewRefund) -> Result<Refunded, RefundRefusal> {
        if let Some(known) = self.refunds.iter().find(|r| r.reference == new.reference) {
            return Ok(Refunded::Known(known.clone()));
        }
        if self.status != Status::Succeeded {
            return Err(RefundRefusal::NotPaid(self.status));
        }
        let refundable = self.details.amount_cents - self.refunded_cents();
        if new.amount_cents > refundable {
            return Err(RefundRefusal::AmountTooLarge {
                requested: new.amount_cents,
                refundable,
            });
        }
        if self.refunds.len() >= MAX_REFUNDS {
            return Err(RefundRefusal::TooMany);
        }
        let (status, failure_message) = if self.refunds_fail {
            let why = "The card's issuer refused the refund (test card 4000 0000 0000 5126).";
            (RefundStatus::Failed, Some(why.to_owned()))
        } else {
            (RefundStatus::Succeeded, None)
        };
        let refund = Refund {
            id: ids::new(ids::REFUND),
            session_id: self.id.clone(),
            amount_cents: new.amount_cents,
            reference: new.reference,
            status,
            failure_message,
        };
        self.refunds.push(refund.clone());
        Ok(Refunded::Created(refund))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CardOutcome, NewSession};

    fn paid(amount_cents: i64, refunds_fail: bool) -> Session {
        let details = NewSession::parse(amount_cents, "usd", "42", None, None).unwrap();
        let mut session = Session::open(details);
        session.pay(CardOutcome::Approved { refunds_fail }).unwrap();
        session
    }

    fn refund(
        session: &mut Session,
        cents: i64,
        reference: &str,
    ) -> Result<Refunded, RefundRefusal> {
        session.refund(NewRefund::parse(cents, reference).unwrap())
    }

    #[test]
    fn refunds_add_up_to_the_amount_paid_once_per_reference() {
        let mut session = paid(1000, false);
        let Ok(Refunded::Created(first)) = refund(&mut session, 400, "a") else {
            panic!("refunded");
        };
        assert!(matches!(refund(&mut session, 400, "a"), Ok(Refunded::Known(r)) if r == first));
        assert_eq!(
            refund(&mut session, 601, "b"),
            Err(RefundRefusal::AmountTooLarge {
                requested: 601,
                refundable: 600
            })
        );
        assert!(matches!(
            refund(&mut session, 600, "b"),
            Ok(Refunded::Created(_))
        ));
        assert_eq!(session.refunded_cents(), 1000);
    }

    #[test]
    fn an_unpaid_session_cannot_be_refunded_and_some_cards_refuse_refunds() {
        let mut open = Session::open(NewSession::parse(100, "USD", "1", None, None).unwrap());
        assert_eq!(
            refund(&mut open, 1, "a"),
            Err(RefundRefusal::NotPaid(Status::Open))
        );
        let mut session = paid(1000, true);
        let Ok(Refunded::Created(failed)) = refund(&mut session, 1000, "a") else {
            panic!("answered");
        };
        assert_eq!(failed.status, RefundStatus::Failed);
        assert!(failed.failure_message.is_some());
        assert_eq!(session.refunded_cents(), 0);
    }
}
