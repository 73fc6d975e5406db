//! What went wrong calling an upstream, classified for the caller's answer.

use std::time::Duration;

/// What went wrong calling an upstream, classified for the caller's answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered 404: the thing does not exist (the caller answers 422).
    #[error("{upstream} has no {path}")]
    NotFound {
        /// Upstream name.
        upstream: &'static str,
        /// The path asked for.
        path: String,
    },
    /// Down, slow, overloaded, 5xx, breaker open or no time left: try again later (the caller
    /// answers 503).
    #[error("{upstream} is unavailable: {reason}")]
    Unavailable {
        /// Upstream name.
        upstream: &'static str,
        /// What happened, for logs.
        reason: String,
        /// When trying again makes sense: the upstream's own `Retry-After` when it sent one, so
        /// the caller can pass it on.
        retry_after_secs: u32,
    },
    /// The upstream refused the request (400, 403, 409 or 422 with its error body): the caller
    /// decides whether the refusal is its own client's fault and passes it on.
    #[error("{upstream} refused the request ({status} {code}): {message}")]
    Refused {
        /// Upstream name.
        upstream: &'static str,
        /// The status it answered.
        status: u16,
        /// Its error code.
        code: String,
        /// Its error message.
        message: String,
    },
    /// The upstream did not accept the credentials sent (401): the caller's relayed token expired
    /// or was revoked, or this service's own key is wrong. Never retried.
    #[error("{upstream} did not accept the credentials (401): {message}")]
    Unauthenticated {
        /// Upstream name.
        upstream: &'static str,
        /// Its error message.
        message: String,
    },
    /// The upstream answered something it never should (a 4xx other than 404, bad JSON): a bug
    /// on one side, answered 500 and logged.
    #[error("{upstream} answered unexpectedly: {reason}")]
    Unexpected {
        /// Upstream name.
        upstream: &'static str,
        /// What it answered.
        reason: String,
    },
}

impl UpstreamError {
    /// `Unavailable`, with the upstream's `Retry-After` if it sent one, else a second.
    pub(crate) fn unavailable(
        upstream: &'static str,
        reason: String,
        retry_after_secs: Option<u32>,
    ) -> Self {
        Self::Unavailable {
            upstream,
            reason,
            retry_after_secs: retry_after_secs.unwrap_or(1),
        }
    }

    /// `Unavailable` for `wait` more (an open breaker), in whole seconds rounded up.
    pub(crate) fn unavailable_for(upstream: &'static str, reason: String, wait: Duration) -> Self {
        let secs = u32::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(u32::MAX);
        Self::unavailable(upstream, reason, Some(secs.max(1)))
    }
}
