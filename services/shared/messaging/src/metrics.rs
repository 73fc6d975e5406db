//! The messaging metrics of DESIGN §7: `events_consumed_total{queue, outcome}`,
//! `outbox_pending`, `outbox_publish_seconds` and `outbox_undelivered_total{reason}`.
//! (`dlq_messages` lives with the DLQ code.)

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use tokio_util::sync::CancellationToken;

use crate::outbox::Outbox;

/// How often the outbox backlog is counted.
const OUTBOX_POLL: Duration = Duration::from_secs(15);

/// Buckets from 1 ms to 10 s: an event normally leaves the outbox within milliseconds of its
/// commit; seconds mean the broker is away.
const PUBLISH_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Consumer and outbox metrics of one service.
#[derive(Clone)]
pub struct MessagingMetrics {
    consumed: IntCounterVec,
    outbox_pending: IntGauge,
    publish_seconds: Histogram,
    undelivered: IntCounterVec,
}

impl MessagingMetrics {
    /// Registers the metrics on the service's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let consumed = IntCounterVec::new(
            Opts::new(
                "events_consumed_total",
                "Events taken from a queue, by outcome: applied, duplicate (already applied, \
                 acknowledged unchanged), ignored (a type the consumer does not handle) or \
                 dead_lettered.",
            ),
            &["queue", "outcome"],
        )?;
        let outbox_pending = IntGauge::new(
            "outbox_pending",
            "Events committed to the outbox and not yet confirmed by the broker.",
        )?;
        let publish_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "outbox_publish_seconds",
                "Time from an event's commit to the outbox until the broker confirmed it, in \
                 seconds.",
            )
            .buckets(PUBLISH_BUCKETS.to_vec()),
        )?;
        let undelivered = IntCounterVec::new(
            Opts::new(
                "outbox_undelivered_total",
                "Outbox events the broker did not take, by reason: unroutable (no queue bound to \
                 the exchange: the message came back) or nacked. They stay in the outbox and are \
                 published again.",
            ),
            &["reason"],
        )?;
        for reason in ["unroutable", "nacked"] {
            undelivered.with_label_values(&[reason]);
        }
        registry.register(Box::new(undelivered.clone()))?;
        registry.register(Box::new(consumed.clone()))?;
        registry.register(Box::new(outbox_pending.clone()))?;
        registry.register(Box::new(publish_seconds.clone()))?;
        Ok(Self {
            consumed,
            outbox_pending,
            publish_seconds,
            undelivered,
        })
    }

    /// Metrics on a registry of their own: for tests and tools that export nothing.
    pub fn unexported() -> Self {
        Self::register(&Registry::new()).expect("a fresh registry accepts every metric")
    }

    /// The counters of one queue's consumer.
    pub fn consumed(&self, queue: &str) -> ConsumedCounters {
        let counter = |outcome: &str| self.consumed.with_label_values(&[queue, outcome]);
        ConsumedCounters {
            applied: counter("applied"),
            duplicate: counter("duplicate"),
            ignored: counter("ignored"),
            dead_lettered: counter("dead_lettered"),
        }
    }

    /// What the outbox relay observes.
    pub fn relay(&self) -> RelayMetrics {
        RelayMetrics {
            publish_seconds: self.publish_seconds.clone(),
            unroutable: self.undelivered.with_label_values(&["unroutable"]),
            nacked: self.undelivered.with_label_values(&["nacked"]),
        }
    }

    /// Counts the outbox's rows every 15 s until `shutdown`.
    pub async fn watch_outbox(self, outbox: Outbox, shutdown: CancellationToken) {
        loop {
            match outbox.pending().await {
                Ok(pending) => self.outbox_pending.set(pending),
                Err(error) => tracing::debug!(%error, "cannot count the outbox"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(OUTBOX_POLL) => {}
            }
        }
    }
}

/// The outbox relay's metrics.
#[derive(Clone)]
pub struct RelayMetrics {
    /// `outbox_publish_seconds`.
    pub publish_seconds: Histogram,
    /// `outbox_undelivered_total{reason="unroutable"}`.
    pub unroutable: IntCounter,
    /// `outbox_undelivered_total{reason="nacked"}`.
    pub nacked: IntCounter,
}

/// `events_consumed_total` of one queue, one counter per outcome.
#[derive(Clone)]
pub struct ConsumedCounters {
    pub(crate) applied: IntCounter,
    pub(crate) duplicate: IntCounter,
    pub(crate) ignored: IntCounter,
    pub(crate) dead_lettered: IntCounter,
}
