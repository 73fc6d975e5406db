//! The shop's card provider, read from the spec: the payment sandbox when it is enabled, else
//! `spec.paymentProvider`; and so which programs the shop runs (no provider, no payment
//! service: it could take no payment).

use super::Shop;
use crate::crd::Service;
use crate::names;

/// The base URL of the sandbox's hosted card page when `spec.paymentSandbox.publicUrl` is unset:
/// what `kubectl port-forward service/<shop>-payment-sandbox 8090` serves.
pub const SANDBOX_PUBLIC_URL: &str = "http://localhost:8090";

/// The payment service's route taking the provider's webhooks.
pub const WEBHOOK_PATH: &str = "/api/payments/callback";

/// Where the payment service reaches its card provider, and the Secret with the keys both share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentProvider {
    /// The provider API's base URL (`PROVIDER_URL`).
    pub url: String,
    /// The Secret with `api-key` and `webhook-secret`.
    pub secret: String,
    /// Whether the operator generates that Secret (the sandbox without a `secretRef`).
    pub generated: bool,
}

impl Shop<'_> {
    /// The card provider, or `None` when the shop has none: neither the sandbox nor a
    /// `spec.paymentProvider` with both a URL and a Secret (the CRD refuses a half one; this
    /// guards against a spec the API server stored before its rules existed).
    pub fn payment_provider(&self) -> Option<PaymentProvider> {
        let spec = &self.resource.spec;
        let given = spec.payment_provider.as_ref();
        let secret = spec.payment_provider_secret_ref().map(|s| s.name.clone());
        if spec.payment_sandbox.enabled {
            return Some(PaymentProvider {
                url: self.url_of(Service::PaymentSandbox),
                generated: secret.is_none(),
                secret: secret.unwrap_or_else(|| names::payment_provider_secret(&self.name)),
            });
        }
        Some(PaymentProvider {
            url: given?.url.clone()?,
            secret: secret?,
            generated: false,
        })
    }

    /// Whether the shop runs `service`: the sandbox when enabled, the payment service when
    /// there is a provider, the others (the gateway included) always.
    pub fn runs(&self, service: Service) -> bool {
        match service {
            Service::PaymentSandbox => self.resource.spec.payment_sandbox.enabled,
            Service::Payment => self.payment_provider().is_some(),
            Service::User
            | Service::Product
            | Service::Order
            | Service::Notification
            | Service::Gateway => true,
        }
    }
}
