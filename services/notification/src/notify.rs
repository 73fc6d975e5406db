//! Queueing a notification, the write protocol of everything that notifies (the consumer of the
//! shop's events, an admin's request): the notification row and its task for the sender
//! (`notification.requested`) in one transaction through the outbox, so a notification is
//! never stored without being sent nor sent without being stored. A marketing message to a user
//! who turned marketing off is not queued.

use microshop_events::{Envelope, Event, NotificationRequested};
use microshop_messaging::outbox::OutboxTransaction;

use crate::db::notifications::{self, NewNotification};
use crate::db::people;
use crate::domain::{Category, Channel, Rendered};

/// A notification to queue.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The user it is for (their address is looked up when it is sent, unless `recipient`).
    pub user_id: Option<i64>,
    /// How it travels.
    pub channel: Channel,
    /// Whether the user may have turned it off.
    pub category: Category,
    /// Which message (`welcome`, ..., `custom`).
    pub template: &'a str,
    /// An address or number given instead of the user's.
    pub recipient: Option<&'a str>,
    /// What it says.
    pub message: Rendered,
    /// The event that caused it, whose trace the task continues.
    pub cause: Option<&'a Envelope>,
}

/// Queues `request` in `tx`; its id, or `None` when the user does not want it.
pub async fn queue(
    tx: &mut OutboxTransaction,
    request: &Request<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    if request.category == Category::Marketing {
        if let Some(user_id) = request.user_id {
            if !people::wants_marketing(&mut **tx, user_id).await? {
                return Ok(None);
            }
        }
    }
    let record = NewNotification {
        user_id: request.user_id,
        channel: request.channel.as_str(),
        category: request.category.as_str(),
        template: request.template,
        recipient: request.recipient,
        subject: Some(request.message.subject.as_str()),
        body_text: &request.message.text,
        body_html: request.message.html.as_deref(),
        source_event_id: request.cause.map(|cause| cause.id),
    };
    let id = notifications::insert(tx, &record).await?;
    let task = Envelope::new(Event::NotificationRequested(NotificationRequested {
        notification_id: id,
    }));
    let task = match request.cause {
        Some(cause) => task.caused_by(cause),
        None => task,
    };
    tx.enqueue(&[task]).await?;
    Ok(Some(id))
}
