//! The order service's own metrics: `orders_total{status}`.

use prometheus::{IntCounterVec, Opts, Registry};

use crate::domain::OrderStatus;

/// Counts orders entering each status.
#[derive(Clone)]
pub struct OrderMetrics {
    orders: IntCounterVec,
}

impl OrderMetrics {
    /// Registers on the service's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let orders = IntCounterVec::new(
            Opts::new(
                "orders_total",
                "Orders that entered a status: PENDING when accepted, then CONFIRMED or REJECTED.",
            ),
            &["status"],
        )?;
        registry.register(Box::new(orders.clone()))?;
        for status in [
            OrderStatus::Pending,
            OrderStatus::Confirmed,
            OrderStatus::Rejected,
        ] {
            orders.with_label_values(&[status.as_str()]);
        }
        Ok(Self { orders })
    }

    /// One more order in `status`.
    pub fn entered(&self, status: OrderStatus) {
        self.orders.with_label_values(&[status.as_str()]).inc();
    }
}
