//! HTTP building blocks shared by every Microshop service, so that each service writes only its
//! routes and its domain rules:
//!
//! - [`ApiError`]: the one JSON error body (`{"error": {"code", "message"}}`);
//! - [`extract`]: `Json`, `Path` and `Query` extractors whose every rejection is a clear 4xx;
//! - [`health`]: `/health`, `/health/live`, `/health/ready`;
//! - [`metrics`]: per-route request counts and latency histograms on `/metrics`;
//! - [`server`]: the middleware stack, `/openapi.json`, binding and graceful shutdown.

pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod money;
pub mod pagination;
pub mod server;
pub mod shutdown;
pub mod validation;

pub use error::ApiError;
pub use extract::{Json, Path, Query};
pub use health::Health;
pub use metrics::Metrics;
pub use money::Price;
pub use pagination::{Page, PageQuery};
pub use server::{HttpServer, ServerConfig};
pub use validation::{Id, ValidationError};
