//! Paying a session with a card: the session is paid or declined once, the outcome counted,
//! and its `checkout.*` event raised.

use crate::Error;
use crate::app::App;
use crate::domain::{CardNumber, CardOutcome, Event, Session, Status};

/// A card charged on a session, and what follows.
#[derive(Debug)]
pub struct Charged {
    /// What the card did.
    pub outcome: CardOutcome,
    /// The event to deliver.
    pub event: Event,
    last4: String,
}

/// Pays the open `session` with `card`; a closed one refuses, naming its status.
pub fn charge(session: &mut Session, card: &CardNumber) -> Result<Charged, Status> {
    let outcome = card.outcome();
    session.pay(outcome)?;
    Ok(Charged {
        outcome,
        event: Event::checkout(session),
        last4: card.last4().to_owned(),
    })
}

impl Charged {
    /// Counts and logs the charge (the last four digits only).
    pub fn record(&self, app: &App, session: &Session) {
        app.metrics.checkout(self.outcome);
        tracing::info!(
            session.id = %session.id,
            session.status = session.status.as_str(),
            card.last4 = %self.last4,
            "card charged"
        );
    }
}

/// Pays the session `id` with the number a buyer typed, and queues its webhook. The session is
/// checked first: unknown is 404, closed 409; an invalid number (422) leaves it open.
pub fn session(app: &App, id: &str, card_number: &str) -> Result<Session, Error> {
    let card = CardNumber::parse(card_number);
    let charged = app
        .store
        .update(id, |session| {
            if session.status != Status::Open {
                return Err(Error::SessionClosed {
                    id: session.id.clone(),
                    status: session.status,
                });
            }
            let card = card?;
            let charged = charge(session, &card).map_err(|status| Error::SessionClosed {
                id: session.id.clone(),
                status,
            })?;
            Ok((charged, session.clone()))
        })
        .ok_or_else(|| Error::SessionNotFound(id.to_owned()))?;
    let (charged, session) = charged?;
    charged.record(app, &session);
    app.webhooks.send(charged.event, app.policy());
    Ok(session)
}
