//! `POST /api/payments/callback`: the provider's signed webhook.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use microshop_web::Json;
use microshop_web::error::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::app::App;
use crate::webhook;

/// A provider event, as docs/payments.md defines it.
#[allow(dead_code)] // the document's shape; the body is read and checked as raw bytes
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProviderEventBody {
    /// The provider's event id (`evt_...`): each is applied once.
    id: String,
    /// `checkout.succeeded`, `checkout.failed`, `refund.succeeded`, `refund.failed`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: String,
    /// When the provider created it, in unix seconds.
    created: i64,
    /// What it is about.
    data: ProviderEventData,
}

/// The session (and refund) an event is about.
#[allow(dead_code)] // the document's shape
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProviderEventData {
    /// The checkout session.
    session_id: String,
    /// The payment's id.
    reference: String,
    /// The payment's amount (checkout events) or the refund's (refund events), in cents.
    amount_cents: i64,
    /// ISO 4217.
    currency: String,
    /// Why a checkout failed (`card_declined`, `insufficient_funds`).
    failure_code: Option<String>,
    /// A failure, for a person.
    failure_message: Option<String>,
    /// The provider's refund id (refund events).
    refund_id: Option<String>,
    /// The refund's id in this service (refund events).
    refund_reference: Option<String>,
}

/// What a delivery did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// Always `true`: the provider may stop delivering this event.
    received: bool,
    /// `applied`, `duplicate` (applied before), or why it changed nothing: `stale`,
    /// `unknown_payment`, `unknown_refund`, `unhandled_type`, `amount_mismatch`,
    /// `session_mismatch`.
    #[schema(example = "applied")]
    outcome: String,
}

/// The provider reports what happened to a checkout session or a refund. Authenticated by its
/// signature, not a token: `Microshop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" under the webhook secret>`, made within 5 minutes of this service's clock.
/// Each event id is applied once; a late event never moves a payment backwards.
#[utoipa::path(post, path = "/api/payments/callback", tag = "provider",
    request_body = ProviderEventBody,
    params(("Microshop-Signature" = String, Header, description = "t=<unix seconds>,v1=<64 hex digits>")),
    responses(
        (status = 200, description = "Received (applied, or changing nothing)", body = Receipt),
        (status = 400, description = "Signed, but not a provider event", body = ErrorBody),
        (status = 401, description = "Missing, malformed, forged or stale signature: nothing changed", body = ErrorBody),
    ))]
pub async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Receipt>, Error> {
    let signature = headers
        .get(microshop_webhook::HEADER)
        .and_then(|value| value.to_str().ok());
    let received = webhook::receive(&app, signature, &body).await?;
    Ok(Json(Receipt {
        received: true,
        outcome: received.as_str().to_owned(),
    }))
}
