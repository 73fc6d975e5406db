//! Passing a request through to an upstream as it is (the gateway's proxy): one attempt, the
//! body streamed both ways, the answer returned whatever its status. The upstream's breaker
//! decides whether the request may go out and learns from the outcome (a connect error, a
//! time-out or a 502/503/504 count as failures), and the call is counted like every other.
//! Nothing is retried: a streamed body cannot be sent twice.

use std::time::Duration;

use microshop_telemetry::{deadline, trace};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::Upstream;
use crate::breaker::BreakerState;

/// Why a forwarded request got no answer from its upstream.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The breaker is open after repeated failures; try again after `retry_after`.
    #[error("{upstream}'s circuit breaker is open after repeated failures")]
    BreakerOpen {
        /// Upstream name.
        upstream: &'static str,
        /// When the breaker lets a probe through.
        retry_after: Duration,
    },
    /// No connection could be made.
    #[error("{upstream} is unreachable: {reason}")]
    Unreachable {
        /// Upstream name.
        upstream: &'static str,
        /// What happened, for logs.
        reason: String,
    },
    /// It did not start answering within the time given.
    #[error("{upstream} did not answer within {} ms", .waited.as_millis())]
    Timeout {
        /// Upstream name.
        upstream: &'static str,
        /// How long we waited.
        waited: Duration,
    },
    /// It answered something that is not HTTP (a broken or closed connection mid-answer).
    #[error("{upstream} answered malformed HTTP: {reason}")]
    Malformed {
        /// Upstream name.
        upstream: &'static str,
        /// What happened, for logs.
        reason: String,
    },
}

impl Upstream {
    /// Sends `method path_and_query` with `headers` and `body` to this upstream within `timeout`
    /// (the `x-request-timeout-ms` and `traceparent` headers are set here); returns its answer,
    /// whatever the status, with the body still to be read.
    pub async fn forward(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: HeaderMap,
        body: reqwest::Body,
        timeout: Duration,
    ) -> Result<reqwest::Response, ForwardError> {
        let upstream = self.name;
        let permit = match self.breaker.admit() {
            Ok(permit) => permit,
            Err(retry_after) => {
                self.count("rejected_open_breaker");
                return Err(ForwardError::BreakerOpen {
                    upstream,
                    retry_after,
                });
            }
        };
        if permit.is_probe() {
            self.show(BreakerState::HalfOpen);
        }
        if let Ok(value) = HeaderValue::from_str(&trace::outgoing()) {
            headers.insert(trace::TRACEPARENT, value);
        }
        if let Ok(value) = HeaderValue::from_str(&deadline::header_value(timeout)) {
            headers.insert(deadline::HEADER, value);
        }
        let url = format!("{}{path_and_query}", self.base_url);
        let sent = self
            .client
            .request(method, &url)
            .headers(headers)
            .timeout(timeout)
            .body(body)
            .send()
            .await;
        let (result, healthy, outcome) = match sent {
            Ok(answer) => {
                let failed = matches!(
                    answer.status(),
                    StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                );
                let outcome = if failed { "unavailable" } else { "ok" };
                (Ok(answer), !failed, outcome)
            }
            Err(error) if error.is_timeout() => {
                let waited = timeout;
                let result = Err(ForwardError::Timeout { upstream, waited });
                if timeout < self.config.deadline {
                    // The caller gave less time than the upstream is allowed: running out of it
                    // says nothing about the upstream (as for every call, `Upstream::settle`).
                    drop(permit);
                    self.count("unavailable");
                    tracing::warn!(%url, "forwarded request ran out of its caller's time");
                    return result;
                }
                (result, false, "unavailable")
            }
            Err(error) if error.is_connect() => {
                let reason = error.to_string();
                (
                    Err(ForwardError::Unreachable { upstream, reason }),
                    false,
                    "unavailable",
                )
            }
            Err(error) => {
                // `{:#}`-style detail: reqwest's own message is only "error sending request".
                let reason = microshop_telemetry::error_chain(&error);
                (
                    Err(ForwardError::Malformed { upstream, reason }),
                    false,
                    "unexpected",
                )
            }
        };
        self.show(permit.record(healthy));
        self.count(outcome);
        if let Err(error) = &result {
            tracing::warn!(%url, %error, "forwarded request got no answer");
        }
        result
    }
}
