//! `cache_requests_total{cache, outcome}` and `cache_invalidations_total{cache}`.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use crate::space::Invalidation;

/// How a read was answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    /// From the in-process layer.
    LocalHit,
    /// From Redis.
    Hit,
    /// By the loader, Redis answered without a current value.
    Miss,
    /// By the loader, Redis did not answer in time.
    Error,
    /// By the loader, without asking Redis: an invalidation of this process did not reach it.
    Bypass,
}

impl Outcome {
    const ALL: [Self; 5] = [
        Self::LocalHit,
        Self::Hit,
        Self::Miss,
        Self::Error,
        Self::Bypass,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::LocalHit => "local_hit",
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Error => "error",
            Self::Bypass => "bypass",
        }
    }
}

/// The cache's counter families.
pub(crate) struct Metrics {
    requests: IntCounterVec,
    invalidations: IntCounterVec,
}

impl Metrics {
    pub(crate) fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "cache_requests_total",
                "Cache reads by space and how they were answered.",
            ),
            &["cache", "outcome"],
        )?;
        let invalidations = IntCounterVec::new(
            Opts::new(
                "cache_invalidations_total",
                "Cache invalidations by space (one per key, or one per whole space).",
            ),
            &["cache"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(invalidations.clone()))?;
        Ok(Self {
            requests,
            invalidations,
        })
    }

    /// One space's request counters, resolved once (a label lookup per read is not free).
    pub(crate) fn requests(&self, space: &str) -> Requests {
        Requests(
            Outcome::ALL.map(|outcome| self.requests.with_label_values(&[space, outcome.label()])),
        )
    }

    /// Counts an invalidation.
    pub(crate) fn invalidated(&self, target: &Invalidation) {
        let count = target.keys().map_or(1, <[String]>::len);
        self.invalidations
            .with_label_values(&[target.space()])
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }
}

/// A space's request counters, one per outcome.
#[derive(Clone)]
pub(crate) struct Requests([IntCounter; 5]);

impl Requests {
    pub(crate) fn count(&self, outcome: Outcome) {
        self.0[outcome as usize].inc();
    }
}
