//! Refunding part or the rest of a paid session, once per reference, and raising its
//! `refund.*` event.

use crate::Error;
use crate::app::App;
use crate::domain::{Event, NewRefund, RefundRefusal, Refunded};

/// Refunds `new` of the session `session_id`.
pub fn session(app: &App, session_id: &str, new: NewRefund) -> Result<Refunded, Error> {
    let (refunded, event) = app
        .store
        .update(session_id, |session| {
            let refunded = session.refund(new).map_err(|refusal| match refusal {
                RefundRefusal::NotPaid(status) => Error::SessionNotPaid {
                    id: session.id.clone(),
                    status,
                },
                RefundRefusal::AmountTooLarge {
                    requested,
                    refundable,
                } => Error::AmountTooLarge {
                    requested,
                    refundable,
                },
                RefundRefusal::TooMany => Error::TooManyRefunds(session.id.clone()),
            })?;
            let event = match &refunded {
                Refunded::Created(refund) => Some(Event::refund(session, refund)),
                Refunded::Known(_) => None,
            };
            Ok::<_, Error>((refunded, event))
        })
        .ok_or_else(|| Error::SessionNotFound(session_id.to_owned()))??;
    if let (Some(event), Refunded::Created(refund)) = (event, &refunded) {
        tracing::info!(
            session.id = %session_id,
            refund.id = %refund.id,
            refund.status = refund.status.as_str(),
            amount_cents = refund.amount_cents,
            "refund made"
        );
        app.webhooks.send(event, app.policy());
    }
    Ok(refunded)
}
