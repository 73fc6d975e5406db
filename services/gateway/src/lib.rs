//! The API gateway: one address for the whole shop (DESIGN §1, §4).
//!
//! - The storefront's pages at `/` ([`storefront`]).
//! - `/api/...` requests go to the service that owns their path (one routing table,
//!   [`routing`]; the seed's `/api/v1` paths through one rewrite table), bodies streamed both
//!   ways, with the caller's `Authorization`, `x-request-id`, `traceparent` and remaining
//!   deadline, through each service's breaker ([`proxy`]); an upstream that cannot answer is a
//!   JSON 502/503/504 with `Retry-After`, never a bare error page.
//! - Protected routes without a valid token are refused at the edge ([`edge`]); every caller is
//!   rate limited in Redis ([`limiter`]); security headers, CORS and body caps
//!   ([`hardening`]).
//! - `GET /api/v1/orders/{id}/details` aggregates an order's parts ([`details`]).
//! - Public reads the services mark `Cache-Control: public` are kept for a second ([`cache`]).
//!
//! The gateway keeps no state of its own and has no database.

pub mod cache;
pub mod config;
pub mod details;
pub mod edge;
pub mod hardening;
pub mod limiter;
pub mod proxy;
pub mod routing;
pub mod startup;
pub mod storefront;
pub mod upstreams;

pub use config::Config;

/// The service name in logs, metrics and traces.
pub const SERVICE: &str = "gateway";
