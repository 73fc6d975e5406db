//! The API gateway: one address for the whole shop. `/api/...` requests go to the service that
//! owns their path (one routing table, [`routing`]), bodies streamed both ways, with the
//! caller's `Authorization`, `x-request-id`, `traceparent` and remaining deadline; an upstream
//! that cannot answer is a JSON 503 (or 504) with `Retry-After`, never a bare error page. The
//! gateway keeps no state and has no database.
//!
//! This is the routing core of issue 21; authentication at the edge, rate limits, the
//! `/api/v1` rewrite table, aggregation and the storefront come on top of it.

pub mod config;
pub mod metrics;
pub mod proxy;
pub mod routing;
pub mod startup;

pub use config::Config;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "gateway";
