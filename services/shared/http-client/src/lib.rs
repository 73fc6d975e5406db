//! Outbound HTTP between Microshop services (DESIGN §6):
//!
//! - one deadline per call (3 s by default), retries included, shortened to the caller's own
//!   deadline when the work at hand has one ([`microshop_telemetry::deadline`]); a call with no
//!   time left fails at once without going out;
//! - every attempt has its own time-out (the first gets two thirds of the call's time, retries
//!   share the rest) and sends it as `x-request-timeout-ms`, so the upstream can stop work we no
//!   longer wait for;
//! - up to 3 retries with jittered exponential backoff, only for idempotent reads, and only on
//!   connect errors, time-outs, 502, 503, 504 and 429; a `Retry-After` is waited for when it fits
//!   the deadline and passed on to the caller when it does not; an `overloaded` answer (our
//!   services' load shedding) is never retried;
//! - a retry budget per upstream (Finagle-style, [`UpstreamConfig::retry_budget_ratio`]): retries
//!   add at most a fifth to an upstream's load, so a failing upstream is not buried under them;
//! - a circuit breaker per upstream that opens after consecutive failures and lets one probe
//!   through after a few seconds; a probe abandoned by a cancelled caller frees its slot, so the
//!   breaker cannot stick half-open;
//! - errors classified for the caller: the upstream said "no such thing" ([`UpstreamError::NotFound`],
//!   our 422) or the upstream cannot answer now ([`UpstreamError::Unavailable`], our 503, with the
//!   upstream's `Retry-After` when it gave one).

mod attempt;
mod breaker;
mod client;
mod config;
mod error;
mod forward;
mod metrics;

pub use breaker::BreakerState;
pub use client::Upstream;
pub use config::{UpstreamArgs, UpstreamConfig};
pub use error::UpstreamError;
pub use forward::ForwardError;
pub use metrics::UpstreamMetrics;
