//! What can go wrong behind a page, and the page each case is: a redirect to sign in, or an
//! error page with its status. Handlers and extractors answer a [`PageError`]; the session
//! middleware ([`super::visit`]) renders it with the site's header, so an error page looks like
//! every other page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use microshop_http_client::UpstreamError;

/// Why a page cannot be shown as asked.
#[derive(Debug, Clone)]
pub enum PageError {
    /// The page needs a signed-in user: to `/login?next=` (the page asked for when `None`).
    SignIn {
        /// Where to come back to after signing in.
        next: Option<String>,
    },
    /// The session's tokens were refused (revoked, expired): signed out, then as `SignIn`.
    SignedOut {
        /// Where to come back to after signing in.
        next: Option<String>,
    },
    /// The form's CSRF token is missing or wrong (403).
    Csrf,
    /// The user may not see or do this (403).
    Forbidden(String),
    /// No such page, product or order (404).
    NotFound,
    /// The request itself is wrong (400).
    BadRequest(String),
    /// A service refused what a page asked for (its 4xx and message).
    Refused {
        /// The service's status.
        status: StatusCode,
        /// The service's message.
        message: String,
    },
    /// A service cannot answer now (503 with `Retry-After`).
    Unavailable {
        /// Which service, as its client names it (`order-service`).
        service: &'static str,
        /// When to try again.
        retry_after_secs: u32,
    },
    /// A service answered something it never should (502; logged).
    BadGateway,
    /// A bug of ours (500; logged where it happened).
    Internal,
}

impl PageError {
    /// The same error, sending the user back to `next` after signing in when no page was named.
    #[must_use]
    pub fn or_back_to(self, page: impl Into<String>) -> Self {
        match self {
            Self::SignIn { next: None } => Self::SignIn {
                next: Some(page.into()),
            },
            Self::SignedOut { next: None } => Self::SignedOut {
                next: Some(page.into()),
            },
            other => other,
        }
    }

    /// The status, heading and explanation of the error page.
    pub fn describe(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::SignIn { .. } | Self::SignedOut { .. } => (
                StatusCode::UNAUTHORIZED,
                "Please sign in",
                "This page needs you to sign in.".to_owned(),
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form was not sent from this shop's page, or the page is too old. Go back, \
                 reload the page and try again."
                    .to_owned(),
            ),
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, "Not allowed", message.clone()),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here: the page, product or order does not exist.".to_owned(),
            ),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, "Bad request", message.clone()),
            Self::Refused { status, message } => (*status, "Not possible", message.clone()),
            Self::Unavailable { service, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                format!(
                    "{} is unavailable, try again shortly.",
                    service_name(service)
                ),
            ),
            Self::BadGateway => (
                StatusCode::BAD_GATEWAY,
                "Something went wrong",
                "A part of the shop answered something unexpected. It has been logged; please \
                 try again later."
                    .to_owned(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "An internal error occurred. It has been logged; please try again later."
                    .to_owned(),
            ),
        }
    }
}

/// A service as customers know it.
fn service_name(upstream: &str) -> &'static str {
    match upstream {
        "user-service" => "The account service",
        "product-service" => "The catalogue",
        "order-service" => "The order service",
        "payment-service" => "The payment service",
        "notification-service" => "The notification service",
        _ => "A part of the shop",
    }
}

impl From<UpstreamError> for PageError {
    fn from(error: UpstreamError) -> Self {
        match error {
            UpstreamError::NotFound { .. } => Self::NotFound,
            UpstreamError::Unavailable {
                upstream,
                retry_after_secs,
                ..
            } => Self::Unavailable {
                service: upstream,
                retry_after_secs,
            },
            UpstreamError::Refused {
                status: 403,
                message,
                ..
            } => Self::Forbidden(message),
            UpstreamError::Refused {
                status, message, ..
            } => Self::Refused {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                message,
            },
            UpstreamError::Unauthenticated { .. } => Self::SignedOut { next: None },
            error @ UpstreamError::Unexpected { .. } => {
                tracing::error!(%error, "a service answered a storefront page unexpectedly");
                Self::BadGateway
            }
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> Self {
        tracing::error!(%error, "a storefront template did not render");
        Self::Internal
    }
}

/// The error travels in the answer's extensions to the session middleware, which renders it.
impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = self.describe().0.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// A refusal a form shows in its alert, rather than an error page.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The status the page is answered with (the service's 4xx).
    pub status: StatusCode,
    /// The service's message.
    pub message: String,
}

impl Refusal {
    /// A refusal of our own (a field left empty, say): 422.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
        }
    }
}

/// `error` as a refusal to show on the form when a service refused the request (400, 403,
/// 409, 422), else the error page it is.
pub fn refusal(error: UpstreamError) -> Result<Refusal, PageError> {
    match error {
        UpstreamError::Refused {
            status, message, ..
        } => Ok(Refusal {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message,
        }),
        other => Err(other.into()),
    }
}
