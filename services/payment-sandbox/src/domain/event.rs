//! Webhook events (`docs/payments.md`, Webhooks): built once, with their JSON body, when a
//! session is paid or declined or a refund is made; every delivery sends the same bytes.

use serde::Serialize;

use super::refund::{Refund, RefundStatus};
use super::session::{Session, Status};
use super::{ids, unix_now};

/// One event, ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// `checkout.succeeded`, `checkout.failed`, `refund.succeeded` or `refund.failed`.
    pub kind: &'static str,
    /// The session it is about.
    pub session_id: String,
    /// The JSON body every delivery sends.
    pub body: Vec<u8>,
}

#[derive(Serialize)]
struct Wire<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    created: u64,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    session_id: &'a str,
    reference: &'a str,
    amount_cents: i64,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_reference: Option<&'a str>,
}

impl Event {
    /// `checkout.succeeded` or `checkout.failed` for a session just paid or declined.
    pub fn checkout(session: &Session) -> Self {
        let failure = session.failure.filter(|_| session.status == Status::Failed);
        let kind = if failure.is_some() {
            "checkout.failed"
        } else {
            "checkout.succeeded"
        };
        let mut data = Data::of(session);
        data.failure_code = failure.map(super::Decline::code);
        data.failure_message = failure.map(super::Decline::message);
        Self::new(kind, session, data)
    }

    /// `refund.succeeded` or `refund.failed` for a refund just made; `amount_cents` is the
    /// refund's.
    pub fn refund(session: &Session, refund: &Refund) -> Self {
        let kind = match refund.status {
            RefundStatus::Succeeded => "refund.succeeded",
            RefundStatus::Failed => "refund.failed",
        };
        let mut data = Data::of(session);
        data.amount_cents = refund.amount_cents;
        data.refund_id = Some(&refund.id);
        data.refund_reference = Some(&refund.reference);
        data.failure_message = refund.failure_message.as_deref();
        Self::new(kind, session, data)
    }

    fn new(kind: &'static str, session: &Session, data: Data<'_>) -> Self {
        let id = ids::new(ids::EVENT);
        let wire = Wire {
            id: &id,
            kind,
            created: unix_now(),
            data,
        };
        let body = serde_json::to_vec(&wire).expect("an event of strings and numbers serializes");
        Self {
            id,
            kind,
            session_id: session.id.clone(),
            body,
        }
    }
}

impl<'a> Data<'a> {
    fn of(session: &'a Session) -> Self {
        Self {
            session_id: &session.id,
            reference: &session.details.reference,
            amount_cents: session.details.amount_cents,
            currency: &session.details.currency,
            failure_code: None,
            failure_message: None,
            refund_id: None,
            refund_reference: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::{CardOutcome, Decline, NewRefund, NewSession};

    fn session(outcome: CardOutcome) -> Session {
        let details = NewSession::parse(1299, "USD", "42", None, None).unwrap();
        let mut session = Session::open(details);
        session.pay(outcome).unwrap();
        session
    }

    fn body(event: &Event) -> Value {
        serde_json::from_slice(&event.body).unwrap()
    }

    #[test]
    fn a_declined_checkout_names_its_failure() {
        let session = session(CardOutcome::Declined(Decline::InsufficientFunds));
        let event = Event::checkout(&session);
        let body = body(&event);
        assert_eq!(body["id"], event.id.as_str());
        assert_eq!(body["type"], "checkout.failed");
        assert!(body["created"].as_u64().unwrap() > 1_700_000_000);
        assert_eq!(
            body["data"],
            json!({"session_id": session.id, "reference": "42", "amount_cents": 1299,
                   "currency": "USD", "failure_code": "insufficient_funds",
                   "failure_message": "Your card has insufficient funds."})
        );
    }

    #[test]
    fn a_refund_event_carries_the_refund_amount_and_ids() {
        let mut session = session(CardOutcome::Approved {
            refunds_fail: false,
        });
        let crate::domain::Refunded::Created(refund) =
            session.refund(NewRefund::parse(500, "7").unwrap()).unwrap()
        else {
            panic!("a new refund");
        };
        let body = body(&Event::refund(&session, &refund));
        assert_eq!(body["type"], "refund.succeeded");
        assert_eq!(
            body["data"],
            json!({"session_id": session.id, "reference": "42", "amount_cents": 500,
                   "currency": "USD", "refund_id": refund.id, "refund_reference": "7"})
        );
    }
}
