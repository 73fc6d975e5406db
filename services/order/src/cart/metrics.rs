//! `cart_requests_total{operation, outcome}`: every cart operation and how it ended, so an
//! outage of Redis shows as `unavailable` (the routes answer 503 then).

use prometheus::{IntCounterVec, Opts, Registry};

/// How a cart operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused by a rule (full cart, too many units, no such line): nothing changed.
    Refused,
    /// Redis did not answer in time, failed or is not connected.
    Unavailable,
}

impl Outcome {
    /// The `outcome` label.
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The operations counted, exported from the start at 0.
const OPERATIONS: [&str; 7] = [
    "get",
    "add",
    "set",
    "remove",
    "clear",
    "lines",
    "remove_ordered",
];

/// The cart's counters. Cheap to clone.
#[derive(Clone)]
pub struct CartMetrics {
    requests: IntCounterVec,
}

impl CartMetrics {
    /// Registers `cart_requests_total` on `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "cart_requests_total",
                "Cart operations by operation and outcome (ok, refused by a rule, unavailable: \
                 Redis did not answer).",
            ),
            &["operation", "outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        for operation in OPERATIONS {
            for outcome in [Outcome::Ok, Outcome::Refused, Outcome::Unavailable] {
                requests.with_label_values(&[operation, outcome.label()]);
            }
        }
        Ok(Self { requests })
    }

    /// Counts one `operation` that ended with `outcome`.
    pub fn count(&self, operation: &str, outcome: Outcome) {
        self.requests
            .with_label_values(&[operation, outcome.label()])
            .inc();
    }
}
