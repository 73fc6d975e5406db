//! The notification service's consumer of its five queues: the shop's events
//! (`notification.user-events`, `.order-events`, `.payment-events`, `.product-events`: read
//! models and notifications, [`events`]) and its own tasks (`notification.tasks`: sending,
//! [`crate::send`]).

pub mod events;

use microshop_events::{Envelope, Event};
use microshop_messaging::consumer::{Handler, HandlerError, Outcome, Rejected};
use microshop_messaging::outbox::OutboxTransaction;

use crate::app::App;
use crate::domain::Channel;
use crate::send::{self, Attempt};

/// Counts to report once a batch committed.
#[derive(Debug, Default)]
pub struct Applied {
    queued: Vec<Channel>,
}

/// Applies events and sends tasks.
#[derive(Clone)]
pub struct NotificationHandler {
    app: App,
}

impl NotificationHandler {
    /// A handler with the service's handles.
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

impl Handler for NotificationHandler {
    type Applied = Applied;

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::NotificationRequested(_)) || events::handles(event)
    }

    async fn apply(
        &self,
        tx: &mut OutboxTransaction,
        batch: &[Envelope],
    ) -> Result<Outcome<Applied>, HandlerError> {
        let mut applied = Applied::default();
        let mut rejected = Vec::new();
        for envelope in batch {
            if let Event::NotificationRequested(task) = &envelope.event {
                let (attempt, channel) = send::one(&self.app, task.notification_id).await?;
                let channel = channel.unwrap_or(Channel::Email);
                match attempt {
                    Attempt::Sent(_) => self.app.metrics.count(channel, "sent"),
                    Attempt::Retry(_) => self.app.metrics.count(channel, "retried"),
                    Attempt::GaveUp(reason) => {
                        self.app.metrics.count(channel, "failed");
                        rejected.push(Rejected {
                            event_id: envelope.id,
                            reason: format!(
                                "notification {} given up: {reason}",
                                task.notification_id
                            ),
                        });
                    }
                    Attempt::Skipped(_) => {}
                }
            } else {
                applied
                    .queued
                    .extend(events::apply(tx, &self.app.shop_url, envelope).await?);
            }
        }
        Ok(Outcome { rejected, applied })
    }

    fn committed(&self, applied: Applied) {
        for channel in applied.queued {
            self.app.metrics.count(channel, "queued");
        }
    }
}
