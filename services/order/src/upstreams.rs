//! The services an order consults: the product service (prices and stock of products the read
//! model does not know yet) and the user service (the buyer's shipping address, read with the
//! buyer's own token, so the user service applies its ownership rule; the buyer themself comes
//! from the access token) and the payment service (the payment of an order, asked for with the
//! buyer's token too).

use axum::http::{HeaderMap, HeaderValue, header};
use microshop_auth::KeyError;
use microshop_domain::Id;
use microshop_http_client::{Upstream, UpstreamError, UpstreamMetrics};
use serde::Deserialize;

use crate::Config;

/// A product as the product service's batch route shows it (`GET /internal/products?ids=`).
#[derive(Debug, Clone, Deserialize)]
pub struct ProductState {
    /// Its id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Price of one unit in cents.
    pub price_cents: i64,
    /// Units available to sell now.
    pub stock: i64,
    /// Whether it left the catalogue.
    pub archived: bool,
    /// Its version (bumped by every admin edit).
    pub version: i64,
}

/// `Authorization: Bearer <token>`, relaying a caller's own rights to `upstream`.
fn bearer(upstream: &'static str, token: &str) -> Result<HeaderMap, UpstreamError> {
    let mut headers = HeaderMap::new();
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        UpstreamError::Unexpected {
            upstream,
            reason: "the access token is not a valid header value".to_owned(),
        }
    })?;
    value.set_sensitive(true);
    headers.insert(header::AUTHORIZATION, value);
    Ok(headers)
}

/// Most ids one call of the product service's batch route takes.
pub const MAX_BATCH_IDS: usize = 100;

/// The services an order consults.
pub struct Upstreams {
    products: Upstream,
    users: Upstream,
    payments: Upstream,
}

impl Upstreams {
    /// Clients for the configured URLs, sharing `metrics`, sending this service's key.
    pub fn new(config: &Config, metrics: &UpstreamMetrics) -> Result<Self, KeyError> {
        let (name, key) = config.caller.header()?;
        let mut headers = HeaderMap::new();
        headers.insert(name, key);
        let settings = config.upstream.config(headers);
        // The user service is called with the buyer's token, never with this service's key.
        let user_settings = config.upstream.config(HeaderMap::new());
        Ok(Self {
            products: Upstream::new(
                "product-service",
                &config.product_service_url,
                settings,
                metrics.clone(),
            ),
            users: Upstream::new(
                "user-service",
                &config.user_service_url,
                user_settings.clone(),
                metrics.clone(),
            ),
            // Called with the buyer's token too: the payment service checks the order is theirs.
            payments: Upstream::new(
                "payment-service",
                &config.payment_service_url,
                user_settings,
                metrics.clone(),
            ),
        })
    }

    /// The buyer's address `id` (the user service answers 404 for another user's), read with
    /// the buyer's access token `token`.
    pub async fn address(&self, id: Id, token: &str) -> Result<serde_json::Value, UpstreamError> {
        let headers = bearer("user-service", token)?;
        self.users
            .get_json_with(&format!("/api/users/addresses/{id}"), &headers)
            .await
    }

    /// The payment of order `id`, created or found by the payment service for the buyer of
    /// access token `token`.
    pub async fn pay(&self, id: Id, token: &str) -> Result<serde_json::Value, UpstreamError> {
        let headers = bearer("payment-service", token)?;
        let body = serde_json::json!({ "order_id": id });
        self.payments
            .post_json_with("/api/payments", &body, &headers)
            .await
    }

    /// The products of `ids` (1 to [`MAX_BATCH_IDS`]) that exist, archived ones included, in one
    /// call; none without a call for no ids.
    pub async fn products_batch(&self, ids: &[i64]) -> Result<Vec<ProductState>, UpstreamError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        self.products
            .get_json(&format!("/internal/products?ids={}", list.join(",")))
            .await
    }
}
