//! The sandbox's errors and their one mapping to HTTP statuses.

use axum::response::{IntoResponse, Response};
use microshop_domain::ValidationError;
use microshop_web::ApiError;

use crate::domain::{InvalidCard, Status};

/// Everything a sandbox request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The request itself was unusable.
    #[error(transparent)]
    Request(#[from] ApiError),
    /// No API key, or not the sandbox's.
    #[error("send the sandbox's API key as `Authorization: Bearer <API_KEY>`")]
    ApiKey,
    /// No such session.
    #[error("checkout session {0:?} does not exist")]
    SessionNotFound(String),
    /// The session was paid or declined already.
    #[error(
        "checkout session {id} is already {}; it takes one card only (a declined buyer starts a new payment)",
        status.as_str()
    )]
    SessionClosed {
        /// The session.
        id: String,
        /// Where it stands.
        status: Status,
    },
    /// Not a card number.
    #[error(transparent)]
    InvalidCard(#[from] InvalidCard),
    /// A refund of a session that was not paid.
    #[error("checkout session {id} is {}, not paid: there is nothing to refund", status.as_str())]
    SessionNotPaid {
        /// The session.
        id: String,
        /// Where it stands.
        status: Status,
    },
    /// A refund of more than is left.
    #[error(
        "a refund of {requested} cents is more than the {refundable} cents paid and not yet refunded"
    )]
    AmountTooLarge {
        /// Asked for.
        requested: i64,
        /// What is left.
        refundable: i64,
    },
    /// The session has as many refunds as allowed.
    #[error("checkout session {0} has {max} refunds, the most allowed", max = crate::domain::refund::MAX_REFUNDS)]
    TooManyRefunds(String),
}

impl Error {
    /// This error as the API answers it.
    pub fn to_api(&self) -> ApiError {
        let message = self.to_string();
        match self {
            Self::Validation(e) => e.clone().into(),
            Self::Request(e) => e.clone(),
            Self::ApiKey => ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "api_key_invalid",
                message,
            ),
            Self::SessionNotFound(_) => ApiError::not_found("session_not_found", message),
            Self::SessionClosed { .. } => ApiError::conflict("session_closed", message),
            Self::InvalidCard(_) => ApiError::unprocessable("invalid_card", message),
            Self::SessionNotPaid { .. } => ApiError::conflict("session_not_paid", message),
            Self::AmountTooLarge { .. } => ApiError::unprocessable("amount_too_large", message),
            Self::TooManyRefunds(_) => ApiError::unprocessable("too_many_refunds", message),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = self.to_api().into_response();
        if matches!(self, Self::ApiKey) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
