//! What the order service's adapters (routes, consumers, background tasks) and use cases share.

use std::sync::Arc;

use microshop_db::Db;
use microshop_messaging::outbox::Outbox;

use crate::cart::Carts;
use crate::catalog::Catalog;
use crate::metrics::OrderMetrics;
use crate::upstreams::Upstreams;

/// The service's handles; cheap to clone.
#[derive(Clone)]
pub struct App {
    /// `orders_db`, for reads.
    pub db: Db,
    /// Its outbox: writes and their events go through its transactions.
    pub outbox: Outbox,
    /// The product and user services.
    pub upstreams: Arc<Upstreams>,
    /// `orders_total`.
    pub metrics: OrderMetrics,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl: std::time::Duration,
    /// Most open (unsettled or unpaid) orders one buyer may have.
    pub max_open_orders: i64,
    /// The products the order service knows (its read model, completed on demand).
    pub catalog: Catalog,
    /// The users' carts, in Redis.
    pub carts: Carts,
    /// The currency of every price (ISO 4217).
    pub currency: String,
}
