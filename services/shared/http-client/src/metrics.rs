//! `upstream_requests_total{upstream,outcome}`, `upstream_retries_total{upstream,outcome}` and
//! `circuit_breaker_state{upstream}`.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

/// Metrics shared by every upstream of a service: register once, pass to each [`crate::Upstream`].
#[derive(Clone)]
pub struct UpstreamMetrics {
    pub(crate) requests: IntCounterVec,
    pub(crate) retries: IntCounterVec,
    pub(crate) breaker: IntGaugeVec,
}

impl UpstreamMetrics {
    /// Registers the metrics on `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "upstream_requests_total",
                "Calls to other services, by upstream and outcome (ok, not_found, unavailable, \
                 rejected_open_breaker, rejected_no_time_left, unexpected).",
            ),
            &["upstream", "outcome"],
        )
        .expect("metric definition is valid");
        let retries = IntCounterVec::new(
            Opts::new(
                "upstream_retries_total",
                "Retries of calls to other services, by upstream and outcome (sent, or \
                 budget_exhausted when the retry budget refused one).",
            ),
            &["upstream", "outcome"],
        )
        .expect("metric definition is valid");
        let breaker = IntGaugeVec::new(
            Opts::new(
                "circuit_breaker_state",
                "Circuit breaker per upstream: 0 closed, 1 open, 2 half-open.",
            ),
            &["upstream"],
        )
        .expect("metric definition is valid");
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(breaker.clone()))?;
        Ok(Self {
            requests,
            retries,
            breaker,
        })
    }
}
