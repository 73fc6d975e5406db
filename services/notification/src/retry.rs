//! The retry sweep: notifications whose last attempt failed and whose next one is due get a new
//! task for the sender, through the outbox. The wait grows with each attempt (the sender sets
//! it), so an SMTP server that is down gets a few attempts a minute, never a hot loop; each
//! notification is leased while its task travels, so replicas do not send it twice.

use std::time::Duration;

use microshop_events::{Envelope, Event, NotificationRequested};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::db::notifications;

/// How often due retries are looked for.
const INTERVAL: Duration = Duration::from_millis(500);

/// How long a notification's retry task may take to be picked up before another is sent.
const LEASE: Duration = Duration::from_secs(60);

/// Most retries queued per round.
const BATCH: i64 = 200;

/// Queues due retries until `shutdown`.
pub async fn watch(app: App, shutdown: CancellationToken) {
    loop {
        if let Err(error) = round(&app).await {
            tracing::debug!(%error, "cannot queue due retries");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

/// One round: tasks for the notifications whose retry is due; how many.
pub async fn round(app: &App) -> Result<usize, sqlx::Error> {
    let mut tx = app.outbox.begin().await?;
    let due = notifications::due_retries(&mut tx, BATCH, LEASE).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let tasks: Vec<Envelope> = due
        .iter()
        .map(|&notification_id| {
            Envelope::new(Event::NotificationRequested(NotificationRequested {
                notification_id,
            }))
        })
        .collect();
    tx.enqueue(&tasks).await?;
    tx.commit().await?;
    Ok(due.len())
}
