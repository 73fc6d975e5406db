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
    /// No such address of the caller (another user's is not theirs either).
    #[error("address {0} does not exist")]
    AddressNotFound(Id),
    /// The caller keeps as many addresses as an account may.
    #[error(
        "an account keeps at most {} addresses; delete one before adding another",
        crate::domain::address::MAX_ADDRESSES
    )]
    AddressLimitReached,
    /// `is_default: false` for the default address: one address is always the default.
    #[error(
        "address {0} is the default and one address always is; make another address the default instead"
    )]
    DefaultAddressRequired(Id),
    /// Demoting the only admin would leave nobody to administer the shop.
    #[error("user {0} is the only admin; make another user an admin first")]
    LastAdmin(Id),
    /// Wrong e-mail or password; deliberately does not say which.
    #[error("e-mail address or password is wrong")]
    InvalidCredentials,
    /// Too many failed log-ins for the account or the client address; try again in this many
    /// seconds.
    #[error("too many failed log-ins for this account or from this address; try again in {0} s")]
    TooManyAttempts(u32),
    /// The password hasher has as much work waiting as allowed.
    #[error("too many sign-ins and registrations at once; try again in a second")]
    HashingBusy,
    /// A refresh token that is unknown, revoked or not the caller's.
    #[error("the refresh token is not valid; log in again")]
    RefreshTokenInvalid,
    /// A spent refresh token presented again: its family is now revoked.
    #[error(
        "the refresh token was already used, so it may have been copied: every session it belongs to is ended; log in again"
    )]
    RefreshTokenReused,
    /// Past its expiry.
    #[error("the refresh token has expired; log in again")]
    RefreshTokenExpired,
    /// The current password given for a change is wrong.
    #[error("the current password is wrong")]
    CurrentPasswordWrong,
    /// The token's user no longer exists.
    #[error("the account of this access token no longer exists")]
    AccountGone,
    /// No valid token or the wrong role.
    #[error(transparent)]
    Auth(#[from] microshop_auth::AuthError),
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
            Self::AddressNotFound(_) => ApiError::not_found("address_not_found", self.to_string()),
            Self::AddressLimitReached => {
                ApiError::conflict("address_limit_reached", self.to_string())
            }
            Self::DefaultAddressRequired(_) => {
                ApiError::conflict("default_address_required", self.to_string())
            }
            Self::LastAdmin(_) => ApiError::conflict("last_admin", self.to_string()),
            Self::InvalidCredentials => ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                self.to_string(),
            ),
            Self::TooManyAttempts(seconds) => {
                ApiError::too_many_requests("too_many_attempts", self.to_string(), seconds)
            }
            Self::HashingBusy => ApiError::unavailable("overloaded", self.to_string(), 1),
            Self::RefreshTokenInvalid | Self::RefreshTokenReused | Self::RefreshTokenExpired => {
                let code = match self {
                    Self::RefreshTokenReused => "refresh_token_reused",
                    Self::RefreshTokenExpired => "refresh_token_expired",
                    _ => "refresh_token_invalid",
                };
                ApiError::new(axum::http::StatusCode::UNAUTHORIZED, code, self.to_string())
            }
            Self::CurrentPasswordWrong => ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "current_password_wrong",
                self.to_string(),
            ),
            Self::AccountGone => ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "account_gone",
                self.to_string(),
            ),
            Self::Auth(error) => return error.into_response(),
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
