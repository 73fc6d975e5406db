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
    /// The product is archived: it takes no new reviews (nor edits of them).
    #[error("product {0} is archived and takes no reviews")]
    ProductArchived(Id),
    /// The caller reviewed this product already: one review per customer and product.
    #[error("you have reviewed product {0} already; edit or delete that review instead")]
    ReviewExists(Id),
    /// No such review, or not one the caller may change.
    #[error("review {0} does not exist")]
    ReviewNotFound(Id),
    /// The caller has not reviewed this product.
    #[error("you have no review of product {0}")]
    NoReviewOfYours(Id),
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
            Self::ProductArchived(_) => ApiError::conflict("product_archived", self.to_string()),
            Self::ReviewExists(_) => ApiError::conflict("review_exists", self.to_string()),
            Self::ReviewNotFound(_) | Self::NoReviewOfYours(_) => {
                ApiError::not_found("review_not_found", self.to_string())
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
