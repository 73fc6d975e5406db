//! The `notifications` table: each notification with its delivery state. The sender's state
//! changes are single statements on their own (not in a consumer's transaction), so that what
//! it did with the transport is recorded even if the rest of its work is not.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// A notification as stored.
#[derive(Debug, Clone)]
pub struct NotificationRow {
    /// Its id (the e-mail's `Message-ID` carries it).
    pub id: i64,
    /// The user it is for.
    pub user_id: Option<i64>,
    /// `email` or `sms`.
    pub channel: String,
    /// `transactional` or `marketing`.
    pub category: String,
    /// Which message.
    pub template: String,
    /// The address or number, once known.
    pub recipient: Option<String>,
    /// The e-mail's subject.
    pub subject: Option<String>,
    /// Plain text.
    pub body_text: String,
    /// HTML (e-mail).
    pub body_html: Option<String>,
    /// `QUEUED`, `SENDING`, `SENT`, `FAILED`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// The event that caused it.
    pub source_event_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was given up.
    pub failed_at: Option<DateTime<Utc>>,
}

/// A notification to store, `QUEUED`.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    /// The user it is for.
    pub user_id: Option<i64>,
    /// `email` or `sms`.
    pub channel: &'a str,
    /// `transactional` or `marketing`.
    pub category: &'a str,
    /// Which message.
    pub template: &'a str,
    /// The address or number when given (else the user's, when it is sent).
    pub recipient: Option<&'a str>,
    /// The e-mail's subject.
    pub subject: Option<&'a str>,
    /// Plain text.
    pub body_text: &'a str,
    /// HTML.
    pub body_html: Option<&'a str>,
    /// The event that caused it.
    pub source_event_id: Option<Uuid>,
}

/// Stores `notification` `QUEUED`; its id.
pub async fn insert(
    conn: &mut PgConnection,
    notification: &NewNotification<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into notifications (user_id, channel, category, template, recipient, subject,
                                    body_text, body_html, status, source_event_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'QUEUED', $9) returning id",
        notification.user_id,
        notification.channel,
        notification.category,
        notification.template,
        notification.recipient,
        notification.subject,
        notification.body_text,
        notification.body_html,
        notification.source_event_id,
    )
    .fetch_one(conn)
    .await
}

/// Notification `id`.
pub async fn find(
    db: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<NotificationRow>, sqlx::Error> {
    sqlx::query_as!(
        NotificationRow,
        "select * from notifications where id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// Takes queued notification `id` for an attempt (`SENDING`, one more attempt), committed at
/// once; `None` when it is not queued (sent, given up, or taken by an attempt that did not
/// finish).
pub async fn claim(
    db: impl PgExecutor<'_>,
    id: i64,
) -> Result<Option<NotificationRow>, sqlx::Error> {
    sqlx::query_as!(
        NotificationRow,
        "update notifications set status = 'SENDING', attempts = attempts + 1, updated_at = now()
         where id = $1 and status = 'QUEUED' returning *",
        id
    )
    .fetch_optional(db)
    .await
}

/// Notification `id` was handed to `recipient`'s transport.
pub async fn sent(
    db: impl PgExecutor<'_>,
    id: i64,
    recipient: &str,
    note: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notifications
         set status = 'SENT', recipient = $2, last_error = $3, sent_at = now(), updated_at = now()
         where id = $1",
        id,
        recipient,
        note,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The attempt on notification `id` failed with `error`; the next is due after `wait`.
pub async fn retry_later(
    db: impl PgExecutor<'_>,
    id: i64,
    error: &str,
    wait: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notifications
         set status = 'QUEUED', last_error = $2, updated_at = now(),
             next_attempt_at = now() + make_interval(secs => $3)
         where id = $1",
        id,
        error,
        wait.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Notification `id` is given up with `error`.
pub async fn failed(db: impl PgExecutor<'_>, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update notifications
         set status = 'FAILED', last_error = $2, failed_at = now(), updated_at = now()
         where id = $1",
        id,
        error,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Takes up to `limit` notifications whose retry is due, leasing each for `lease` (their task
/// is being sent again); their ids.
pub async fn due_retries(
    conn: &mut PgConnection,
    limit: i64,
    lease: Duration,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "update notifications set next_attempt_at = now() + make_interval(secs => $2)
         where id in (
           select id from notifications
           where status = 'QUEUED' and attempts > 0 and next_attempt_at <= now()
           order by next_attempt_at limit $1 for update skip locked)
         returning id",
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(conn)
    .await
}

/// What a list is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only this user's.
    pub user_id: Option<i64>,
    /// Only this channel's.
    pub channel: Option<&'a str>,
    /// Only in this status.
    pub status: Option<&'a str>,
}

/// A page of notifications, newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    sqlx::query_as!(
        NotificationRow,
        "select * from notifications
         where ($1::bigint is null or user_id = $1)
           and ($2::text is null or channel = $2)
           and ($3::text is null or status = $3)
         order by id desc limit $4 offset $5",
        filter.user_id,
        filter.channel,
        filter.status,
        limit,
        offset,
    )
    .fetch_all(db)
    .await
}

/// How many notifications are queued, and how long the oldest has waited (seconds).
pub async fn queue_stats(db: impl PgExecutor<'_>) -> Result<(i64, f64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) as "count!",
                  coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as "oldest!"
           from notifications where status = 'QUEUED'"#
    )
    .fetch_one(db)
    .await?;
    Ok((row.count, row.oldest))
}
