//! Why a request is not authenticated (401) or not allowed (403), as the API says it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use microshop_web::ApiError;

/// A refused caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error(
        "this route needs an access token: send Authorization: Bearer <access_token from POST /api/users/login>"
    )]
    Missing,
    /// Not a JWT, or claims missing or of the wrong type.
    #[error("the access token is malformed; log in again for a new one")]
    Malformed,
    /// Past its `exp`.
    #[error("the access token has expired; get a new one with POST /api/users/refresh")]
    Expired,
    /// The signature does not verify.
    #[error("the access token's signature does not verify")]
    Signature,
    /// Its `kid` names no key this service trusts (or it names none).
    #[error("the access token is signed by a key this service does not trust")]
    UnknownKey,
    /// Not `EdDSA`.
    #[error("the access token's algorithm is not accepted (only EdDSA)")]
    Algorithm,
    /// Made for another audience.
    #[error("the access token was issued for another audience")]
    Audience,
    /// Made by another issuer.
    #[error("the access token was issued by another issuer")]
    Issuer,
    /// A service key is missing or wrong (internal routes).
    #[error("this route is internal: it needs a valid X-Service-Key")]
    ServiceKey,
    /// Authenticated, but the role does not allow it.
    #[error("only admins may do this")]
    AdminOnly,
}

impl AuthError {
    /// The `code` of the error body, and the label of `auth_failures_total`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "token_missing",
            Self::Malformed => "token_malformed",
            Self::Expired => "token_expired",
            Self::Signature | Self::UnknownKey | Self::Algorithm => "token_invalid",
            Self::Audience => "token_wrong_audience",
            Self::Issuer => "token_wrong_issuer",
            Self::ServiceKey => "service_key_invalid",
            Self::AdminOnly => "admin_only",
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = if self == Self::AdminOnly {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        let mut response = ApiError::new(status, self.code(), self.to_string()).into_response();
        // RFC 6750: how to authenticate, and why the token was refused.
        let challenge = match self {
            Self::Missing => r#"Bearer realm="microshop""#.to_owned(),
            Self::ServiceKey => r#"ServiceKey realm="microshop""#.to_owned(),
            Self::AdminOnly => r#"Bearer realm="microshop", error="insufficient_scope""#.to_owned(),
            _ => format!(
                r#"Bearer realm="microshop", error="invalid_token", error_description="{}""#,
                self.code()
            ),
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
