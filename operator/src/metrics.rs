//! The operator's own Prometheus metrics.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};

/// Reconcile counters and timings, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    reconciliations: IntCounterVec,
    failures: IntCounterVec,
    duration: Histogram,
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
        registry
            .register(Box::new(reconciliations.clone()))
            .expect("registered once");
        registry
            .register(Box::new(failures.clone()))
            .expect("registered once");
        registry
            .register(Box::new(duration.clone()))
            .expect("registered once");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        Self {
            registry,
            reconciliations,
            failures,
            duration,
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
