//! Creating a checkout session, idempotently by key; with the `pay_on_create` test setting, the
//! new session is paid and its webhook's first attempt answered before the call returns.

use crate::app::App;
use crate::domain::{NewSession, Session};
use crate::pay;
use crate::store::Created;

/// What a create call did.
#[derive(Debug)]
pub enum Outcome {
    /// A new session.
    Created(Session),
    /// The session created earlier with the same idempotency key, as it is now.
    Replayed(Session),
}

/// Creates a session (or finds the one of `key`).
pub async fn session(app: &App, key: Option<String>, details: NewSession) -> Outcome {
    let pay_with = app.settings().pay_on_create;
    let created = app.store.create(key, details, |session| {
        pay_with
            .as_ref()
            .and_then(|card| pay::charge(session, card).ok())
    });
    let (session, charged) = match created {
        Created::Replayed(session) => return Outcome::Replayed(session),
        Created::New(session, charged) => (session, charged),
    };
    tracing::info!(
        session.id = %session.id,
        session.reference = %session.details.reference,
        amount_cents = session.details.amount_cents,
        "checkout session created"
    );
    if let Some(charged) = charged {
        charged.record(app, &session);
        app.webhooks.send_now(charged.event, app.policy()).await;
    }
    Outcome::Created(session)
}
