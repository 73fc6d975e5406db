//! HTTP building blocks shared by every Microshop service, so that each service writes only its
//! routes and its domain rules:
//!
//! - [`ApiError`]: the one JSON error body (`{"error": {"code", "message"}}`);
//! - [`extract`]: `Json`, `Path` and `Query` extractors whose every rejection is a clear 4xx;
//! - [`idempotency`]: the `Idempotency-Key` header and the replayed mark;
//! - [`health`]: `/health`, `/health/live`, `/health/ready`;
//! - [`metrics`]: per-route request counts and latency histograms on `/metrics`;
//! - [`server`]: the middleware stack, `/openapi.json`, binding and graceful shutdown;
//! - [`pagination`] and [`validation`]: the HTTP side of `microshop-domain`'s `Page` and
//!   `ValidationError`.

pub mod client_address;
mod deadline;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod schema;
mod serve;
pub mod server;
pub mod shutdown;
mod supervise;
pub mod validation;

pub use client_address::{ClientAddress, ClientAddressHeader};
pub use error::ApiError;
pub use extract::{Json, Path, Query};
pub use health::Health;
pub use metrics::Metrics;
pub use pagination::PageQuery;
pub use server::{HttpServer, ServerConfig};
