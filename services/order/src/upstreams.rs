//! The product service as this service sees it (the buyer comes from the access token: no
//! call to the user service).

use std::time::Duration;

use axum::http::HeaderMap;
use microshop_auth::KeyError;
use microshop_domain::Id;
use microshop_http_client::{Upstream, UpstreamConfig, UpstreamError, UpstreamMetrics};
use serde::Deserialize;

use crate::Config;

/// What the order service needs to know about a product.
#[derive(Debug, Deserialize)]
pub struct ProductView {
    /// Price as the product service shows it (`12999.0`).
    pub price: f64,
    /// Units on hand now.
    pub stock: i64,
}

/// The services an order consults.
pub struct Upstreams {
    products: Upstream,
}

impl Upstreams {
    /// Clients for the configured URLs, sharing `metrics`, sending this service's key.
    pub fn new(config: &Config, metrics: &UpstreamMetrics) -> Result<Self, KeyError> {
        let (name, key) = config.caller.header()?;
        let mut headers = HeaderMap::new();
        headers.insert(name, key);
        let settings = UpstreamConfig {
            deadline: Duration::from_millis(config.upstream_deadline_ms),
            breaker_cool_down: Duration::from_millis(config.breaker_cool_down_ms),
            headers,
            ..UpstreamConfig::default()
        };
        Ok(Self {
            products: Upstream::new(
                "product-service",
                &config.product_service_url,
                settings,
                metrics.clone(),
            ),
        })
    }

    /// The product's current price and stock (its internal route, never a cached view).
    pub async fn product(&self, id: Id) -> Result<ProductView, UpstreamError> {
        self.products
            .get_json(&format!("/internal/products/{id}"))
            .await
    }
}
