//! The product service's errors and their one mapping to HTTP statuses.

use axum::http::StatusCode;
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
    /// No such category (in the path or the `category` filter).
    #[error("category {0} does not exist")]
    CategoryNotFound(String),
    /// A body names a category that does not exist.
    #[error("{field} {id} is not a category; GET /api/products/categories lists them")]
    UnknownCategory {
        /// `category_id` or `parent_id`.
        field: &'static str,
        /// The id sent.
        id: i64,
    },
    /// Another category has this slug.
    #[error("the slug {0:?} is taken by another category")]
    SlugTaken(String),
    /// Products or sub-categories still refer to the category.
    #[error(
        "category {id} still holds {products} product(s) (archived ones included) and \
         {children} sub-categories; move or delete them first"
    )]
    CategoryNotEmpty {
        /// The category.
        id: i64,
        /// Products in it.
        products: i64,
        /// Categories below it.
        children: i64,
    },
    /// A category cannot sit below itself.
    #[error("category {id} cannot be moved under {parent_id}, which is itself or lies below it")]
    CategoryCycle {
        /// The category moved.
        id: i64,
        /// Where it was to go.
        parent_id: i64,
    },
    /// `If-Match` named another version than the current one.
    #[error(
        "product {id} changed since you read it: it is at version \"{current}\"; read it again \
         and retry with If-Match: \"{current}\""
    )]
    VersionMismatch {
        /// The product.
        id: i64,
        /// Its current version.
        current: i64,
    },
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
            Self::CategoryNotFound(_) => {
                ApiError::not_found("category_not_found", self.to_string())
            }
            Self::UnknownCategory { .. } => {
                ApiError::unprocessable("category_not_found", self.to_string())
            }
            Self::SlugTaken(_) => ApiError::conflict("slug_taken", self.to_string()),
            Self::CategoryNotEmpty { .. } => {
                ApiError::conflict("category_not_empty", self.to_string())
            }
            Self::CategoryCycle { .. } => {
                ApiError::unprocessable("category_cycle", self.to_string())
            }
            Self::VersionMismatch { .. } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                self.to_string(),
            ),
            Self::ProductArchived(_) => ApiError::conflict("product_archived", self.to_string()),
            Self::ReviewExists(_) => ApiError::conflict("review_exists", self.to_string()),
            Self::ReviewNotFound(_) | Self::NoReviewOfYours(_) => {
                ApiError::not_found("review_not_found", self.to_string())
            }
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
