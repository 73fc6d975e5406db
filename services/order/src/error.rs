//! The order service's errors and their one mapping to HTTP statuses.

use axum::response::{IntoResponse, Response};
use microshop_domain::{Id, ValidationError};
use microshop_http_client::UpstreamError;
use microshop_web::ApiError;

/// Everything an order-service request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The request itself was unusable (bad paging, ...).
    #[error(transparent)]
    Request(#[from] ApiError),
    /// The request names another user than the caller of its token.
    #[error(
        "you are user {caller}, and may order or list orders only as yourself, not as user {named}"
    )]
    BuyerMismatch {
        /// The token's user.
        caller: Id,
        /// The user the request named.
        named: Id,
    },
    /// The caller has as many open (unpaid) orders as allowed.
    #[error("you have {open} open orders, the most allowed; wait until they are settled or paid")]
    TooManyOpenOrders {
        /// Orders `PENDING` or `CONFIRMED` and unpaid.
        open: i64,
    },
    /// The ordered product does not exist.
    #[error("product {0} does not exist")]
    ProductNotFound(Id),
    /// More units asked for than the product has right now.
    #[error("only {available} left of product {product_id}, {requested} requested")]
    OutOfStock {
        /// The product.
        product_id: Id,
        /// Units on hand.
        available: i64,
        /// Units asked for.
        requested: i64,
    },
    /// An idempotency key came back with a different request.
    #[error(
        "idempotency key {0:?} was already used for a different order request; use a new key for a new order"
    )]
    IdempotencyKeyReused(String),
    /// No such order.
    #[error("order {0} does not exist")]
    OrderNotFound(Id),
    /// The user or product service could not answer.
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
            Self::BuyerMismatch { .. } => ApiError::forbidden("buyer_mismatch", message),
            Self::TooManyOpenOrders { .. } => ApiError::conflict("too_many_open_orders", message),
            Self::ProductNotFound(_) => ApiError::unprocessable("product_not_found", message),
            Self::OutOfStock { .. } => ApiError::conflict("out_of_stock", message),
            Self::IdempotencyKeyReused(_) => {
                ApiError::unprocessable("idempotency_key_reused", message)
            }
            Self::OrderNotFound(_) => ApiError::not_found("order_not_found", message),
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
                ApiError::database_unavailable("order")
            }
            Self::Upstream(_) | Self::Db(_) => {
                tracing::error!(error = %message, "request failed");
                ApiError::internal()
            }
        };
        api.into_response()
    }
}

/// Maps an upstream 404 to "that product does not exist".
pub fn not_found_as(error: UpstreamError, missing: Error) -> Error {
    match error {
        UpstreamError::NotFound { .. } => missing,
        other => Error::Upstream(other),
    }
}
