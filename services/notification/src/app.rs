//! What the notification service's adapters and use cases share.

use std::sync::Arc;

use microshop_db::Db;
use microshop_messaging::outbox::Outbox;

use crate::metrics::NotificationMetrics;
use crate::transport::Transports;

/// How sending is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a notification is given up.
    pub max_attempts: i32,
    /// First wait.
    pub base: std::time::Duration,
    /// Longest wait.
    pub max: std::time::Duration,
}

/// The service's handles; cheap to clone.
#[derive(Clone)]
pub struct App {
    /// `notifications_db`, for reads and the sender's state changes.
    pub db: Db,
    /// Its outbox: notifications and their tasks go through its transactions.
    pub outbox: Outbox,
    /// Where e-mail and text messages leave.
    pub transports: Arc<Transports>,
    /// `notifications_total` and the queue gauges.
    pub metrics: NotificationMetrics,
    /// The shop's public address (links in mails).
    pub shop_url: Arc<str>,
    /// How sending is retried.
    pub retry: RetryPolicy,
}
