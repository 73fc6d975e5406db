//! Applying one batch of deliveries: decode, the inbox, the handler, retries, and settling each
//! delivery with the broker.

use std::collections::HashSet;
use std::time::Duration;

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::types::AMQPValue;
use microshop_events::Envelope;
use microshop_telemetry::trace::{TRACEPARENT, TraceContext};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::intake::{Intake, requeue};
use super::{Consumer, Handler, HandlerError, MAX_BACKOFF};
use crate::outbox::Outbox;
use crate::{MessagingError, inbox};

/// What becomes of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Applied now: acknowledged.
    Applied,
    /// Applied by an earlier delivery (the inbox knew it): acknowledged unchanged.
    Duplicate,
    /// A type this consumer does not handle: acknowledged unchanged.
    Ignored,
    /// Cannot be applied, ever: dead-lettered.
    DeadLetter(String),
    /// Not applied before shutdown: handed back to the queue.
    Requeue,
}

/// Decodes `deliveries`, applies the events among them and settles every delivery.
pub(super) async fn process<H: Handler>(
    deliveries: Vec<Delivery>,
    consumer: &Consumer<H>,
    intake: &mut Intake<'_>,
) -> Result<(), MessagingError> {
    let mut verdicts = Vec::with_capacity(deliveries.len());
    // Positions (in `deliveries`) and envelopes of the events to apply.
    let mut events: Vec<(usize, Envelope)> = Vec::with_capacity(deliveries.len());
    for (position, delivery) in deliveries.iter().enumerate() {
        match Envelope::from_json(&delivery.data) {
            Ok(mut envelope) if consumer.handler.handles(&envelope.event) => {
                envelope.traceparent = traceparent_of(delivery);
                events.push((position, envelope));
                verdicts.push(Verdict::Applied);
            }
            Ok(envelope) => {
                tracing::debug!(event.id = %envelope.id, event.type = envelope.event.type_name(), "not this consumer's business; acknowledged");
                verdicts.push(Verdict::Ignored);
            }
            Err(error) => {
                verdicts.push(Verdict::DeadLetter(format!("not a known event: {error}")));
            }
        }
    }
    let envelopes: Vec<Envelope> = events.iter().map(|(_, e)| e.clone()).collect();
    let outcome = apply_all(consumer, intake, &envelopes).await?;
    for ((position, _), verdict) in events.iter().zip(outcome) {
        verdicts[*position] = verdict;
    }
    settle(&deliveries, &verdicts, consumer).await
}

/// Applies `envelopes` as one batch; after a permanent failure one at a time. A transient
/// failure pauses the subscription and retries with backoff until it succeeds or shutdown
/// comes (then what is left goes back to the queue).
async fn apply_all<H: Handler>(
    consumer: &Consumer<H>,
    intake: &mut Intake<'_>,
    envelopes: &[Envelope],
) -> Result<Vec<Verdict>, MessagingError> {
    if envelopes.is_empty() {
        return Ok(Vec::new());
    }
    match retrying(consumer, intake, envelopes).await? {
        Some(Ok(verdicts)) => return Ok(verdicts),
        None => return Ok(vec![Verdict::Requeue; envelopes.len()]),
        Some(Err(reason)) if envelopes.len() > 1 => {
            tracing::warn!(%reason, "batch not applied; applying its events one at a time");
        }
        Some(Err(reason)) => return Ok(vec![give_up(consumer, &envelopes[0], &reason).await]),
    }
    let mut verdicts = Vec::with_capacity(envelopes.len());
    for (position, envelope) in envelopes.iter().enumerate() {
        match retrying(consumer, intake, std::slice::from_ref(envelope)).await? {
            Some(Ok(mut one)) => verdicts.append(&mut one),
            Some(Err(reason)) => verdicts.push(give_up(consumer, envelope, &reason).await),
            None => {
                verdicts.resize(envelopes.len(), Verdict::Requeue);
                tracing::info!(
                    returned = envelopes.len() - position,
                    "shutting down while the events cannot be applied; handing them back"
                );
                break;
            }
        }
    }
    Ok(verdicts)
}

