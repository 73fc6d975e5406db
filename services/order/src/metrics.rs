//! The order service's own metrics: `orders_total{status}` and `orders_pending_stale`.

use std::time::Duration;

use microshop_db::Db;
use prometheus::{IntCounterVec, IntGauge, Opts, Registry};
use tokio_util::sync::CancellationToken;

use crate::domain::OrderStatus;

/// An order still PENDING after this long is stale: its saga should have settled it.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// How often stale orders are counted.
const STALE_POLL: Duration = Duration::from_secs(15);

/// Counts orders entering each status, and those stuck in PENDING.
#[derive(Clone)]
pub struct OrderMetrics {
    orders: IntCounterVec,
    stale: IntGauge,
}

impl OrderMetrics {
    /// Registers on the service's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let orders = IntCounterVec::new(
            Opts::new(
                "orders_total",
                "Orders that entered a status: PENDING when accepted, then CONFIRMED or REJECTED, \
                 PAID, SHIPPED, DELIVERED, CANCELLED.",
            ),
            &["status"],
        )?;
        registry.register(Box::new(orders.clone()))?;
        let stale = IntGauge::new(
            "orders_pending_stale",
            "Orders PENDING for more than 60 s: the saga has not settled them (is the product \
             service consuming?).",
        )?;
        registry.register(Box::new(stale.clone()))?;
        for status in OrderStatus::ALL {
            orders.with_label_values(&[status.as_str()]);
        }
        Ok(Self { orders, stale })
    }

    /// One more order in `status`.
    pub fn entered(&self, status: OrderStatus) {
        self.orders.with_label_values(&[status.as_str()]).inc();
    }
}

impl OrderMetrics {
    /// Counts stale PENDING orders every 15 s until `shutdown`.
    pub async fn watch_stale(self, db: Db, shutdown: CancellationToken) {
        loop {
            match crate::db::orders::count_pending_older_than(&db, STALE_AFTER).await {
                Ok(count) => self.stale.set(count),
                Err(error) => tracing::debug!(%error, "cannot count stale pending orders"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(STALE_POLL) => {}
            }
        }
    }
}
