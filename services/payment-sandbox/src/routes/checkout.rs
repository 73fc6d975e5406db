//! `/checkout/{session}`: the hosted card page. A browser gets HTML (the form, then the
//! result); a script posting JSON gets JSON. No API key: the session's URL is the buyer's
//! capability, as with real providers.

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use microshop_web::error::ErrorBody;
use microshop_web::{ApiError, Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sessions::{FailureCode, SessionStatus};
use crate::app::App;
use crate::domain::{Session, Status};
use crate::{Error, page, pay};

/// The content type of a browser's form post.
const FORM: &str = "application/x-www-form-urlencoded";

/// A card number, as JSON or form-encoded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardRequest {
    /// 12 to 19 digits passing the Luhn check; spaces and dashes are ignored.
    #[schema(example = "4242 4242 4242 4242", max_length = 40)]
    card_number: String,
}

/// The form a browser posts (other fields are ignored; a missing number is an invalid one).
#[derive(Debug, Deserialize)]
struct CardForm {
    #[serde(default)]
    card_number: String,
}

/// The outcome, for a script.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayResponse {
    #[schema(example = "cs_4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a")]
    session_id: String,
    /// `succeeded` or `failed`.
    status: SessionStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_code: Option<FailureCode>,
    /// For the buyer.
    #[schema(example = "Payment succeeded.")]
    message: String,
}

impl From<Session> for PayResponse {
    fn from(session: Session) -> Self {
        let message = match session.failure {
            Some(decline) if session.status == Status::Failed => decline.message(),
            _ => "Payment succeeded.",
        };
        Self {
            status: session.status.into(),
            failure_code: session.failure.map(FailureCode::from),
            message: message.to_owned(),
            session_id: session.id,
        }
    }
}

/// How the card came, which says how to answer.
pub enum CardSubmission {
    /// Form-encoded, from a browser: answered with a page.
    Form(String),
    /// JSON, from a script: answered with JSON.
    Json(String),
}

impl<S: Send + Sync> FromRequest<S> for CardSubmission {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !content_type.contains("json") && !content_type.starts_with(FORM) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send card_number form-encoded (application/x-www-form-urlencoded) or as JSON \
                 (application/json)",
            ));
        }
        if content_type.starts_with(FORM) {
            let axum::Form(form) = axum::Form::<CardForm>::from_request(request, state)
                .await
                .map_err(|rejection| {
                    ApiError::bad_request(
                        "invalid_form",
                        format!("the form could not be read: {}", rejection.body_text()),
                    )
                })?;
            return Ok(Self::Form(form.card_number));
        }
        let Json(body) = Json::<CardRequest>::from_request(request, state).await?;
        Ok(Self::Json(body.card_number))
    }
}

/// The card page: the form for an open session, the result for a closed one.
#[utoipa::path(get, path = "/checkout/{session}", tag = "checkout",
    params(("session" = String, Path, description = "The session's id, `cs_…`")),
    responses(
        (status = 200, description = "The page (HTML)", body = String, content_type = "text/html"),
        (status = 404, description = "No such session (`session_not_found`)", body = ErrorBody),
    ))]
pub async fn show_checkout(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let session = app.store.get(&id).ok_or(Error::SessionNotFound(id))?;
    let html = if session.status == Status::Open {
        page::form(&session, None)
    } else {
        page::result(&session, None)
    };
    Ok(page::respond(html))
}

/// Pays the session with a card. Form-encoded (a browser): answered 200 with a page, the result
/// or the form again saying what was wrong. JSON (scripts, tests): answered with the outcome,
/// or 422 `invalid_card` (the session stays open), or 409 `session_closed`.
#[utoipa::path(post, path = "/checkout/{session}", tag = "checkout",
    params(("session" = String, Path, description = "The session's id, `cs_…`")),
    request_body(content(
        (CardRequest = "application/json"),
        (CardRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Paid or declined (JSON); for a form, the page", content(
            (PayResponse = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, description = "The body cannot be read", body = ErrorBody),
        (status = 404, description = "No such session (`session_not_found`)", body = ErrorBody),
        (status = 409, description = "The session was paid or declined already (`session_closed`)", body = ErrorBody),
        (status = 415, description = "Neither JSON nor a form", body = ErrorBody),
        (status = 422, description = "Not a valid card number (`invalid_card`); the session stays open", body = ErrorBody),
    ))]
pub async fn submit_checkout(
    State(app): State<App>,
    Path(id): Path<String>,
    submission: CardSubmission,
) -> Result<Response, Error> {
    match submission {
        CardSubmission::Json(card_number) => {
            let session = pay::session(&app, &id, &card_number)?;
            Ok(Json(PayResponse::from(session)).into_response())
        }
        CardSubmission::Form(card_number) => {
            let html = match pay::session(&app, &id, &card_number) {
                Ok(session) => page::result(&session, None),
                Err(Error::InvalidCard(invalid)) => {
                    let session = app.store.get(&id).ok_or(Error::SessionNotFound(id))?;
                    page::form(&session, Some(&invalid.to_string()))
                }
                Err(Error::SessionClosed { .. }) => {
                    let session = app.store.get(&id).ok_or(Error::SessionNotFound(id))?;
                    let note = "This payment was already completed; it takes one card only.";
                    page::result(&session, Some(note))
                }
                Err(other) => return Err(other),
            };
            Ok(page::respond(html))
        }
    }
}