/// One attempt after another until the events are applied (`Ok`), fail permanently
/// (`Err(reason)`), or shutdown comes while they cannot be applied (`None`).
async fn retrying<H: Handler>(
    consumer: &Consumer<H>,
    intake: &mut Intake<'_>,
    envelopes: &[Envelope],
) -> Result<Option<Result<Vec<Verdict>, String>>, MessagingError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        match attempt(consumer, envelopes).await {
            Ok(verdicts) => return Ok(Some(Ok(verdicts))),
            Err(HandlerError::Permanent(reason)) => return Ok(Some(Err(reason))),
            Err(HandlerError::Transient(reason)) => {
                // Take nothing more from the queue while the database is away: what is held
                // now is all that a shutdown would hand back.
                intake.pause().await?;
                if intake.shutting_down() {
                    return Ok(None);
                }
                tracing::warn!(%reason, events = envelopes.len(), retry_in_ms = backoff.as_millis(), "events not applied yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Applies `envelopes` in one transaction with their inbox records.
async fn attempt<H: Handler>(
    consumer: &Consumer<H>,
    envelopes: &[Envelope],
) -> Result<Vec<Verdict>, HandlerError> {
    let mut tx = consumer.outbox.begin().await?;
    let ids: Vec<Uuid> = envelopes.iter().map(|e| e.id).collect();
    let mut fresh = inbox::first_deliveries(&mut tx, &ids).await?;
    let mut verdicts = Vec::with_capacity(envelopes.len());
    let mut new = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        // Taken out as it is used: the same id twice in one batch is applied once.
        if fresh.remove(&envelope.id) {
            verdicts.push(Verdict::Applied);
            new.push(envelope.clone());
        } else {
            tracing::info!(event.id = %envelope.id, event.type = envelope.event.type_name(), "duplicate delivery; already applied");
            verdicts.push(Verdict::Duplicate);
        }
    }
    let outcome = consumer.handler.apply(&mut tx, &new).await?;
    let rejected: HashSet<Uuid> = outcome.rejected.iter().map(|r| r.event_id).collect();
    let forgotten: Vec<Uuid> = rejected.iter().copied().collect();
    inbox::forget(&mut tx, &forgotten).await?;
    tx.commit().await?;
    consumer.handler.committed(outcome.applied);
    for (envelope, verdict) in envelopes.iter().zip(&mut verdicts) {
        if *verdict == Verdict::Applied && rejected.contains(&envelope.id) {
            let reason = outcome
                .rejected
                .iter()
                .find(|r| r.event_id == envelope.id)
                .map_or_else(String::new, |r| r.reason.clone());
            *verdict = Verdict::DeadLetter(reason);
        }
    }
    Ok(verdicts)
}

/// `envelope` fails every time: the handler may answer it instead (in a transaction of its own,
/// with its inbox record); otherwise it is dead-lettered.
async fn give_up<H: Handler>(consumer: &Consumer<H>, envelope: &Envelope, reason: &str) -> Verdict {
    let answered = async {
        let mut tx = consumer.outbox.begin().await?;
        let fresh = inbox::first_deliveries(&mut tx, &[envelope.id]).await?;
        if fresh.is_empty() {
            return Ok::<_, HandlerError>(Some(Verdict::Duplicate));
        }
        if consumer.handler.give_up(&mut tx, envelope, reason).await? {
            tx.commit().await?;
            return Ok(Some(Verdict::Applied));
        }
        Ok(None)
    };
    match answered.await {
        Ok(Some(verdict)) => {
            if verdict == Verdict::Applied {
                tracing::warn!(event.id = %envelope.id, event.type = envelope.event.type_name(), %reason, "event cannot be applied; answered it as refused instead");
            }
            verdict
        }
        Ok(None) => Verdict::DeadLetter(reason.to_owned()),
        Err(error) => Verdict::DeadLetter(format!("{reason}; answering it failed too: {error}")),
    }
}

/// Dead-letters and hands back what must be, then acknowledges the rest with one frame.
async fn settle<H: Handler>(
    deliveries: &[Delivery],
    verdicts: &[Verdict],
    consumer: &Consumer<H>,
) -> Result<(), MessagingError> {
    let counters = &consumer.counters;
    let mut last_acknowledged = None;
    let mut returned = Vec::new();
    for (delivery, verdict) in deliveries.iter().zip(verdicts) {
        match verdict {
            Verdict::DeadLetter(reason) => {
                tracing::warn!(message.id = ?delivery.properties.message_id(), %reason, "event cannot be applied; dead-lettering it");
                delivery
                    .acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await?;
                counters.dead_lettered.inc();
            }
            Verdict::Requeue => returned.push(delivery),
            Verdict::Applied => {
                counters.applied.inc();
                last_acknowledged = Some(delivery);
            }
            Verdict::Duplicate => {
                counters.duplicate.inc();
                last_acknowledged = Some(delivery);
            }
            Verdict::Ignored => {
                counters.ignored.inc();
                last_acknowledged = Some(delivery);
            }
        }
    }
    requeue(&returned).await?;
    // Every earlier delivery on this channel is settled by now, so `multiple` acknowledges
    // exactly this batch's remaining deliveries.
    if let Some(delivery) = last_acknowledged {
        delivery
            .acker
            .ack(BasicAckOptions { multiple: true })
            .await?;
    }
    Ok(())
}

/// Waits until the database answers; `false` if shutdown came first. A consumer takes nothing
/// from its queue while it could not apply it.
pub(super) async fn wait_for_database(
    outbox: &Outbox,
    queue: &str,
    shutdown: &CancellationToken,
) -> bool {
    let mut backoff = Duration::from_millis(100);
    let mut warned = false;
    loop {
        if shutdown.is_cancelled() {
            return false;
        }
        match microshop_db::ping(outbox.db(), Duration::from_secs(1)).await {
            Ok(()) => return true,
            Err(error) if !warned => {
                tracing::warn!(%queue, %error, "not consuming until the database answers");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The `traceparent` header of a delivery, if it carries a valid one.
fn traceparent_of(delivery: &Delivery) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    let value = headers.inner().get(TRACEPARENT)?;
    let text = match value {
        AMQPValue::LongString(text) => text.to_string(),
        AMQPValue::ShortString(text) => text.as_str().to_owned(),
        _ => return None,
    };
    TraceContext::parse(&text).map(|context| context.header())
}
