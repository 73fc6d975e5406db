//! The user and product services as this service sees them.

use std::time::Duration;

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

/// The two services every order consults.
pub struct Upstreams {
    users: Upstream,
    products: Upstream,
}

impl Upstreams {
    /// Clients for the configured URLs, sharing `metrics`.
    pub fn new(config: &Config, metrics: &UpstreamMetrics) -> Self {
        let settings = UpstreamConfig {
            deadline: Duration::from_millis(config.upstream_deadline_ms),
            breaker_cool_down: Duration::from_millis(config.breaker_cool_down_ms),
            ..UpstreamConfig::default()
        };
        Self {
            users: Upstream::new(
                "user-service",
                &config.user_service_url,
                settings.clone(),
                metrics.clone(),
            ),
            products: Upstream::new(
                "product-service",
                &config.product_service_url,
                settings,
                metrics.clone(),
            ),
        }
    }

    /// Checks that the user exists.
    pub async fn user_exists(&self, id: Id) -> Result<(), UpstreamError> {
        self.users
            .get_json::<serde::de::IgnoredAny>(&format!("/api/users/{id}"))
            .await
            .map(|_| ())
    }

    /// The product's current price and stock.
    pub async fn product(&self, id: Id) -> Result<ProductView, UpstreamError> {
        self.products.get_json(&format!("/api/products/{id}")).await
    }
}
