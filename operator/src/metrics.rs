//! The operator's own Prometheus metrics.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

/// Reconcile counters and timings, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    reconciliations: IntCounterVec,
    failures: IntCounterVec,
    duration: Histogram,
    watch_errors: IntCounterVec,
    queue_depth: IntGauge,
    leader: IntGauge,
}

impl Metrics {
    /// Creates and registers the metrics (and the process metrics on Linux).
    pub fn new() -> Self {
        let registry = Registry::new();
        let reconciliations = IntCounterVec::new(
            Opts::new(
                "microshop_operator_reconciliations_total",
                "Reconciles of Microshop resources, by outcome (success or error).",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let failures = IntCounterVec::new(
            Opts::new(
                "microshop_operator_reconcile_failures_total",
                "Failed reconciles, by reason (the condition reason, e.g. PostgresUnavailable).",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "microshop_operator_reconcile_duration_seconds",
                "Time one reconcile of a Microshop took, in seconds.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )
        .expect("valid metric");
        let watch_errors = IntCounterVec::new(
            Opts::new(
                "microshop_operator_watch_errors_total",
                "Failed list or watch requests, by resource (e.g. microshops, secrets): a 403 is \
                 missing RBAC, a 404 on microshops a missing CRD.",
            ),
            &["resource"],
        )
        .expect("valid metric");
        let queue_depth = IntGauge::new(
            "microshop_operator_queue_depth",
            "Microshops changed since their last successful reconcile (waiting, being reconciled \
             or retrying after an error).",
        )
        .expect("valid metric");
        let leader = IntGauge::new(
            "microshop_operator_leader",
            "1 while this replica holds the leader Lease and reconciles, else 0.",
        )
        .expect("valid metric");
        for collector in [
            Box::new(reconciliations.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(failures.clone()),
            Box::new(duration.clone()),
            Box::new(watch_errors.clone()),
            Box::new(queue_depth.clone()),
            Box::new(leader.clone()),
        ] {
            registry.register(collector).expect("registered once");
        }
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        for resource in crate::controller::WATCHED {
            watch_errors.with_label_values(&[resource]);
        }
        Self {
            registry,
            reconciliations,
            failures,
            duration,
            watch_errors,
            queue_depth,
            leader,
        }
    }

    /// Records one reconcile.
    pub fn observe(&self, seconds: f64, failure: Option<&str>) {
        self.duration.observe(seconds);
        let outcome = if failure.is_some() {
            "error"
        } else {
            "success"
        };
        self.reconciliations.with_label_values(&[outcome]).inc();
        if let Some(reason) = failure {
            self.failures.with_label_values(&[reason]).inc();
        }
    }

    /// Counts a failed list or watch of `resource`.
    pub fn watch_error(&self, resource: &str) {
        self.watch_errors.with_label_values(&[resource]).inc();
    }

    /// Sets how many Microshops wait for a successful pass.
    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Sets whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Encoding gathered metrics into a String cannot fail.
        let _ = prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
