//! What the order service's adapters (routes, consumers, background tasks) and use cases share.

use std::sync::Arc;

use microshop_db::Db;
use microshop_messaging::outbox::Outbox;

use crate::metrics::OrderMetrics;
use crate::upstreams::Upstreams;

/// The service's handles; cheap to clone.
#[derive(Clone)]
pub struct App {
    /// `orders_db`, for reads.
    pub db: Db,
    /// Its outbox: writes and their events go through its transactions.
    pub outbox: Outbox,
    /// The product service.
    pub upstreams: Arc<Upstreams>,
    /// `orders_total`.
    pub metrics: OrderMetrics,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl: std::time::Duration,
    /// Most open (unsettled or unpaid) orders one buyer may have.
    pub max_open_orders: i64,
}
