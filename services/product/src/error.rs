//! The product service's errors and their one mapping to HTTP statuses.

use axum::response::{IntoResponse, Response};
use microshop_domain::{Id, ValidationError};
use microshop_web::ApiError;

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
