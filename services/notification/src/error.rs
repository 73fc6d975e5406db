//! The notification service's errors and their one mapping to HTTP statuses.

use axum::response::{IntoResponse, Response};
use microshop_domain::ValidationError;
use microshop_web::ApiError;

/// Everything a notification-service request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The request itself was unusable (bad paging, ...).
    #[error(transparent)]
    Request(#[from] ApiError),
    /// A marketing message to a user who turned marketing off.
    #[error(
        "user {0} turned marketing messages off; send it as transactional only if it is about their account or orders"
    )]
    OptedOut(i64),
    /// A customer named another user.
    #[error("you are user {caller}, and may list only your own notifications, not user {named}'s")]
    NotYours {
        /// The token's user.
        caller: i64,
        /// The user named.
        named: i64,
    },
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
            Self::OptedOut(_) => ApiError::conflict("opted_out", message),
            Self::NotYours { .. } => ApiError::forbidden("not_yours", message),
            Self::Db(e) if microshop_db::is_transient(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::database_unavailable("notification")
            }
            Self::Db(_) => {
                tracing::error!(error = %message, "request failed");
                ApiError::internal()
            }
        };
        api.into_response()
    }
}
