//! The user service's errors and their one mapping to HTTP statuses.

use axum::response::{IntoResponse, Response};
use microshop_domain::{Id, ValidationError};
use microshop_web::ApiError;

/// Everything a user-service request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The request itself was unusable (bad paging, ...).
    #[error(transparent)]
    Request(#[from] ApiError),
    /// The e-mail address is registered already.
    #[error("a user with the e-mail address {0} already exists; log in instead")]
    EmailTaken(String),
    /// No such user.
    #[error("user {0} does not exist")]
    UserNotFound(Id),
    /// Wrong e-mail or password; deliberately does not say which.
    #[error("e-mail address or password is wrong")]
    InvalidCredentials,
    /// argon2 refused to hash.
    #[error("password hashing failed: {0}")]
    Hashing(argon2::password_hash::Error),
    /// PostgreSQL failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// Anything else unexpected.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let api = match self {
            Self::Validation(e) => e.into(),
            Self::Request(e) => e,
            Self::EmailTaken(_) => ApiError::conflict("email_taken", self.to_string()),
            Self::UserNotFound(_) => ApiError::not_found("user_not_found", self.to_string()),
            Self::InvalidCredentials => ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                self.to_string(),
            ),
            Self::Db(e) if microshop_db::is_transient(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::database_unavailable("user")
            }
            Self::Db(_) | Self::Hashing(_) | Self::Other(_) => {
                tracing::error!(error = %self, "request failed");
                ApiError::internal()
            }
        };
        api.into_response()
    }
}
