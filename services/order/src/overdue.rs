//! Every order ends. A `PENDING` order whose stock answer has not come within the reservation
//! timeout has its `order.created` sent again under the same event id (the product service
//! applies it once whichever copy arrives; a copy lost with a deleted queue is replaced). If it
//! is still `PENDING` one more timeout later it is `REJECTED` with a reason (`order.rejected`),
//! and an `order.cancelled` tells the product service to give back anything it may still reserve
//! for it. A `CONFIRMED` order still unpaid after the payment timeout is `CANCELLED` and its
//! stock given back the same way.
//!
//! Every sweep takes its rows with `for update skip locked`, so several replicas sweep side by
//! side without taking the same order twice, and an order being paid (its row locked by the
//! payment's transaction) is skipped: the next pass finds it `PAID`.

use std::collections::HashMap;
use std::time::Duration;

use microshop_events::Envelope;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::announce::{self, About, With};
use crate::app::App;
use crate::db::idempotency;
use crate::db::orders::{self, ItemRow, Swept};
use crate::domain::OrderStatus;

/// Orders handled per statement.
const BATCH: i64 = 100;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Orders whose `order.created` was sent again.
    pub redriven: usize,
    /// Orders rejected for want of an answer.
    pub rejected: usize,
    /// Orders cancelled for want of payment.
    pub cancelled: usize,
}

/// The timeouts the sweeps apply.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// How long a `PENDING` order waits for its stock answer (then again once it is re-sent).
    pub reservation: Duration,
    /// How long a `CONFIRMED` order waits for its payment.
    pub payment: Duration,
}

/// Runs passes until `shutdown`, a few per timeout.
pub async fn watch(app: App, timeouts: Timeouts, shutdown: CancellationToken) {
    let shortest = timeouts.reservation.min(timeouts.payment);
    let every = (shortest / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(error) = pass(&app, timeouts).await {
            tracing::warn!(%error, "overdue orders could not be checked; trying again");
        }
        // Expired idempotency keys no longer count; the same sweep deletes them, a batch a pass.
        match idempotency::purge_expired(&app.db, app.idempotency_ttl, 1_000).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "expired idempotency keys deleted"),
            Err(error) => tracing::warn!(%error, "expired idempotency keys could not be deleted"),
        }
    }
}

/// Sends overdue orders again, rejects those overdue since they were sent again, and cancels
/// unpaid ones.
pub async fn pass(app: &App, timeouts: Timeouts) -> Result<Pass, sqlx::Error> {
    let mut done = Pass::default();
    loop {
        let redriven = redrive(app, timeouts.reservation).await?;
        done.redriven += redriven;
        let rejected = reject(app, timeouts.reservation).await?;
        done.rejected += rejected;
        let cancelled = cancel_unpaid(app, timeouts.payment).await?;
        done.cancelled += cancelled;
        if redriven + rejected + cancelled == 0 {
            return Ok(done);
        }
    }
}

async fn redrive(app: &App, timeout: Duration) -> Result<usize, sqlx::Error> {
    let mut tx = app.outbox.begin().await?;
    let overdue = orders::mark_redriven(&mut tx, timeout, BATCH).await?;
    let ids: Vec<i64> = overdue.iter().map(|order| order.id).collect();
    let items = orders::items_of(&mut *tx, &ids).await?;
    let events: Vec<Envelope> = overdue.iter().map(|order| created(order, &items)).collect();
    tx.enqueue(&events).await?;
    tx.commit().await?;
    for order in &overdue {
        tracing::warn!(
            order.id = order.id,
            timeout_ms = timeout.as_millis(),
            "no stock answer in time; order.created sent again under its event id"
        );
    }
    Ok(overdue.len())
}

async fn reject(app: &App, timeout: Duration) -> Result<usize, sqlx::Error> {
    let reason = format!(
        "the product service did not answer within {} s (the order was sent to it twice)",
        (timeout * 2).as_secs()
    );
    let mut tx = app.outbox.begin().await?;
    let overdue = orders::reject_redriven(&mut tx, timeout, &reason, BATCH).await?;
    let ids: Vec<i64> = overdue.iter().map(|order| order.id).collect();
    let items = orders::items_of(&mut *tx, &ids).await?;
    let mut events = Vec::with_capacity(overdue.len() * 2);
    for order in &overdue {
        let about = about(order, &items);
        let with = With {
            reason: Some(&reason),
            ..With::default()
        };
        events.extend(announce::entered(about, OrderStatus::Rejected, with).map(Envelope::new));
        // Whatever the product service may still reserve for it goes back.
        events.push(Envelope::new(announce::cancelled(about, &reason, false)));
    }
    tx.enqueue(&events).await?;
    tx.commit().await?;
    for order in &overdue {
        app.metrics.entered(OrderStatus::Rejected);
        tracing::warn!(order.id = order.id, %reason, "order rejected: no stock answer");
    }
    Ok(overdue.len())
}

async fn cancel_unpaid(app: &App, timeout: Duration) -> Result<usize, sqlx::Error> {
    let reason = format!(
        "not paid within {}; the stock held for it was given back",
        humantime::format_duration(timeout)
    );
    let mut tx = app.outbox.begin().await?;
    let unpaid = orders::cancel_unpaid(&mut tx, timeout, &reason, BATCH).await?;
    let ids: Vec<i64> = unpaid.iter().map(|order| order.id).collect();
    let items = orders::items_of(&mut *tx, &ids).await?;
    let events: Vec<Envelope> = unpaid
        .iter()
        .map(|order| Envelope::new(announce::cancelled(about(order, &items), &reason, false)))
        .collect();
    tx.enqueue(&events).await?;
    tx.commit().await?;
    for order in &unpaid {
        app.metrics.entered(OrderStatus::Cancelled);
        tracing::info!(order.id = order.id, %reason, "order cancelled: not paid in time");
    }
    Ok(unpaid.len())
}

fn about<'a>(order: &Swept, items: &'a HashMap<i64, Vec<ItemRow>>) -> About<'a> {
    About {
        order_id: order.id,
        user_id: order.user_id,
        total_price_cents: order.total_price_cents,
        items: orders::lines_of(items, order.id),
    }
}

/// The order's `order.created` as it first went out: same id, same time, same content.
fn created(order: &Swept, items: &HashMap<i64, Vec<ItemRow>>) -> Envelope {
    let id = order.created_event_id.unwrap_or_else(Uuid::now_v7);
    let mut envelope = Envelope::with_id(id, announce::created(about(order, items)));
    envelope.occurred_at = order.created_at;
    envelope
}
