//! The tunables of an upstream.

use std::time::Duration;

/// Tunables of an upstream; the defaults are DESIGN §6's.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Whole-call deadline, retries included. When the work at hand has a shorter deadline of its
    /// own ([`microshop_telemetry::deadline`]), that one bounds the call instead.
    pub deadline: Duration,
    /// Retries after the first attempt (idempotent calls only), within the deadline and the
    /// retry budget.
    pub max_retries: u32,
    /// Consecutive failed calls that open the breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open before one probe.
    pub breaker_cool_down: Duration,
    /// Retries allowed per call over the last ten seconds (Finagle's `percentCanRetry`, gRPC's
    /// retry throttling): 0.2 lets one call in five be retried, so while an upstream fails,
    /// retries add at most a fifth to its load instead of multiplying it by `max_retries + 1`.
    pub retry_budget_ratio: f32,
    /// Retries per second allowed whatever the ratio (averaged over the ten-second window), so a
    /// caller with little traffic can still retry a blip.
    pub retry_budget_min_per_sec: u32,
    /// Sent with every call (the caller's `X-Service-Key`; mark secrets sensitive).
    pub headers: reqwest::header::HeaderMap,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(3),
            max_retries: 3,
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(3),
            retry_budget_ratio: 0.2,
            retry_budget_min_per_sec: 5,
            headers: reqwest::header::HeaderMap::new(),
        }
    }
}

/// The settings of a service's upstream calls, from its environment (`#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct UpstreamArgs {
    /// Deadline of one call to another service, retries included.
    #[arg(long, env = "UPSTREAM_DEADLINE_MS", default_value_t = 3_000)]
    pub upstream_deadline_ms: u64,
    /// How long a circuit breaker stays open before it lets one probe through.
    #[arg(long, env = "BREAKER_COOL_DOWN_MS", default_value_t = 3_000)]
    pub breaker_cool_down_ms: u64,
}

impl UpstreamArgs {
    /// An upstream's tunables: these settings, `headers` sent with every call, the rest
    /// defaults.
    pub fn config(&self, headers: reqwest::header::HeaderMap) -> UpstreamConfig {
        UpstreamConfig {
            deadline: Duration::from_millis(self.upstream_deadline_ms),
            breaker_cool_down: Duration::from_millis(self.breaker_cool_down_ms),
            headers,
            ..UpstreamConfig::default()
        }
    }
}
