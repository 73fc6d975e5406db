//! The gateway's outside: the shop's public address (`SHOP_URL`) and the Ingress in front of the
//! gateway's Service.

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

use super::Shop;
use crate::crd::Service;
use crate::names;

/// The shop's public base URL when neither `spec.shopUrl` nor an Ingress says otherwise: the
/// gateway's port on the machine running `kubectl port-forward service/<shop>-gateway 8000:8000`.
pub const SHOP_URL: &str = "http://localhost:8000";

impl Shop<'_> {
    /// Where buyers' browsers reach the storefront (`SHOP_URL`): `spec.shopUrl`, else the
    /// Ingress's host (`https://` when it has a TLS Secret, `http://` without), else
    /// [`SHOP_URL`].
    pub fn shop_url(&self) -> String {
        let spec = &self.resource.spec;
        if let Some(url) = &spec.shop_url {
            return url.clone();
        }
        match spec.ingress.host() {
            Some(host) => {
                let scheme = if spec.ingress.tls_secret_name.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{host}")
            }
            None => SHOP_URL.to_owned(),
        }
    }

    /// Whether the storefront's session cookie is `Secure` (`STOREFRONT_SECURE_COOKIES`): when
    /// buyers reach the shop over HTTPS, so a browser never sends the cookie in clear text (and
    /// over plain HTTP, e.g. a port-forward, it would never send it back at all).
    pub fn secure_cookies(&self) -> bool {
        self.shop_url().starts_with("https://")
    }

    /// The Ingress `<shop>-gateway` sending every path of `spec.ingress.host` to the gateway,
    /// while `spec.ingress` is enabled.
    pub fn ingress(&self) -> Option<Ingress> {
        let spec = &self.resource.spec.ingress;
        let host = spec.host()?;
        let mut metadata = self.metadata(
            names::workload(&self.name, Service::Gateway),
            Some(Service::Gateway),
        );
        if !spec.annotations.is_empty() {
            metadata.annotations = Some(spec.annotations.clone());
        }
        let backend = IngressBackend {
            service: Some(IngressServiceBackend {
                name: names::workload(&self.name, Service::Gateway),
                port: Some(ServiceBackendPort {
                    name: Some("http".to_owned()),
                    number: None,
                }),
            }),
            resource: None,
        };
        let tls = spec.tls_secret_name.as_ref().map(|secret| {
            vec![IngressTLS {
                hosts: Some(vec![host.to_owned()]),
                secret_name: Some(secret.clone()),
            }]
        });
        Some(Ingress {
            metadata,
            spec: Some(IngressSpec {
                ingress_class_name: spec.class_name.clone(),
                tls,
                rules: Some(vec![IngressRule {
                    host: Some(host.to_owned()),
                    http: Some(HTTPIngressRuleValue {
                        paths: vec![HTTPIngressPath {
                            path: Some("/".to_owned()),
                            path_type: "Prefix".to_owned(),
                            backend,
                        }],
                    }),
                }]),
                default_backend: None,
            }),
            status: None,
        })
    }
}
