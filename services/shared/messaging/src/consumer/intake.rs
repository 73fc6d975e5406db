//! Taking deliveries from a queue, in batches, without letting a crash loop harm innocent
//! messages.
//!
//! RabbitMQ counts a message's deliveries against the queue's delivery limit every time it goes
//! back to the queue unacknowledged (before RabbitMQ 4.3 that includes a consumer's crash or
//! closed channel). A consumer holding a full prefetch window when it crashes hands every held
//! message back, so a crash loop on one message would dead-letter its neighbours too. Hence:
//!
//! - a session starts subscribed with a prefetch of **one** (recovery mode): what comes first
//!   after a crash is the crashed process's returned messages, flagged `redelivered`, and each
//!   is applied alone with nothing else held;
//! - the first delivery that is not a redelivery switches to normal mode: a new subscription with
//!   the configured prefetch, and batches form again;
//! - a redelivery that shows up in normal mode (another replica crashed) switches back: the
//!   fresh deliveries already received are applied as a batch, and the redelivered ones are
//!   handed back to the queue (`basic.nack`, requeue) so that each comes back alone.
//!
//! A prefetch applies to the consumers subscribed after it is set (quorum queues have no
//! channel-wide prefetch), so each switch cancels the subscription (the deliveries it already
//! sent stay ours) and subscribes anew.

use std::collections::VecDeque;

use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer as Subscription};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Consumer, Handler, apply};
use crate::MessagingError;

/// How a session ended without a broker failure.
pub(super) enum Ended {
    /// Shutdown was asked for; every received delivery was settled.
    Shutdown,
    /// The database became unavailable; the subscription was cancelled and every received
    /// delivery settled once the database answered again.
    Paused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Prefetch 1: each delivery is applied alone.
    Recovery,
    /// Prefetch of the configuration: deliveries form batches.
    Normal,
}

/// The subscriptions of one session, and the deliveries they sent.
pub(super) struct Intake<'a> {
    queue: &'a str,
    channel: Channel,
    /// The current subscription and its consumer tag; `None` once stopped.
    subscription: Option<(Subscription, String)>,
    prefetch: u16,
    shutdown: &'a CancellationToken,
    mode: Mode,
    /// Why the session stops, once it does: the deliveries already received are still handed
    /// out, then the session ends.
    stopped: Option<Ended>,
    /// Received from a cancelled subscription, not yet handed out.
    pending: VecDeque<Delivery>,
}

/// Subscribes to the consumer's queue and applies batches until the session ends.
pub(super) async fn session<H: Handler>(
    consumer: &Consumer<H>,
    shutdown: &CancellationToken,
) -> Result<Ended, MessagingError> {
    let queue = consumer.queue.as_str();
    let channel = consumer.broker.channel().await?;
    crate::declare(&channel, &consumer.topology).await?;
    let mut intake = Intake {
        queue,
        channel,
        subscription: None,
        prefetch: consumer.prefetch.max(1),
        shutdown,
        mode: Mode::Recovery,
        stopped: None,
        pending: VecDeque::new(),
    };
    intake.subscribe(1).await?;
    tracing::info!(%queue, prefetch = consumer.prefetch, "consuming");
    loop {
        let deliveries = intake.next_batch().await?;
        if deliveries.is_empty() {
            return Ok(intake.stopped.take().unwrap_or(Ended::Shutdown));
        }
        let span = tracing::info_span!("batch", %queue, batch.size = deliveries.len());
        apply::process(deliveries, consumer, &mut intake)
            .instrument(span)
            .await?;
    }
}

