//! The sandbox's own metrics: `sandbox_webhook_deliveries_total{outcome}` and
//! `sandbox_checkouts_total{outcome}`.

use prometheus::{IntCounterVec, Opts, Registry};

use crate::domain::{CardOutcome, Decline};

/// How a delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Answered 2xx.
    Delivered,
    /// Anything else; it will be tried again.
    FailedAttempt,
    /// The last allowed attempt failed.
    GivenUp,
}

impl DeliveryOutcome {
    const ALL: [Self; 3] = [Self::Delivered, Self::FailedAttempt, Self::GivenUp];

    fn label(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::FailedAttempt => "failed_attempt",
            Self::GivenUp => "given_up",
        }
    }
}

/// Counts deliveries and checkouts.
#[derive(Clone)]
pub struct SandboxMetrics {
    deliveries: IntCounterVec,
    checkouts: IntCounterVec,
}

impl SandboxMetrics {
    /// Registers on the service's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let deliveries = IntCounterVec::new(
            Opts::new(
                "sandbox_webhook_deliveries_total",
                "Webhook delivery attempts by outcome: delivered (2xx), failed_attempt (retried \
                 later), given_up (the last allowed attempt failed).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(deliveries.clone()))?;
        let checkouts = IntCounterVec::new(
            Opts::new(
                "sandbox_checkouts_total",
                "Cards submitted on open checkout sessions, by outcome.",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(checkouts.clone()))?;
        for outcome in DeliveryOutcome::ALL {
            deliveries.with_label_values(&[outcome.label()]);
        }
        for outcome in ["succeeded", "declined", "insufficient_funds"] {
            checkouts.with_label_values(&[outcome]);
        }
        Ok(Self {
            deliveries,
            checkouts,
        })
    }

    /// One more delivery attempt that ended so.
    pub fn delivery(&self, outcome: DeliveryOutcome) {
        self.deliveries.with_label_values(&[outcome.label()]).inc();
    }

    /// One more card charged on a session.
    pub fn checkout(&self, outcome: CardOutcome) {
        let label = match outcome {
            CardOutcome::Approved { .. } => "succeeded",
            CardOutcome::Declined(Decline::CardDeclined) => "declined",
            CardOutcome::Declined(Decline::InsufficientFunds) => "insufficient_funds",
        };
        self.checkouts.with_label_values(&[label]).inc();
    }
}
