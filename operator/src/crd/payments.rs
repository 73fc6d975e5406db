//! The payment parts of the spec: the payment sandbox and a real card provider.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// The payment sandbox (`payment-sandbox`): a stand-in card provider with a hosted card page and
/// signed webhooks. It keeps its sessions in memory, so it runs exactly one pod (replaced, not
/// rolled, on a change) and forgets open checkouts when that pod restarts.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSandboxSpec {
    /// Whether the sandbox runs and the payment service uses it as its provider. Unless
    /// `spec.paymentProvider.secretRef` names the keys, the operator generates them into the
    /// Secret `<name>-payment-provider` (keys `api-key`, `webhook-secret`) and keeps them.
    #[serde(default)]
    pub enabled: bool,
    /// The base URL of the hosted card page as the buyer's browser reaches it (an Ingress, a
    /// port-forward). Unset: `http://localhost:8090`, what
    /// `kubectl port-forward service/<name>-payment-sandbox 8090` serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 2048),
        regex(pattern = r"^https?://[^\s/?#]+(/[^\s]*)?$")
    )]
    pub public_url: Option<String>,
}

/// A real card provider speaking the contract of docs/payments.md (or an adapter in front of
/// one).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PaymentProviderSpec {
    /// The base URL of the provider's API (`PROVIDER_URL` of the payment service). Required
    /// unless the sandbox is enabled, and then not allowed: the sandbox is the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 2048),
        regex(pattern = r"^https?://[^\s/?#]+(/[^\s]*)?$")
    )]
    pub url: Option<String>,
    /// A Secret with the keys `api-key` (the provider's API key, at least 32 characters) and
    /// `webhook-secret` (its webhook signing secret; several, separated by commas or new lines,
    /// during a rotation). Required unless the sandbox is enabled; with the sandbox, the
    /// sandbox uses these keys instead of generated ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
}

/// A Secret in the Microshop's namespace, by name.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}