impl Intake<'_> {
    /// Stops the session because the database is unavailable: nothing more is taken from the
    /// queue; what was already received still comes out of [`next_batch`](Self::next_batch).
    pub(super) async fn pause(&mut self) -> Result<(), MessagingError> {
        self.stop(Ended::Paused).await
    }

    /// Whether shutdown was asked for.
    pub(super) fn shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    async fn stop(&mut self, why: Ended) -> Result<(), MessagingError> {
        if self.stopped.is_none() {
            self.unsubscribe().await?;
            self.stopped = Some(why);
        }
        Ok(())
    }

    /// A new subscription taking at most `prefetch` unacknowledged deliveries.
    async fn subscribe(&mut self, prefetch: u16) -> Result<(), MessagingError> {
        self.channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("{}-{}", self.queue, uuid::Uuid::now_v7());
        let subscription = self
            .channel
            .basic_consume(
                self.queue.into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.subscription = Some((subscription, tag));
        Ok(())
    }

    /// Cancels the subscription; the deliveries it sent before the broker confirmed the
    /// cancellation are kept in `pending`.
    async fn unsubscribe(&mut self) -> Result<(), MessagingError> {
        let Some((mut subscription, tag)) = self.subscription.take() else {
            return Ok(());
        };
        self.channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await?;
        while let Some(delivery) = subscription.next().await {
            self.pending.push_back(delivery?);
        }
        Ok(())
    }

    /// The next delivery; `None` once the session ended.
    async fn next(&mut self) -> Result<Option<Delivery>, MessagingError> {
        loop {
            if let Some(delivery) = self.pending.pop_front() {
                return Ok(Some(delivery));
            }
            let Some((subscription, _)) = self.subscription.as_mut() else {
                return Ok(None);
            };
            let next = tokio::select! {
                next = subscription.next() => next,
                () = self.shutdown.cancelled() => {
                    // Stop new deliveries, then finish the ones already received.
                    self.stop(Ended::Shutdown).await?;
                    continue;
                }
            };
            return match next {
                Some(delivery) => Ok(Some(delivery?)),
                None => Err(MessagingError::ConsumerCancelled(self.queue.to_owned())),
            };
        }
    }

    /// A delivery already received, without waiting.
    fn ready(&mut self) -> Result<Option<Delivery>, MessagingError> {
        if let Some(delivery) = self.pending.pop_front() {
            return Ok(Some(delivery));
        }
        let Some((subscription, _)) = self.subscription.as_mut() else {
            return Ok(None);
        };
        match subscription.next().now_or_never() {
            Some(Some(delivery)) => Ok(Some(delivery?)),
            Some(None) => Err(MessagingError::ConsumerCancelled(self.queue.to_owned())),
            None => Ok(None),
        }
    }

    /// The next batch: the next delivery plus, in normal mode, those already received, up to
    /// the prefetch. Empty once the session ended.
    pub(super) async fn next_batch(&mut self) -> Result<Vec<Delivery>, MessagingError> {
        let Some(first) = self.next().await? else {
            return Ok(Vec::new());
        };
        if first.redelivered {
            if self.mode == Mode::Normal {
                return self.enter_recovery(Vec::new(), first).await;
            }
            return Ok(vec![first]);
        }
        if self.mode == Mode::Recovery {
            self.mode = Mode::Normal;
            if self.stopped.is_none() {
                self.unsubscribe().await?;
                self.subscribe(self.prefetch).await?;
            }
        }
        let mut batch = vec![first];
        while batch.len() < usize::from(self.prefetch) {
            match self.ready()? {
                Some(delivery) if delivery.redelivered => {
                    return self.enter_recovery(batch, delivery).await;
                }
                Some(delivery) => batch.push(delivery),
                None => break,
            }
        }
        Ok(batch)
    }

    /// A redelivery arrived in normal mode: switches to recovery and sorts what was already
    /// received. The fresh deliveries (`fresh` and any waiting) form the batch and the
    /// redelivered ones go back to the queue, to come back one at a time; when nothing fresh was
    /// waiting, `redelivered` is the batch, alone.
    async fn enter_recovery(
        &mut self,
        mut fresh: Vec<Delivery>,
        redelivered: Delivery,
    ) -> Result<Vec<Delivery>, MessagingError> {
        self.mode = Mode::Recovery;
        let stopped = self.stopped.is_some();
        if !stopped {
            self.unsubscribe().await?;
        }
        let mut returned = vec![redelivered];
        for delivery in std::mem::take(&mut self.pending) {
            if delivery.redelivered {
                returned.push(delivery);
            } else {
                fresh.push(delivery);
            }
        }
        let batch = if fresh.is_empty() {
            vec![returned.remove(0)]
        } else {
            fresh
        };
        requeue(&returned.iter().collect::<Vec<_>>()).await?;
        if !stopped {
            self.subscribe(1).await?;
        }
        Ok(batch)
    }
}

/// Hands `deliveries` back to the queue. `basic.nack`, not `basic.reject`: RabbitMQ 4.3 counts
/// a reject with requeue against the delivery limit, a nack not.
pub(super) async fn requeue(deliveries: &[&Delivery]) -> Result<(), MessagingError> {
    for delivery in deliveries {
        delivery
            .acker
            .nack(BasicNackOptions {
                multiple: false,
                requeue: true,
            })
            .await?;
    }
    if !deliveries.is_empty() {
        tracing::info!(
            returned = deliveries.len(),
            "redelivered messages handed back to the queue, to be applied one at a time"
        );
    }
    Ok(())
}
