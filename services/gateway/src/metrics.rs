//! The gateway's own metrics: `upstream_requests_total{upstream,outcome}`, as the services'
//! HTTP clients count theirs.

use prometheus::{IntCounterVec, Opts, Registry};

use crate::routing::Upstream;

/// Forwarded requests by upstream and outcome.
#[derive(Clone)]
pub struct GatewayMetrics {
    requests: IntCounterVec,
}

impl GatewayMetrics {
    /// Registers on the gateway's registry.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "upstream_requests_total",
                "Requests forwarded to a service, by outcome: answered (any status), \
                 unavailable (no connection), timeout (no answer in time).",
            ),
            &["upstream", "outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        for upstream in Upstream::ALL {
            for outcome in ["answered", "unavailable", "timeout"] {
                requests.with_label_values(&[upstream.name(), outcome]);
            }
        }
        Ok(Self { requests })
    }

    /// One more request to `upstream` with `outcome`.
    pub fn count(&self, upstream: Upstream, outcome: &str) {
        self.requests
            .with_label_values(&[upstream.name(), outcome])
            .inc();
    }
}
