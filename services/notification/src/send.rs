//! Sending one notification, the sender's protocol: the notification is claimed (`SENDING`,
//! one more attempt) in a statement committed before the transport is called, then handed to
//! the SMTP server or the SMS provider, then recorded `SENT`. A task that finds its
//! notification already `SENDING` comes after an attempt that stopped half-way (the process
//! died between the hand-over and the record): it may have been delivered, so it is recorded
//! `SENT` as unconfirmed and never sent a second time. A failure that another attempt may cure
//! waits (`QUEUED`, `next_attempt_at` backing off) for the retry sweep; the last attempt, or a
//! failure no attempt can cure, gives it up (`FAILED`).

use crate::app::App;
use crate::db::notifications::{self, NotificationRow};
use crate::db::people;
use crate::domain::{Channel, Rendered, Status, retry_delay};
use crate::transport::{SendError, Sent};

/// What an attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Handed to the transport (or only logged, for the log transports).
    Sent(Sent),
    /// Failed; another attempt is due later.
    Retry(String),
    /// Given up (`FAILED`): why.
    GaveUp(String),
    /// Nothing to do: sent, given up, unknown, or claimed by an attempt that did not finish.
    Skipped(&'static str),
}

/// One attempt to send notification `id`.
pub async fn one(app: &App, id: i64) -> Result<(Attempt, Option<Channel>), sqlx::Error> {
    let Some(notification) = notifications::claim(&app.db, id).await? else {
        return Ok((settle_unclaimed(app, id).await?, None));
    };
    let channel = Channel::parse(&notification.channel).unwrap_or(Channel::Email);
    let result = match recipient(app, &notification).await? {
        Some(to) => deliver(app, &notification, channel, &to)
            .await
            .map(|sent| (sent, to)),
        None => Err(SendError::Transient(format!(
            "no {} known for user {} yet",
            if channel == Channel::Email {
                "e-mail address"
            } else {
                "phone number"
            },
            notification.user_id.unwrap_or_default()
        ))),
    };
    let attempt = match result {
        Ok((sent, to)) => {
            let note = (sent == Sent::Logged).then_some("only logged: the transport is `log`");
            notifications::sent(&app.db, id, &to, note).await?;
            Attempt::Sent(sent)
        }
        Err(SendError::Transient(error)) if notification.attempts < app.retry.max_attempts => {
            let wait = retry_delay(notification.attempts, app.retry.base, app.retry.max);
            notifications::retry_later(&app.db, id, &error, wait).await?;
            tracing::warn!(notification.id = id, attempts = notification.attempts,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), %error,
                "notification not sent; trying again later");
            Attempt::Retry(error)
        }
        Err(SendError::Transient(error) | SendError::Permanent(error)) => {
            notifications::failed(&app.db, id, &error).await?;
            tracing::error!(notification.id = id, attempts = notification.attempts, %error,
                "notification given up");
            Attempt::GaveUp(error)
        }
    };
    Ok((attempt, Some(channel)))
}

/// What a task finds when its notification cannot be claimed.
async fn settle_unclaimed(app: &App, id: i64) -> Result<Attempt, sqlx::Error> {
    let Some(row) = notifications::find(&app.db, id).await? else {
        return Ok(Attempt::Skipped("unknown"));
    };
    if Status::parse(&row.status) != Some(Status::Sending) {
        return Ok(Attempt::Skipped("done"));
    }
    let to = row.recipient.clone().unwrap_or_default();
    let note = "delivery unconfirmed: the sender stopped after handing it over; not sent again";
    notifications::sent(&app.db, id, &to, Some(note)).await?;
    tracing::warn!(notification.id = id, "{note}");
    Ok(Attempt::Skipped("unconfirmed"))
}

/// The address or number to send to: the one given, else the user's.
async fn recipient(
    app: &App,
    notification: &NotificationRow,
) -> Result<Option<String>, sqlx::Error> {
    if let Some(given) = &notification.recipient {
        return Ok(Some(given.clone()));
    }
    let Some(user_id) = notification.user_id else {
        return Ok(None);
    };
    let user = people::user(&app.db, user_id).await?;
    Ok(match Channel::parse(&notification.channel) {
        Some(Channel::Email) => user.map(|user| user.email),
        // Phone numbers are not in the user events: text messages name their number.
        _ => None,
    })
}

/// Hands `notification` to its transport.
async fn deliver(
    app: &App,
    notification: &NotificationRow,
    channel: Channel,
    to: &str,
) -> Result<Sent, SendError> {
    match channel {
        Channel::Email => {
            let message = Rendered {
                subject: notification.subject.clone().unwrap_or_default(),
                text: notification.body_text.clone(),
                html: notification.body_html.clone(),
            };
            app.transports.email(notification.id, to, &message).await
        }
        Channel::Sms => {
            app.transports
                .sms(notification.id, to, &notification.body_text)
                .await
        }
    }
}
