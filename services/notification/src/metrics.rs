//! The notification service's own metrics: `notifications_total{channel,outcome}`,
//! `notifications_queued` and `notifications_oldest_queued_seconds`.

use std::time::Duration;

use microshop_db::Db;
use prometheus::{Gauge, IntCounterVec, IntGauge, Opts, Registry};
use tokio_util::sync::CancellationToken;

use crate::domain::Channel;

/// How often the queue is measured.
const QUEUE_POLL: Duration = Duration::from_secs(5);

/// What notifications did.
#[derive(Clone)]
pub struct NotificationMetrics {
    total: IntCounterVec,
    queued: IntGauge,
    oldest: Gauge,
}

impl NotificationMetrics {
    /// Registers on the service's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let total = IntCounterVec::new(
            Opts::new(
                "notifications_total",
                "Notifications by channel (email, sms) and outcome: queued, sent (handed to the \
                 SMTP server or SMS provider, or logged), retried (an attempt failed, another is \
                 due), failed (given up).",
            ),
            &["channel", "outcome"],
        )?;
        let queued = IntGauge::new(
            "notifications_queued",
            "Notifications waiting to be sent (first attempt or a retry).",
        )?;
        let oldest = Gauge::new(
            "notifications_oldest_queued_seconds",
            "Age of the oldest notification still waiting to be sent (0 when none waits).",
        )?;
        registry.register(Box::new(total.clone()))?;
        registry.register(Box::new(queued.clone()))?;
        registry.register(Box::new(oldest.clone()))?;
        for channel in [Channel::Email, Channel::Sms] {
            for outcome in ["queued", "sent", "retried", "failed"] {
                total.with_label_values(&[channel.as_str(), outcome]);
            }
        }
        Ok(Self {
            total,
            queued,
            oldest,
        })
    }

    /// One more notification on `channel` with `outcome`.
    pub fn count(&self, channel: Channel, outcome: &str) {
        self.total
            .with_label_values(&[channel.as_str(), outcome])
            .inc();
    }

    /// Measures the queue every 5 s until `shutdown`.
    pub async fn watch_queue(self, db: Db, shutdown: CancellationToken) {
        loop {
            match crate::db::notifications::queue_stats(&db).await {
                Ok((queued, oldest)) => {
                    self.queued.set(queued);
                    self.oldest.set(oldest);
                }
                Err(error) => tracing::debug!(%error, "cannot measure the notification queue"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(QUEUE_POLL) => {}
            }
        }
    }
}
