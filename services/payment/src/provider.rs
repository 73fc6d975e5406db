//! The card provider's API (docs/payments.md): checkout sessions and refunds, each call
//! idempotent by a key derived from our own id, so a retry never opens a second session or
//! refunds twice.

use axum::http::{HeaderMap, HeaderValue, header};
use microshop_auth::KeyError;
use microshop_http_client::{Upstream, UpstreamError, UpstreamMetrics};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::Config;

/// A checkout session as the provider shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    /// The provider's id.
    pub id: String,
    /// Where the buyer pays.
    pub url: String,
}

/// A refund as the provider answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderRefund {
    /// The provider's id.
    pub id: String,
    /// `succeeded`, `failed` or `pending`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub failure_message: Option<String>,
}

#[derive(Serialize)]
struct NewSession<'a> {
    amount_cents: i64,
    currency: &'a str,
    reference: String,
    description: String,
    /// Where the provider's page sends the buyer back to: the order's page in the shop.
    return_url: String,
}

#[derive(Serialize)]
struct NewRefund<'a> {
    session_id: &'a str,
    amount_cents: i64,
    reference: String,
}

/// The provider.
pub struct Provider {
    upstream: Upstream,
    /// `SHOP_URL` without a trailing `/`.
    shop_url: String,
}

impl Provider {
    /// A client for the configured URL, authenticated with the provider's API key.
    pub fn new(config: &Config, metrics: &UpstreamMetrics) -> Result<Self, KeyError> {
        let key = microshop_auth::secret_or_file(&config.provider_api_key, "PROVIDER_API_KEY")?;
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
            .map_err(|_| {
                KeyError::InvalidServiceKeys("PROVIDER_API_KEY must be printable ASCII".to_owned())
            })?;
        bearer.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, bearer);
        let settings = config.upstream.config(headers);
        Ok(Self {
            upstream: Upstream::new(
                "payment-provider",
                &config.provider_url,
                settings,
                metrics.clone(),
            ),
            shop_url: config.shop_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Opens (or, for a payment that already has one, finds) the checkout session of payment
    /// `payment_id` for `amount_cents` of `currency`.
    pub async fn open_session(
        &self,
        payment_id: i64,
        order_id: i64,
        amount_cents: i64,
        currency: &str,
    ) -> Result<Session, UpstreamError> {
        let body = NewSession {
            amount_cents,
            currency,
            reference: payment_id.to_string(),
            description: format!("Microshop order {order_id}"),
            return_url: format!("{}/orders/{order_id}", self.shop_url),
        };
        let headers = idempotent(&format!("payment-{payment_id}"));
        self.upstream
            .post_json_with("/v1/checkout/sessions", &body, &headers)
            .await
    }

    /// Asks for refund `refund_id` of `amount_cents` from session `session_id`.
    pub async fn refund(
        &self,
        session_id: &str,
        refund_id: i64,
        amount_cents: i64,
    ) -> Result<ProviderRefund, UpstreamError> {
        let body = NewRefund {
            session_id,
            amount_cents,
            reference: refund_id.to_string(),
        };
        let headers = idempotent(&format!("refund-{refund_id}"));
        self.upstream
            .post_json_with("/v1/refunds", &body, &headers)
            .await
    }
}

/// Headers making a call safe to retry.
fn idempotent(key: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(key) {
        headers.insert("idempotency-key", value);
    }
    headers
}
