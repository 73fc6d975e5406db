//! The payment service's own metrics: `payments_total{outcome}`, `payment_refunds_total{outcome}`,
//! `payment_refunds_pending_stale`, `payment_webhook_signature_failures_total{reason}` and
//! `payment_webhook_delay_seconds`.

use std::time::Duration;

use microshop_db::Db;
use microshop_webhook::SignatureError;
use prometheus::{
    Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry, exponential_buckets,
};
use tokio_util::sync::CancellationToken;

/// A refund still pending this long after it was asked for is stale: the provider has neither
/// confirmed nor refused it.
pub const REFUND_STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// How often stale refunds are counted.
const STALE_POLL: Duration = Duration::from_secs(15);

/// What payments and refunds did.
#[derive(Clone)]
pub struct PaymentMetrics {
    payments: IntCounterVec,
    refunds: IntCounterVec,
    refunds_stale: IntGauge,
    signature_failures: IntCounterVec,
    webhook_delay: Histogram,
}

impl PaymentMetrics {
    /// Registers on the service's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let payments = IntCounterVec::new(
            Opts::new(
                "payments_total",
                "Payments by outcome: created, succeeded, failed (declined), refunded (all money \
                 back).",
            ),
            &["outcome"],
        )?;
        let refunds = IntCounterVec::new(
            Opts::new(
                "payment_refunds_total",
                "Refunds by outcome: requested, succeeded, failed (the provider refused).",
            ),
            &["outcome"],
        )?;
        let refunds_stale = IntGauge::new(
            "payment_refunds_pending_stale",
            "Refunds asked for more than 10 minutes ago that the provider has neither confirmed \
             nor refused (is the provider reachable?).",
        )?;
        let signature_failures = IntCounterVec::new(
            Opts::new(
                "payment_webhook_signature_failures_total",
                "Webhook deliveries refused for their signature: malformed, stale (outside the \
                 5-minute tolerance), mismatch (forged, or a wrong secret).",
            ),
            &["reason"],
        )?;
        let webhook_delay = Histogram::with_opts(
            HistogramOpts::new(
                "payment_webhook_delay_seconds",
                "From the provider creating an event to this service applying it.",
            )
            .buckets(exponential_buckets(0.05, 2.0, 14)?),
        )?;
        registry.register(Box::new(payments.clone()))?;
        registry.register(Box::new(refunds.clone()))?;
        registry.register(Box::new(refunds_stale.clone()))?;
        registry.register(Box::new(signature_failures.clone()))?;
        registry.register(Box::new(webhook_delay.clone()))?;
        for outcome in ["created", "succeeded", "failed", "refunded"] {
            payments.with_label_values(&[outcome]);
        }
        for outcome in ["requested", "succeeded", "failed"] {
            refunds.with_label_values(&[outcome]);
        }
        for reason in ["malformed", "stale", "mismatch"] {
            signature_failures.with_label_values(&[reason]);
        }
        Ok(Self {
            payments,
            refunds,
            refunds_stale,
            signature_failures,
            webhook_delay,
        })
    }

    /// One more payment with `outcome`.
    pub fn payment(&self, outcome: &str) {
        self.payments.with_label_values(&[outcome]).inc();
    }

    /// One more refund with `outcome`.
    pub fn refund(&self, outcome: &str) {
        self.refunds.with_label_values(&[outcome]).inc();
    }

    /// A delivery refused for its signature.
    pub fn signature_failed(&self, error: &SignatureError) {
        let reason = match error {
            SignatureError::Malformed => "malformed",
            SignatureError::OutsideTolerance { .. } => "stale",
            SignatureError::Mismatch => "mismatch",
        };
        self.signature_failures.with_label_values(&[reason]).inc();
    }

    /// An event created `seconds` ago was applied.
    pub fn webhook_applied(&self, seconds: f64) {
        self.webhook_delay.observe(seconds.max(0.0));
    }

    /// Counts stale refunds every 15 s until `shutdown`.
    pub async fn watch_stale_refunds(self, db: Db, shutdown: CancellationToken) {
        loop {
            match crate::db::refunds::count_stale(&db, REFUND_STALE_AFTER).await {
                Ok(count) => self.refunds_stale.set(count),
                Err(error) => tracing::debug!(%error, "cannot count stale refunds"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(STALE_POLL) => {}
            }
        }
    }
}
