//! `payments_db`: payments, refunds, the provider's events already applied, idempotency keys.
//! Queries are checked at compile time against `.sqlx/` (`make sqlx-prepare SERVICES=payment`).

pub mod idempotency;
pub mod payments;
pub mod provider_events;
pub mod refunds;
