//! Outbound HTTP between Microshop services (DESIGN §6):
//!
//! - one deadline per call (3 s by default), retries included;
//! - up to 3 retries with jittered exponential backoff, only for idempotent reads, and only on
//!   connect errors, time-outs, 502, 503 and 504;
//! - a circuit breaker per upstream that opens after consecutive failures and lets one probe
//!   through after a few seconds;
//! - errors classified for the caller: the upstream said "no such thing" ([`UpstreamError::NotFound`],
//!   our 422) or the upstream cannot answer now ([`UpstreamError::Unavailable`], our 503).

mod breaker;
mod client;
mod metrics;

pub use breaker::BreakerState;
pub use client::{Upstream, UpstreamConfig, UpstreamError};
pub use metrics::UpstreamMetrics;
