//! The notification service's own messages: tasks for its sender, on its work queue
//! `notification.tasks` (never on a producer's exchange).

use serde::{Deserialize, Serialize};

/// `notification.requested`: send notification `notification_id` (a row of the notification
/// service's database). Sent once when the notification is stored, and again for each retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRequested {
    /// The notification.
    pub notification_id: i64,
}
