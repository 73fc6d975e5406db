//! `/v1/test/...`: the sandbox's test controls (duplicates, holding and releasing events,
//! paying on create) and the record of every delivery.

use axum::extract::State;
use microshop_web::Json;
use microshop_web::error::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Provider;
use crate::Error;
use crate::app::App;
use crate::domain::{ReleaseOrder, Settings};
use crate::webhooks::Record;

fn one() -> i64 {
    1
}

/// Body of `PUT /v1/test/settings`; a field left out takes its default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// Every event is delivered this many times, each copy signed and retried on its own.
    #[serde(default = "one", deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 20, default = 1)]
    duplicates: i64,
    /// Events are kept instead of sent until `POST /v1/test/release`.
    #[serde(default)]
    hold: bool,
    /// A card that pays every new session before the create call is answered (null: none).
    #[serde(default)]
    #[schema(example = "4242 4242 4242 4242")]
    pay_on_create: Option<String>,
}

/// The settings in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    duplicates: u32,
    hold: bool,
    /// The card's digits, or null.
    pay_on_create: Option<String>,
}

impl From<Settings> for SettingsResponse {
    fn from(settings: Settings) -> Self {
        Self {
            duplicates: settings.duplicates,
            hold: settings.hold,
            pay_on_create: settings.pay_on_create.map(|card| card.digits().to_owned()),
        }
    }
}

/// Replaces the test settings (events already raised keep the settings of their time).
#[utoipa::path(put, path = "/v1/test/settings", tag = "test", request_body = SettingsRequest,
    security(("providerApiKey" = [])),
    responses(
        (status = 200, body = SettingsResponse),
        (status = 401, description = "No API key, or not the sandbox's", body = ErrorBody),
        (status = 422, description = "`duplicates` out of range or `pay_on_create` not a valid card number", body = ErrorBody),
    ))]
pub async fn put_settings(
    State(app): State<App>,
    _: Provider,
    Json(body): Json<SettingsRequest>,
) -> Result<Json<SettingsResponse>, Error> {
    let settings = Settings::parse(body.duplicates, body.hold, body.pay_on_create.as_deref())?;
    app.set_settings(settings.clone());
    tracing::info!(
        duplicates = settings.duplicates,
        hold = settings.hold,
        pay_on_create = settings.pay_on_create.is_some(),
        "test settings changed"
    );
    Ok(Json(settings.into()))
}

/// The order of a release.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseOrderRequest {
    /// The order the events were raised in.
    #[default]
    Sent,
    /// The newest first.
    Reversed,
}

/// Body of `POST /v1/test/release` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    #[serde(default)]
    order: ReleaseOrderRequest,
}

/// How many events were released.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseResponse {
    released: usize,
}

/// Sends the held events in the order asked for: the first attempt of each (and of each of
/// its copies) is made one after the other, in the background; retries follow as usual.
#[utoipa::path(post, path = "/v1/test/release", tag = "test", request_body(content = Option<ReleaseRequest>),
    security(("providerApiKey" = [])),
    responses(
        (status = 200, body = ReleaseResponse),
        (status = 401, description = "No API key, or not the sandbox's", body = ErrorBody),
    ))]
pub async fn release(
    State(app): State<App>,
    _: Provider,
    body: Option<Json<ReleaseRequest>>,
) -> Result<Json<ReleaseResponse>, Error> {
    let order = match body.map(|Json(body)| body.order).unwrap_or_default() {
        ReleaseOrderRequest::Sent => ReleaseOrder::Sent,
        ReleaseOrderRequest::Reversed => ReleaseOrder::Reversed,
    };
    let released = app.webhooks.release(order);
    Ok(Json(ReleaseResponse { released }))
}

/// One event and how its delivery went.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    #[schema(example = "evt_0b1c2d3e4f5a46b7c8d9e0f1a2b3c4d5")]
    event_id: String,
    /// `checkout.succeeded`, `checkout.failed`, `refund.succeeded` or `refund.failed`.
    #[serde(rename = "type")]
    #[schema(example = "checkout.succeeded")]
    kind: String,
    session_id: String,
    /// Attempts made, over all copies.
    attempts: u32,
    /// A copy was answered 2xx.
    delivered: bool,
    /// The HTTP status of the last answer; null when it got none (or no attempt yet).
    last_status: Option<u16>,
    /// Why the last attempt got no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    /// Held, waiting for a release.
    held: bool,
    /// A copy failed its last allowed attempt.
    given_up: bool,
}

impl From<Record> for DeliveryResponse {
    fn from(record: Record) -> Self {
        Self {
            event_id: record.event_id,
            kind: record.kind.to_owned(),
            session_id: record.session_id,
            attempts: record.attempts,
            delivered: record.delivered,
            last_status: record.last_status,
            last_error: record.last_error,
            held: record.held,
            given_up: record.given_up,
        }
    }
}

/// Every event kept (the newest `MAX_SESSIONS`), oldest first, with its deliveries.
#[utoipa::path(get, path = "/v1/test/deliveries", tag = "test",
    security(("providerApiKey" = [])),
    responses(
        (status = 200, body = Vec<DeliveryResponse>),
        (status = 401, description = "No API key, or not the sandbox's", body = ErrorBody),
    ))]
pub async fn list_deliveries(
    State(app): State<App>,
    _: Provider,
) -> Result<Json<Vec<DeliveryResponse>>, Error> {
    let deliveries = app.webhooks.deliveries();
    Ok(Json(deliveries.into_iter().map(Into::into).collect()))
}
