//! The order service's errors and their one mapping to HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use microshop_domain::{Id, ValidationError};
use microshop_http_client::UpstreamError;
use microshop_web::ApiError;

use crate::cart::CartError;
use crate::domain::OrderRequestError;
use crate::domain::lifecycle::InvalidTransition;

impl From<OrderRequestError> for Error {
    fn from(error: OrderRequestError) -> Self {
        match error {
            OrderRequestError::Invalid(invalid) => Self::Validation(invalid),
            too_many @ OrderRequestError::TooManyUnits { .. } => Self::TooManyUnits(too_many),
        }
    }
}

/// A line asking for more units than its product has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortLine {
    /// The product.
    pub product_id: Id,
    /// Units on hand.
    pub available: i64,
    /// Units asked for.
    pub requested: i64,
}

fn not_sold(ids: &[Id]) -> String {
    let ids: Vec<String> = ids.iter().map(Id::to_string).collect();
    match ids.as_slice() {
        [one] => format!("product {one} does not exist or is no longer sold"),
        many => format!(
            "products {} do not exist or are no longer sold",
            many.join(", ")
        ),
    }
}

fn short_lines(lines: &[ShortLine]) -> String {
    let each: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "only {} left of product {}, {} requested",
                l.available, l.product_id, l.requested
            )
        })
        .collect();
    each.join("; ")
}

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
    /// Ordered products that do not exist or are no longer sold.
    #[error("{}", not_sold(.0))]
    ProductsNotFound(Vec<Id>),
    /// Lines asking for more units than their products have right now.
    #[error("{}", short_lines(.0))]
    OutOfStock(Vec<ShortLine>),
    /// A product listed several times adds up to too many units.
    #[error("{0}")]
    TooManyUnits(OrderRequestError),
    /// Checkout of an empty cart.
    #[error("your cart is empty; add products with POST /api/cart/items first")]
    CartEmpty,
    /// The order's total does not fit in cents.
    #[error("the order's total is too large; split it into several orders")]
    TotalTooLarge,
    /// The shipping address is not one of the buyer's.
    #[error("address {0} is not one of your addresses; add it under /api/users/addresses first")]
    AddressNotFound(Id),
    /// The order's status does not allow the step.
    #[error("order {id}: {refusal}")]
    InvalidTransition {
        /// The order.
        id: Id,
        /// What its status allows.
        refusal: InvalidTransition,
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
    /// The product exists but is no longer sold (archived).
    #[error("product {0} is no longer sold")]
    ProductUnavailable(Id),
    /// The cart refused a change, or Redis could not serve it.
    #[error(transparent)]
    Cart(#[from] CartError),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let api = match self {
            Self::Validation(e) => e.into(),
            Self::Request(e) => e,
            Self::BuyerMismatch { .. } => ApiError::forbidden("buyer_mismatch", message),
            Self::TooManyOpenOrders { .. } => ApiError::conflict("too_many_open_orders", message),
            Self::ProductsNotFound(_) => ApiError::unprocessable("product_not_found", message),
            Self::OutOfStock(_) => ApiError::conflict("out_of_stock", message),
            Self::TotalTooLarge => ApiError::unprocessable("total_too_large", message),
            Self::CartEmpty => ApiError::unprocessable("cart_empty", message),
            Self::TooManyUnits(_) => ApiError::unprocessable("quantity_limit_exceeded", message),
            Self::AddressNotFound(_) => ApiError::unprocessable("address_not_found", message),
            Self::InvalidTransition { .. } => ApiError::conflict("invalid_transition", message),
            Self::IdempotencyKeyReused(_) => {
                ApiError::unprocessable("idempotency_key_reused", message)
            }
            Self::OrderNotFound(_) => ApiError::not_found("order_not_found", message),
            Self::ProductUnavailable(_) => ApiError::unprocessable("product_unavailable", message),
            Self::Cart(CartError::Unavailable(_)) => ApiError::unavailable(
                "cart_unavailable",
                "the cart is unavailable right now; try again in 1 s",
                1,
            ),
            Self::Cart(CartError::LineNotFound(_)) => {
                ApiError::not_found("cart_item_not_found", message)
            }
            Self::Cart(CartError::Full { .. }) => ApiError::conflict("cart_full", message),
            Self::Cart(CartError::QuantityLimit { .. }) => {
                ApiError::unprocessable("quantity_limit_exceeded", message)
            }
            Self::Upstream(UpstreamError::Unavailable {
                upstream,
                retry_after_secs,
                ..
            }) => ApiError::unavailable(
                "upstream_unavailable",
                format!("{upstream} is unavailable; try again in {retry_after_secs} s"),
                retry_after_secs,
            ),
            // The payment service's own refusal of the buyer's request (an order it cannot pay).
            Self::Upstream(UpstreamError::Refused {
                status,
                code,
                message,
                ..
            }) => ApiError::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT),
                code,
                message,
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

/// Maps an upstream 404 to `missing` (e.g. "that address is not yours").
pub fn not_found_as(error: UpstreamError, missing: Error) -> Error {
    match error {
        UpstreamError::NotFound { .. } => missing,
        other => Error::Upstream(other),
    }
}
