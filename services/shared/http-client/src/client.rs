//! One upstream service (base URL, HTTP client, breaker, retry budget, metrics) and the attempt
//! loop of a call: deadline, per-attempt time-outs, retries, `Retry-After`.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use microshop_telemetry::deadline;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::retry::budget::{Budget, TpsBudget};

use crate::attempt::{self, Failure, Request};
use crate::breaker::{Breaker, BreakerState, Permit};
use crate::metrics::UpstreamMetrics;
use crate::{UpstreamConfig, UpstreamError};

/// How long a first attempt's deposit in the retry budget counts (Finagle's default).
const RETRY_BUDGET_WINDOW: Duration = Duration::from_secs(10);

/// A retry left with less time than this is not sent: it could hardly be answered in time and
/// would only add load.
const MIN_RETRY_TIME: Duration = Duration::from_millis(10);

/// The header that makes a `POST` safe to retry.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A call that failed, and whether it was for lack of time.
struct Failed {
    error: UpstreamError,
    timed_out: bool,
}

/// A service this one calls.
pub struct Upstream {
    pub(crate) name: &'static str,
    pub(crate) base_url: String,
    pub(crate) client: reqwest::Client,
    pub(crate) breaker: Breaker,
    budget: TpsBudget,
    pub(crate) config: UpstreamConfig,
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
        // Each attempt has its own time-out (see `attempts`); this one only stops a connect that
        // takes longer than any healthy one on the cluster network from eating a whole attempt.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            // Below the services' keep-alive idle limit (HTTP_HEADER_READ_TIMEOUT_MS, 10 s by
            // default), so a pooled connection is dropped here before the server closes it.
            .pool_idle_timeout(Duration::from_secs(5))
            .default_headers(config.headers.clone())
            .build()
            .expect("a client with only time-outs set builds");
        // `TpsBudget::new` panics outside these bounds (NaN included), so clamp instead.
        let ratio = if config.retry_budget_ratio.is_nan() {
            0.0
        } else {
            config.retry_budget_ratio.clamp(0.0, 1000.0)
        };
        let budget = TpsBudget::new(
            RETRY_BUDGET_WINDOW,
            config.retry_budget_min_per_sec.min(1_000_000),
            ratio,
        );
        metrics.breaker.with_label_values(&[name]).set(0);
        // Exported from the start (at 0), so dashboards and alerts see the series before the
        // first retry.
        for outcome in ["sent", "budget_exhausted"] {
            metrics.retries.with_label_values(&[name, outcome]);
        }
        Self {
            name,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            client,
            breaker: Breaker::new(config.breaker_threshold, config.breaker_cool_down),
            budget,
            config,
            metrics,
        }
    }

    /// `GET path` (an idempotent read, so it is retried) decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, UpstreamError> {
        self.get_json_with(path, &HeaderMap::new()).await
    }

    /// [`get_json`](Self::get_json) with `headers` besides the client's own (e.g. the caller's
    /// `Authorization`, relayed so the upstream applies the caller's own rights).
    pub async fn get_json_with<T: DeserializeOwned>(
        &self,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<T, UpstreamError> {
        self.call(Method::GET, path, headers, None, true).await
    }

    /// `POST path` with `body` as JSON, the answer decoded from JSON. Retried like a read only
    /// when `headers` carry an `Idempotency-Key` (the upstream then applies it once however
    /// often it arrives); sent once otherwise.
    pub async fn post_json_with<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        headers: &HeaderMap,
    ) -> Result<T, UpstreamError> {
        let body = self.encode(body)?;
        let retry = headers.contains_key(IDEMPOTENCY_KEY);
        self.call(Method::POST, path, headers, Some(&body), retry)
            .await
    }

    /// `PUT path` with `body` as JSON (idempotent by HTTP's definition, so retried like a read),
    /// the answer decoded from JSON.
    pub async fn put_json_with<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        headers: &HeaderMap,
    ) -> Result<T, UpstreamError> {
        let body = self.encode(body)?;
        self.call(Method::PUT, path, headers, Some(&body), true)
            .await
    }

    /// `DELETE path` (idempotent, so retried), the answer decoded from JSON (an empty answer
    /// as `null`: ask for `()` or an `Option`).
    pub async fn delete_with<T: DeserializeOwned>(
        &self,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<T, UpstreamError> {
        self.call(Method::DELETE, path, headers, None, true).await
    }

    fn encode<B: Serialize + ?Sized>(&self, body: &B) -> Result<Vec<u8>, UpstreamError> {
        serde_json::to_vec(body).map_err(|error| UpstreamError::Unexpected {
            upstream: self.name,
            reason: format!("cannot encode the request: {error}"),
        })
    }

    /// One call: deadline, breaker, retry budget, attempts, metrics.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
        retry: bool,
    ) -> Result<T, UpstreamError> {
        let started = Instant::now();
        let url = format!("{}{path}", self.base_url);
        let caller = deadline::remaining();
        let time = caller.map_or(self.config.deadline, |left| left.min(self.config.deadline));
        if time.as_millis() == 0 {
            self.count("rejected_no_time_left");
            let reason = "the caller's deadline has passed".to_owned();
            return Err(UpstreamError::unavailable(self.name, reason, None));
        }
        let permit = match self.breaker.admit() {
            Ok(permit) => permit,
            Err(wait) => {
                self.count("rejected_open_breaker");
                let reason = "circuit breaker is open after repeated failures".to_owned();
                return Err(UpstreamError::unavailable_for(self.name, reason, wait));
            }
        };
        if permit.is_probe() {
            self.show(BreakerState::HalfOpen);
        }
        // Every call earns its share of retries, whether or not it will need one.
        self.budget.deposit();
        let request = Request {
            method,
            url: &url,
            path,
            headers,
            body,
        };
        let call = self.attempts(&request, retry, started + time);
        let end = tokio::time::Instant::from_std(started + time);
        let result = tokio::time::timeout_at(end, call)
            .await
            .unwrap_or_else(|_| {
                Err(Failed {
                    error: UpstreamError::unavailable(
                        self.name,
                        format!("no answer within {} ms", time.as_millis()),
                        None,
                    ),
                    timed_out: true,
                })
            });
        let state = self.settle(permit, &result, time < self.config.deadline);
        let result = result.map_err(|failed| failed.error);
        self.report(&url, started, state, &result);
        result
    }

    /// Records the call's outcome in the breaker; returns the breaker's state after it.
    fn settle<T>(
        &self,
        permit: Permit<'_>,
        result: &Result<T, Failed>,
        caller_bound: bool,
    ) -> BreakerState {
        match result {
            Ok(_) => permit.record(true),
            // The caller gave less time than we would have waited: running out of it says nothing
            // about the upstream, and impatient callers must not open the breaker for everyone.
            Err(failed) if failed.timed_out && caller_bound => {
                drop(permit);
                self.breaker.state()
            }
            Err(failed) => {
                permit.record(!matches!(failed.error, UpstreamError::Unavailable { .. }))
            }
        }
    }

    /// Metrics and one log line per call.
    fn report<T>(
        &self,
        url: &str,
        started: Instant,
        state: BreakerState,
        result: &Result<T, UpstreamError>,
    ) {
        self.show(state);
        let outcome = match result {
            Ok(_) => "ok",
            Err(UpstreamError::NotFound { .. }) => "not_found",
            Err(UpstreamError::Unavailable { .. }) => "unavailable",
            Err(UpstreamError::Refused { .. }) => "refused",
            Err(UpstreamError::Unauthenticated { .. }) => "unauthenticated",
            Err(UpstreamError::Unexpected { .. }) => "unexpected",
        };
        self.count(outcome);
        let duration_ms = started.elapsed().as_millis();
        if let Err(error @ UpstreamError::Unavailable { .. }) = result {
            tracing::warn!(%url, duration_ms, breaker = ?state, %error, "upstream call failed");
        } else {
            tracing::debug!(%url, duration_ms, outcome, "upstream call");
        }
    }

    /// The first attempt and any retries, all done by `deadline`. The first attempt gets two
    /// thirds of the time: it is the one that usually answers, and cutting it short only to ask
    /// the same slow upstream again throws its work away. The retries share the rest evenly.
    async fn attempts<T: DeserializeOwned>(
        &self,
        request: &Request<'_>,
        retry: bool,
        deadline: Instant,
    ) -> Result<T, Failed> {
        let url = request.url;
        let mut backoff = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(25))
            .with_max_delay(Duration::from_millis(250))
            .with_jitter()
            .without_max_times()
            .build();
        let mut retries_left = if retry { self.config.max_retries } else { 0 };
        let total = deadline.saturating_duration_since(Instant::now());
        let mut timeout = if retries_left == 0 {
            total
        } else {
            total * 2 / 3
        };
        let mut attempt = 0_u32;
        loop {
            attempt += 1;
            let (reason, retry_after, timed_out) =
                match attempt::send(&self.client, self.name, request, timeout).await {
                    Ok(value) => return Ok(value),
                    Err(Failure::Final(error)) => {
                        return Err(Failed {
                            error,
                            timed_out: false,
                        });
                    }
                    Err(Failure::Transient {
                        reason,
                        retry_after,
                        timed_out,
                    }) => (reason, retry_after, timed_out),
                };
            let give_up = |why: &str| Failed {
                error: UpstreamError::unavailable(
                    self.name,
                    format!("{reason} (attempt {attempt}){why}"),
                    retry_after,
                ),
                timed_out,
            };
            if retries_left == 0 {
                return Err(give_up(""));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let asked = retry_after.map(|secs| Duration::from_secs(secs.into()));
            let wait = backoff
                .next()
                .unwrap_or_default()
                .max(asked.unwrap_or_default());
            if wait + MIN_RETRY_TIME > left {
                // An upstream's wait that outlasts our deadline is passed on to our caller.
                let why = if asked.is_some_and(|asked| asked + MIN_RETRY_TIME > left) {
                    "; it asks to wait longer than the time left"
                } else {
                    "; no time left for a retry"
                };
                return Err(give_up(why));
            }
            if !self.budget.withdraw() {
                self.count_retry("budget_exhausted");
                return Err(give_up("; retry budget exhausted"));
            }
            self.count_retry("sent");
            let wait_ms = wait.as_millis();
            tracing::debug!(%url, attempt, wait_ms, %reason, "retrying upstream call");
            tokio::time::sleep(wait).await;
            let left = deadline.saturating_duration_since(Instant::now());
            timeout = (left / retries_left).max(MIN_RETRY_TIME).min(left);
            retries_left -= 1;
        }
    }

    pub(crate) fn show(&self, state: BreakerState) {
        self.metrics
            .breaker
            .with_label_values(&[self.name])
            .set(state.gauge());
    }

    pub(crate) fn count(&self, outcome: &str) {
        self.metrics
            .requests
            .with_label_values(&[self.name, outcome])
            .inc();
    }

    fn count_retry(&self, outcome: &str) {
        self.metrics
            .retries
            .with_label_values(&[self.name, outcome])
            .inc();
    }
}
