//! The shop's front door seen from outside the cluster: an Ingress in front of the gateway's
//! Service.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// An `networking.k8s.io/v1` Ingress `<name>-gateway` sending every path of `host` to the
/// gateway (the storefront at `/`, the services' APIs at `/api/...`). The operator applies it
/// while `enabled` and deletes it when it is switched off.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!self.enabled || has(self.host)")
    .message("spec.ingress.host is required while spec.ingress.enabled is true"))]
pub struct IngressSpec {
    /// Whether the Ingress exists.
    #[serde(default)]
    pub enabled: bool,
    /// The host buyers' browsers use, e.g. `shop.example.com` (a DNS name, no scheme or port).
    /// Unless `spec.shopUrl` says otherwise, the shop's public address (`SHOP_URL`) is
    /// `https://<host>` with `tlsSecretName`, `http://<host>` without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub host: Option<String>,
    /// The `IngressClass` (`spec.ingressClassName`), e.g. `nginx`. Unset: the cluster's default
    /// class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub class_name: Option<String>,
    /// A `kubernetes.io/tls` Secret with the host's certificate (`tls.crt`, `tls.key`), e.g. the
    /// one cert-manager writes. Set: the ingress controller serves the host over HTTPS and the
    /// storefront's session cookie is `Secure`. The operator never reads or writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub tls_secret_name: Option<String>,
    /// Annotations of the Ingress, for the ingress controller or cert-manager (e.g.
    /// `cert-manager.io/cluster-issuer: letsencrypt`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl IngressSpec {
    /// The host, while the Ingress is enabled.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref().filter(|_| self.enabled)
    }
}
