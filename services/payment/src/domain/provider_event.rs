//! The provider's events, as its webhook delivers them (docs/payments.md): what happened to a
//! checkout session or a refund, naming our payment by the session's `reference`.

use serde::Deserialize;

/// Longest provider event id, session id or code kept.
const MAX_ID_CHARS: usize = 255;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEventKind {
    /// `checkout.succeeded`: the money was taken.
    CheckoutSucceeded,
    /// `checkout.failed`: the card was declined.
    CheckoutFailed {
        /// e.g. `card_declined`, `insufficient_funds`.
        code: String,
        /// For a person.
        message: String,
    },
    /// `refund.succeeded`: a refund's money went back.
    RefundSucceeded {
        /// The provider's refund id.
        provider_refund_id: String,
        /// Our refund, from `refund_reference`.
        refund_id: Option<i64>,
    },
    /// `refund.failed`: the provider refused a refund.
    RefundFailed {
        /// The provider's refund id.
        provider_refund_id: String,
        /// Our refund, from `refund_reference`.
        refund_id: Option<i64>,
        /// For a person.
        message: String,
    },
    /// A type this service does not act on.
    Other(String),
}

/// One provider event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The provider's event id: each is applied once.
    pub id: String,
    /// Its type, as sent.
    pub event_type: String,
    /// When the provider created it (unix seconds).
    pub created: i64,
    /// The checkout session.
    pub session_id: String,
    /// Our payment, from the session's `reference` (`None` when it is not one of ours).
    pub payment_id: Option<i64>,
    /// The payment's amount (a checkout event) or the refund's (a refund event), in cents.
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// What happened.
    pub kind: ProviderEventKind,
}

#[derive(Deserialize)]
struct Wire {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: WireData,
}

#[derive(Deserialize)]
struct WireData {
    session_id: String,
    reference: String,
    amount_cents: i64,
    currency: String,
    #[serde(default)]
    failure_code: Option<String>,
    #[serde(default)]
    failure_message: Option<String>,
    #[serde(default)]
    refund_id: Option<String>,
    #[serde(default)]
    refund_reference: Option<String>,
}

/// A positive id written in decimal, as our references are.
fn our_id(reference: &str) -> Option<i64> {
    reference.parse::<i64>().ok().filter(|id| *id > 0)
}

impl ProviderEvent {
    /// Reads a webhook's body; what is wrong with it otherwise.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let wire: Wire = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let data = wire.data;
        for (field, value) in [("id", &wire.id), ("data.session_id", &data.session_id)] {
            if value.is_empty() || value.chars().count() > MAX_ID_CHARS {
                return Err(format!("{field} must have 1 to {MAX_ID_CHARS} characters"));
            }
        }
        let refund = || {
            data.refund_id
                .clone()
                .ok_or_else(|| "a refund event needs data.refund_id".to_owned())
        };
        let refund_reference = data.refund_reference.as_deref().and_then(our_id);
        let kind = match wire.kind.as_str() {
            "checkout.succeeded" => ProviderEventKind::CheckoutSucceeded,
            "checkout.failed" => ProviderEventKind::CheckoutFailed {
                code: data
                    .failure_code
                    .clone()
                    .unwrap_or_else(|| "declined".to_owned()),
                message: data
                    .failure_message
                    .clone()
                    .unwrap_or_else(|| "the card was declined".to_owned()),
            },
            "refund.succeeded" => ProviderEventKind::RefundSucceeded {
                provider_refund_id: refund()?,
                refund_id: refund_reference,
            },
            "refund.failed" => ProviderEventKind::RefundFailed {
                provider_refund_id: refund()?,
                refund_id: refund_reference,
                message: data
                    .failure_message
                    .clone()
                    .unwrap_or_else(|| "the provider refused the refund".to_owned()),
            },
            other => ProviderEventKind::Other(other.to_owned()),
        };
        Ok(Self {
            id: wire.id,
            event_type: wire.kind,
            created: wire.created,
            session_id: data.session_id,
            payment_id: our_id(&data.reference),
            amount_cents: data.amount_cents,
            currency: data.currency,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_contract_s_events() {
        let event = ProviderEvent::parse(
            br#"{"id":"evt_1","type":"checkout.succeeded","created":1765100000,
                 "data":{"session_id":"cs_1","reference":"42","amount_cents":1299,"currency":"USD"}}"#,
        )
        .unwrap();
        assert_eq!(event.payment_id, Some(42));
        assert_eq!(event.kind, ProviderEventKind::CheckoutSucceeded);
        let refund = ProviderEvent::parse(
            br#"{"id":"evt_2","type":"refund.succeeded","created":1,
                 "data":{"session_id":"cs_1","reference":"42","amount_cents":500,"currency":"USD",
                         "refund_id":"re_1","refund_reference":"7"}}"#,
        )
        .unwrap();
        assert_eq!(
            refund.kind,
            ProviderEventKind::RefundSucceeded {
                provider_refund_id: "re_1".into(),
                refund_id: Some(7)
            }
        );
    }

    #[test]
    fn foreign_references_and_bad_bodies_are_told_apart() {
        let event = ProviderEvent::parse(
            br#"{"id":"evt_1","type":"checkout.succeeded","created":1,
                 "data":{"session_id":"cs_1","reference":"order-9","amount_cents":1,"currency":"USD"}}"#,
        )
        .unwrap();
        assert_eq!(event.payment_id, None);
        assert!(ProviderEvent::parse(b"{}").is_err());
        assert!(
            ProviderEvent::parse(
                br#"{"id":"evt_1","type":"refund.failed","created":1,
                 "data":{"session_id":"cs_1","reference":"1","amount_cents":1,"currency":"USD"}}"#
            )
            .is_err()
        );
    }
}
