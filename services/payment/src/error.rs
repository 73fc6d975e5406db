//! The payment service's errors and their one mapping to HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use microshop_domain::{Id, ValidationError};
use microshop_http_client::UpstreamError;
use microshop_web::ApiError;
use microshop_webhook::SignatureError;

use crate::domain::RefundRefusal;

/// Everything a payment-service request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The request itself was unusable (bad paging, ...).
    #[error(transparent)]
    Request(#[from] ApiError),
    /// No such order of the caller's.
    #[error("order {0} does not exist")]
    OrderNotFound(Id),
    /// No such payment of the caller's.
    #[error("payment {0} does not exist")]
    PaymentNotFound(Id),
    /// The order does not wait for payment.
    #[error("order {id} is {status}; only a CONFIRMED order can be paid")]
    OrderNotPayable {
        /// The order.
        id: Id,
        /// Its status.
        status: String,
    },
    /// The order has a payment that took money already.
    #[error("order {order} is already paid by payment {payment}")]
    OrderAlreadyPaid {
        /// The order.
        order: Id,
        /// The payment that paid it.
        payment: i64,
    },
    /// The payment took no money (yet), so there is nothing to refund.
    #[error(
        "payment {id} is {status}; only a SUCCEEDED or PARTIALLY_REFUNDED payment can be refunded"
    )]
    NotRefundable {
        /// The payment.
        id: Id,
        /// Its status.
        status: String,
    },
    /// The refund asked for is not possible.
    #[error("payment {id}: {refusal}")]
    Refund {
        /// The payment.
        id: Id,
        /// Why.
        refusal: RefundRefusal,
    },
    /// An idempotency key came back with a different request.
    #[error(
        "idempotency key {0:?} was already used for a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused(String),
    /// The webhook's signature does not hold.
    #[error("webhook refused: {0}")]
    Signature(#[from] SignatureError),
    /// A signed webhook whose body is not a provider event.
    #[error("the body is not a provider event: {0}")]
    InvalidEvent(String),
    /// The order service or the provider could not answer.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let api = match self {
            Self::Validation(e) => e.into(),
            Self::Request(e) => e,
            Self::OrderNotFound(_) => ApiError::not_found("order_not_found", message),
            Self::PaymentNotFound(_) => ApiError::not_found("payment_not_found", message),
            Self::OrderNotPayable { .. } => ApiError::conflict("order_not_payable", message),
            Self::OrderAlreadyPaid { .. } => ApiError::conflict("order_already_paid", message),
            Self::NotRefundable { .. } => ApiError::conflict("payment_not_refundable", message),
            Self::Refund {
                refusal: RefundRefusal::NothingLeft { .. },
                ..
            } => ApiError::conflict("nothing_to_refund", message),
            Self::Refund {
                refusal: RefundRefusal::TooMuch { .. },
                ..
            } => ApiError::unprocessable("refund_exceeds_payment", message),
            Self::IdempotencyKeyReused(_) => {
                ApiError::unprocessable("idempotency_key_reused", message)
            }
            Self::Signature(_) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "signature_invalid", message)
            }
            Self::InvalidEvent(_) => ApiError::bad_request("invalid_event", message),
            Self::Upstream(UpstreamError::Unavailable {
                upstream,
                retry_after_secs,
                ..
            }) => ApiError::unavailable(
                "upstream_unavailable",
                format!("{upstream} is unavailable; try again in {retry_after_secs} s"),
                retry_after_secs,
            ),
            Self::Db(e) if microshop_db::is_transient(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::database_unavailable("payment")
            }
            Self::Upstream(_) | Self::Db(_) => {
                tracing::error!(error = %message, "request failed");
                ApiError::internal()
            }
        };
        api.into_response()
    }
}
