//! `/v1/checkout/sessions`: create a checkout session (idempotently by key) and look one up.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use microshop_domain::ValidationError;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Provider;
use crate::Error;
use crate::app::App;
use crate::create::{self, Outcome};
use crate::domain::{Decline, NewSession, Session, Status};

/// Header naming a caller-chosen key that makes retries of a create call safe.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Longest idempotency key.
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// Body of `POST /v1/checkout/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// What the buyer pays, in cents.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(minimum = 1, maximum = 9_999_999_999_i64, example = 1299)]
    amount_cents: i64,
    /// ISO 4217 code (letters; stored upper-case).
    #[schema(example = "USD", pattern = "^[A-Za-z]{3}$")]
    currency: String,
    /// The payment service's payment id; every webhook about the session carries it.
    #[schema(example = "42", min_length = 1, max_length = 200)]
    reference: String,
    /// Shown on the card page.
    #[schema(example = "Order 17", max_length = 500)]
    description: Option<String>,
    /// Where the result page links back to (an http or https URL).
    #[schema(example = "http://127.0.0.1:8080/orders/17", max_length = 2000)]
    return_url: Option<String>,
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Waiting for a card.
    Open,
    /// Paid.
    Succeeded,
    /// Declined.
    Failed,
}

impl From<Status> for SessionStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Open => Self::Open,
            Status::Succeeded => Self::Succeeded,
            Status::Failed => Self::Failed,
        }
    }
}

/// Why a card was declined.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The issuer said no.
    CardDeclined,
    /// Not enough money on the account.
    InsufficientFunds,
}

impl From<Decline> for FailureCode {
    fn from(decline: Decline) -> Self {
        match decline {
            Decline::CardDeclined => Self::CardDeclined,
            Decline::InsufficientFunds => Self::InsufficientFunds,
        }
    }
}

/// A checkout session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// `cs_` and 32 hex digits.
    #[schema(example = "cs_4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a")]
    id: String,
    /// The hosted card page to send the buyer to.
    #[schema(example = "http://127.0.0.1:8090/checkout/cs_4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a")]
    url: String,
    status: SessionStatus,
    #[schema(example = 1299)]
    amount_cents: i64,
    #[schema(example = "USD")]
    currency: String,
    /// The payment service's payment id.
    #[schema(example = "42")]
    reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_url: Option<String>,
    /// Refunded so far (succeeded refunds).
    refunded_cents: i64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_code: Option<FailureCode>,
}

impl SessionResponse {
    fn new(app: &App, session: Session) -> Self {
        Self {
            url: app.checkout_url(&session.id),
            status: session.status.into(),
            refunded_cents: session.refunded_cents(),
            failure_code: session.failure.map(FailureCode::from),
            amount_cents: session.details.amount_cents,
            currency: session.details.currency,
            reference: session.details.reference,
            description: session.details.description,
            return_url: session.details.return_url,
            id: session.id,
        }
    }
}

/// Creates a checkout session for the buyer to pay on its `url`. The same `Idempotency-Key`
/// gives the same session (200, `Idempotent-Replayed: true`), as it is now. With the
/// `pay_on_create` test setting the session is paid, and its webhook's first attempt answered,
/// before this call returns.
#[utoipa::path(post, path = "/v1/checkout/sessions", tag = "sessions",
    request_body = CreateSessionRequest,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 255 printable ASCII characters; the same key gives the same session (kept as long as the session)")),
    security(("providerApiKey" = [])),
    responses(
        (status = 201, description = "Created, open", body = SessionResponse),
        (status = 200, description = "The session of a key already used", body = SessionResponse,
            headers(("Idempotent-Replayed" = String, description = "`true`"))),
        (status = 401, description = "No API key, or not the sandbox's", body = ErrorBody),
        (status = 422, description = "A field breaks a rule (`validation_failed`) or the body has the wrong shape (`invalid_body`)", body = ErrorBody),
    ))]
pub async fn create_session(
    State(app): State<App>,
    _: Provider,
    headers: HeaderMap,
    Json(body): Json<CreateSessionRequest>,
) -> Result<Response, Error> {
    let key = idempotency_key(&headers)?;
    let details = NewSession::parse(
        body.amount_cents,
        &body.currency,
        &body.reference,
        body.description.as_deref(),
        body.return_url.as_deref(),
    )?;
    Ok(match create::session(&app, key, details).await {
        Outcome::Created(session) => (
            StatusCode::CREATED,
            Json(SessionResponse::new(&app, session)),
        )
            .into_response(),
        Outcome::Replayed(session) => {
            let mut response = Json(SessionResponse::new(&app, session)).into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    })
}

/// Looks a checkout session up.
#[utoipa::path(get, path = "/v1/checkout/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session's id, `cs_…`")),
    security(("providerApiKey" = [])),
    responses(
        (status = 200, body = SessionResponse),
        (status = 401, description = "No API key, or not the sandbox's", body = ErrorBody),
        (status = 404, description = "No such session (`session_not_found`)", body = ErrorBody),
    ))]
pub async fn get_session(
    State(app): State<App>,
    _: Provider,
    Path(id): Path<String>,
) -> Result<Json<SessionResponse>, Error> {
    let session = app.store.get(&id).ok_or(Error::SessionNotFound(id))?;
    Ok(Json(SessionResponse::new(&app, session)))
}

/// The `Idempotency-Key` header, when sent: 1 to 255 printable ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("\u{0}");
    let valid = (1..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(Some(text.to_owned()))
    } else {
        Err(ValidationError::new(
            "Idempotency-Key",
            format!(
                "must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters without spaces"
            ),
        )
        .into())
    }
}
