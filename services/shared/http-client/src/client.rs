//! One upstream service: base URL, retrying client, breaker, metrics.

use microshop_telemetry::trace;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{
    Jitter, RetryTransientMiddleware, Retryable, RetryableStrategy, default_on_request_failure,
};
use serde::de::DeserializeOwned;

use crate::breaker::Breaker;
use crate::metrics::UpstreamMetrics;

/// Tunables of an upstream; the defaults are DESIGN §6's.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Whole-call deadline, retries included.
    pub deadline: Duration,
    /// Retries after the first attempt (idempotent calls only).
    pub max_retries: u32,
    /// Consecutive failed calls that open the breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open before one probe.
    pub breaker_cool_down: Duration,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(3),
            max_retries: 3,
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(3),
        }
    }
}

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
    /// Down, slow, 5xx or breaker open: try again later (the caller answers 503).
    #[error("{upstream} is unavailable: {reason}")]
    Unavailable {
        /// Upstream name.
        upstream: &'static str,
        /// What happened, for logs.
        reason: String,
        /// When trying again makes sense.
        retry_after_secs: u32,
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

/// Retry connect errors, time-outs, 502, 503 and 504; nothing else.
struct TransientOnly;

impl RetryableStrategy for TransientOnly {
    fn handle(
        &self,
        result: &Result<reqwest::Response, reqwest_middleware::Error>,
    ) -> Option<Retryable> {
        match result {
            Ok(response) => matches!(
                response.status(),
                StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            )
            .then_some(Retryable::Transient),
            Err(error) => default_on_request_failure(error),
        }
    }
}

/// A service this one calls.
pub struct Upstream {
    name: &'static str,
    base_url: String,
    client: ClientWithMiddleware,
    breaker: Breaker,
    config: UpstreamConfig,
    metrics: UpstreamMetrics,
}

impl Upstream {
    /// An upstream called `name` (the metrics label, e.g. `user-service`) at `base_url`.
    pub fn new(
        name: &'static str,
        base_url: impl Into<String>,
        config: UpstreamConfig,
        metrics: UpstreamMetrics,
    ) -> Self {
        let per_attempt = config.deadline / (config.max_retries + 1).max(1);
        let http = reqwest::Client::builder()
            .connect_timeout(per_attempt.min(Duration::from_millis(500)))
            .timeout(per_attempt)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("a client with only time-outs set builds");
        let policy = ExponentialBackoff::builder()
            .retry_bounds(Duration::from_millis(25), Duration::from_millis(400))
            .jitter(Jitter::Bounded)
            .build_with_max_retries(config.max_retries);
        let client = ClientBuilder::new(http)
            .with(RetryTransientMiddleware::new_with_policy_and_strategy(
                policy,
                TransientOnly,
            ))
            .build();
        metrics.breaker.with_label_values(&[name]).set(0);
        Self {
            name,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            client,
            breaker: Breaker::new(config.breaker_threshold, config.breaker_cool_down),
            config,
            metrics,
        }
    }

    /// `GET path` (an idempotent read, so it is retried) decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, UpstreamError> {
        if let Err(wait) = self.breaker.admit() {
            self.count("rejected_open_breaker");
            return Err(self.unavailable(
                "circuit breaker is open after repeated failures".to_owned(),
                wait,
            ));
        }
        let started = Instant::now();
        let url = format!("{}{path}", self.base_url);
        let result = tokio::time::timeout(self.config.deadline, self.fetch(&url, path)).await;
        let result = result.unwrap_or_else(|_| {
            Err(self.unavailable(
                format!("no answer within {} ms", self.config.deadline.as_millis()),
                Duration::ZERO,
            ))
        });
        let failed = matches!(result, Err(UpstreamError::Unavailable { .. }));
        let state = self.breaker.record(!failed);
        self.metrics
            .breaker
            .with_label_values(&[self.name])
            .set(state.gauge());
        let outcome = match &result {
            Ok(_) => "ok",
            Err(UpstreamError::NotFound { .. }) => "not_found",
            Err(UpstreamError::Unavailable { .. }) => "unavailable",
            Err(UpstreamError::Unexpected { .. }) => "unexpected",
        };
        self.count(outcome);
        let duration_ms = started.elapsed().as_millis();
        if let Err(error @ UpstreamError::Unavailable { .. }) = &result {
            tracing::warn!(%url, duration_ms, breaker = ?state, %error, "upstream call failed");
        } else {
            tracing::debug!(%url, duration_ms, outcome, "upstream call");
        }
        result
    }

    async fn fetch<T: DeserializeOwned>(&self, url: &str, path: &str) -> Result<T, UpstreamError> {
        let response = self
            .client
            .get(url)
            // The caller's trace continues in the upstream (W3C trace context).
            .header(trace::TRACEPARENT, trace::outgoing())
            .send()
            .await
            .map_err(|error| self.unavailable(error.to_string(), Duration::ZERO))?;
        match response.status() {
            status if status.is_success() => {
                response
                    .json::<T>()
                    .await
                    .map_err(|error| UpstreamError::Unexpected {
                        upstream: self.name,
                        reason: format!("undecodable body: {error}"),
                    })
            }
            StatusCode::NOT_FOUND => Err(UpstreamError::NotFound {
                upstream: self.name,
                path: path.to_owned(),
            }),
            status if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                Err(self.unavailable(format!("answered {status}"), Duration::ZERO))
            }
            status => Err(UpstreamError::Unexpected {
                upstream: self.name,
                reason: format!("answered {status}"),
            }),
        }
    }

    fn unavailable(&self, reason: String, wait: Duration) -> UpstreamError {
        let retry_after_secs = u32::try_from(wait.as_secs()).unwrap_or(u32::MAX).max(1);
        UpstreamError::Unavailable {
            upstream: self.name,
            reason,
            retry_after_secs,
        }
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .requests
            .with_label_values(&[self.name, outcome])
            .inc();
    }
}
