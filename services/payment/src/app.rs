//! What the payment service's adapters (routes, consumer, background tasks) and use cases share.

use std::sync::Arc;

use microshop_db::Db;
use microshop_messaging::outbox::Outbox;
use secrecy::SecretString;
use tokio::sync::Notify;

use crate::metrics::PaymentMetrics;
use crate::orders::Orders;
use crate::provider::Provider;

/// The service's handles; cheap to clone.
#[derive(Clone)]
pub struct App {
    /// `payments_db`, for reads.
    pub db: Db,
    /// Its outbox: writes and their events go through its transactions.
    pub outbox: Outbox,
    /// The order service (amounts and owners of orders).
    pub orders: Arc<Orders>,
    /// The card provider's API.
    pub provider: Arc<Provider>,
    /// `payments_total`, refunds, webhooks.
    pub metrics: PaymentMetrics,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl: std::time::Duration,
    /// The secrets webhooks may be signed with.
    pub webhook_secrets: Arc<[SecretString]>,
    /// Wakes the refund dispatcher when a refund was asked for.
    pub refunds_due: Arc<Notify>,
}
