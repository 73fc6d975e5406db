//! The product service's errors and their one mapping to HTTP statuses.

use axum::response::{IntoResponse, Response};
use microshop_domain::{Id, ValidationError};
use microshop_web::ApiError;

use crate::domain::MAX_STOCK;

/// Everything a product-service request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The request itself was unusable (bad paging, ...).
    #[error(transparent)]
    Request(#[from] ApiError),
    /// No such product.
    #[error("product {0} does not exist")]
    ProductNotFound(Id),
    /// A deduct asked for more units than are available; nothing was written.
    #[error("only {available} left of product {product}, {requested} requested")]
    InsufficientStock {
        /// The product.
        product: Id,
        /// Units asked for.
        requested: i64,
        /// Units available.
        available: i64,
    },
    /// A restore would take the stock past its limit; nothing was written.
    #[error(
        "restoring {requested} units of product {product} would take its stock of {available} past {MAX_STOCK}"
    )]
    StockLimit {
        /// The product.
        product: Id,
        /// Units to restore.
        requested: i64,
        /// Units available.
        available: i64,
    },
    /// A manual move's reference was used by another move (other kind, product or quantity).
    #[error(
        "reference {0:?} was already used for another move (another kind, product or quantity)"
    )]
    ReferenceConflict(String),
    /// PostgreSQL failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let api = match self {
            Self::Validation(e) => e.into(),
            Self::Request(e) => e,
            Self::ProductNotFound(_) => ApiError::not_found("product_not_found", self.to_string()),
            Self::InsufficientStock { .. } => {
                ApiError::conflict("insufficient_stock", self.to_string())
            }
            Self::StockLimit { .. } => ApiError::conflict("stock_limit", self.to_string()),
            Self::ReferenceConflict(_) => {
                ApiError::conflict("reference_conflict", self.to_string())
            }
            Self::Db(e) if microshop_db::is_transient(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::database_unavailable("product")
            }
            Self::Db(_) => {
                tracing::error!(error = %self, "request failed");
                ApiError::internal()
            }
        };
        api.into_response()
    }
}
