//! The order service, as the payment service consults it: an order's buyer, status and amount,
//! read from its internal route with this service's key (never taken from the client).

use axum::http::HeaderMap;
use microshop_auth::KeyError;
use microshop_http_client::{Upstream, UpstreamError, UpstreamMetrics};
use serde::Deserialize;

use crate::Config;

/// What a payment needs to know of an order (`GET /internal/orders/{id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderFacts {
    /// The order.
    pub id: i64,
    /// Its buyer.
    pub user_id: i64,
    /// `CONFIRMED` when it waits for payment.
    pub status: String,
    /// What the buyer owes, in cents.
    pub total_price_cents: i64,
    /// ISO 4217.
    pub currency: String,
}

/// The order service.
pub struct Orders {
    upstream: Upstream,
}

impl Orders {
    /// A client for the configured URL, sending this service's key.
    pub fn new(config: &Config, metrics: &UpstreamMetrics) -> Result<Self, KeyError> {
        let (name, key) = config.caller.header()?;
        let mut headers = HeaderMap::new();
        headers.insert(name, key);
        let settings = config.upstream.config(headers);
        Ok(Self {
            upstream: Upstream::new(
                "order-service",
                &config.order_service_url,
                settings,
                metrics.clone(),
            ),
        })
    }

    /// Order `id` (a 404 when it does not exist).
    pub async fn order(&self, id: i64) -> Result<OrderFacts, UpstreamError> {
        self.upstream
            .get_json(&format!("/internal/orders/{id}"))
            .await
    }
}
