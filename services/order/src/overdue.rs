//! Every order ends. A `PENDING` order whose stock answer has not come within the reservation
//! timeout has its `order.created` sent again under the same event id (the product service
//! applies it once whichever copy arrives; a copy lost with a deleted queue is replaced). If it
//! is still `PENDING` one more timeout later it is `REJECTED` with a reason, and an
//! `order.cancelled` tells the product service to give back anything it may still reserve for it.

use std::time::Duration;

use microshop_events::{Envelope, Event, OrderCancelled, OrderCreated};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::app::App;
use crate::db::idempotency;
use crate::db::orders::{self, Overdue};
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
}

/// Runs passes until `shutdown`, a few per timeout.
pub async fn watch(app: App, timeout: Duration, shutdown: CancellationToken) {
    let every = (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(error) = pass(&app, timeout).await {
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

/// Sends overdue orders again and rejects those overdue since they were sent again.
pub async fn pass(app: &App, timeout: Duration) -> Result<Pass, sqlx::Error> {
    let mut done = Pass::default();
    loop {
        let redriven = redrive(app, timeout).await?;
        done.redriven += redriven;
        let rejected = reject(app, timeout).await?;
        done.rejected += rejected;
        if redriven + rejected == 0 {
            return Ok(done);
        }
    }
}

async fn redrive(app: &App, timeout: Duration) -> Result<usize, sqlx::Error> {
    let mut tx = app.outbox.begin().await?;
    let overdue = orders::mark_redriven(&mut tx, timeout, BATCH).await?;
    let events: Vec<Envelope> = overdue.iter().map(created).collect();
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
    let events: Vec<Envelope> = overdue
        .iter()
        .map(|order| {
            Envelope::new(Event::OrderCancelled(OrderCancelled {
                order_id: order.id,
                product_id: order.product_id,
                quantity: order.quantity,
                reason: reason.clone(),
                refund: false,
            }))
        })
        .collect();
    tx.enqueue(&events).await?;
    tx.commit().await?;
    for order in &overdue {
        app.metrics.entered(OrderStatus::Rejected);
        tracing::warn!(order.id = order.id, %reason, "order rejected: no stock answer");
    }
    Ok(overdue.len())
}

/// The order's `order.created` as it first went out: same id, same time, same content.
fn created(order: &Overdue) -> Envelope {
    let mut envelope = Envelope::with_id(
        order.created_event_id.unwrap_or_else(Uuid::now_v7),
        Event::OrderCreated(OrderCreated {
            order_id: order.id,
            user_id: order.user_id,
            product_id: order.product_id,
            quantity: order.quantity,
            unit_price_cents: order.unit_price_cents,
            total_price_cents: order.total_price_cents,
        }),
    );
    envelope.occurred_at = order.created_at;
    envelope
}
