//! The environment of each program's container: its settings as plain values, its credentials
//! as references to the shop's Secrets (the operator never copies a credential into a pod spec).

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};

use super::secrets::{
    ADMIN_EMAIL_KEY, ADMIN_PASSWORD_KEY, AMQP_URL_KEY, API_KEY_KEY, DATABASE_URL_KEY,
    JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, MAIL_FROM_KEY, SMTP_URL_KEY, STOREFRONT_SECRET_KEY,
    WEBHOOK_SECRET_KEY, service_key_name,
};
use super::{SANDBOX_PUBLIC_URL, Shop, WEBHOOK_PATH};
use crate::crd::Service;
use crate::names;

/// The header ingress controllers (ingress-nginx, Traefik, `HAProxy`) append each client's address
/// to; the gateway takes its last entry, the address the controller saw.
const CLIENT_ADDRESS_HEADER: &str = "x-forwarded-for";

impl Shop<'_> {
    /// What `service`'s container gets: the settings every program shares, then its database,
    /// token keys, broker, Redis, service keys, the services it calls, the shop's public
    /// address, the card provider, the mail server and the storefront's settings.
    pub(super) fn env(&self, service: Service) -> Vec<EnvVar> {
        let mut env = vec![
            value("HTTP_PORT", service.port().to_string()),
            value("LOG_FORMAT", "json"),
            value("RUST_LOG", "info"),
            // Lets glibc give argon2's 19 MiB work areas back (README, Performance).
            value("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1048576"),
        ];
        if service.has_database() {
            env.push(from_secret(
                "DATABASE_URL",
                names::database_secret(&self.name, service),
                DATABASE_URL_KEY,
            ));
        }
        if service == Service::User {
            let admin = names::admin_account_secret(&self.name);
            env.extend([
                from_secret(
                    JWT_SIGNING_KEY,
                    names::jwt_secret(&self.name),
                    JWT_SIGNING_KEY,
                ),
                from_secret("BOOTSTRAP_ADMIN_EMAIL", admin.clone(), ADMIN_EMAIL_KEY),
                from_secret("BOOTSTRAP_ADMIN_PASSWORD", admin, ADMIN_PASSWORD_KEY),
                // Sign-ins arrive through the gateway, which appends each client's address:
                // the log-in throttle per address counts the buyer's, not the gateway pod's
                // (which would lock every buyer out together).
                value("CLIENT_ADDRESS_HEADER", CLIENT_ADDRESS_HEADER),
            ]);
        }
        if service.verifies_tokens() {
            env.push(from_secret(
                JWT_PUBLIC_KEYS,
                names::jwt_secret(&self.name),
                JWT_PUBLIC_KEYS,
            ));
        }
        if service.uses_amqp() {
            env.push(from_secret(
                "AMQP_URL",
                names::amqp_secret(&self.name),
                AMQP_URL_KEY,
            ));
            env.push(value("AMQP_TOPOLOGY_PREFIX", self.topology_prefix.clone()));
        }
        if let (true, Some(redis)) = (service.uses_redis(), &self.resource.spec.redis) {
            // Log-in throttling (user), the read cache (product), the carts (order) and the rate
            // limits (gateway); without it each pod counts on its own, reads go to PostgreSQL
            // and the cart routes answer 503. The topology prefix keeps the keys of shops
            // sharing one Redis apart.
            env.extend([
                from_secret(
                    "REDIS_URL",
                    redis.secret_ref.name.clone(),
                    &redis.secret_ref.key,
                ),
                value("REDIS_KEY_PREFIX", self.topology_prefix.clone()),
            ]);
        }
        env.extend(self.service_keys_env(service));
        env.extend(self.upstreams_env(service));
        if matches!(service, Service::Payment | Service::Notification) {
            // Where buyers come back after paying (payment), what mails link to (notification).
            env.push(value("SHOP_URL", self.shop_url()));
        }
        env.extend(self.provider_env(service));
        env.extend(self.mail_env(service));
        env.extend(self.gateway_env(service));
        env
    }

    /// The service keys (DESIGN §7): the keys of the callers its internal routes accept, each
    /// in `<CALLER>_KEY` and all in `SERVICE_KEYS` (`order-service=$(ORDER_SERVICE_KEY)`), and
    /// its own `SERVICE_KEY` when it calls another service's internal routes. `SERVICE_KEYS`
    /// comes after the variables it names: Kubernetes expands `$(VAR)` only for variables
    /// defined before it.
    fn service_keys_env(&self, service: Service) -> Vec<EnvVar> {
        let secret = names::service_keys_secret(&self.name);
        let mut env = Vec::new();
        let callers = service.callers();
        for caller in callers {
            env.push(from_secret(
                &caller_variable(*caller),
                secret.clone(),
                service_key_name(*caller),
            ));
        }
        if !callers.is_empty() {
            let accepted: Vec<String> = callers
                .iter()
                .map(|caller| {
                    format!(
                        "{}=$({})",
                        service_key_name(*caller),
                        caller_variable(*caller)
                    )
                })
                .collect();
            env.push(value("SERVICE_KEYS", accepted.join(",")));
        }
        if service.is_caller() {
            env.push(from_secret(
                "SERVICE_KEY",
                secret,
                service_key_name(service),
            ));
        }
        env
    }

    /// The base URLs of the services it calls.
    fn upstreams_env(&self, service: Service) -> Vec<EnvVar> {
        let upstreams: &[(&str, Service)] = match service {
            // The stock calls; the buyer's shipping address (with the buyer's own token); a
            // paid order's payment (its refund when it is cancelled).
            Service::Order => &[
                ("PRODUCT_SERVICE_URL", Service::Product),
                ("USER_SERVICE_URL", Service::User),
                ("PAYMENT_SERVICE_URL", Service::Payment),
            ],
            // The order to pay (its amount is read from the order, never from the client).
            Service::Payment => &[("ORDER_SERVICE_URL", Service::Order)],
            // Every service's /api/... (the payment service's answers 503 while the shop has no
            // card provider).
            Service::Gateway => &[
                ("USER_SERVICE_URL", Service::User),
                ("PRODUCT_SERVICE_URL", Service::Product),
                ("ORDER_SERVICE_URL", Service::Order),
                ("PAYMENT_SERVICE_URL", Service::Payment),
                ("NOTIFICATION_SERVICE_URL", Service::Notification),
            ],
            Service::User | Service::Product | Service::Notification | Service::PaymentSandbox => {
                &[]
            }
        };
        upstreams
            .iter()
            .map(|(variable, upstream)| value(variable, self.url_of(*upstream)))
            .collect()
    }

    /// The card provider: where the payment service reaches it and the keys both ends share;
    /// for the sandbox, where its hosted page is seen and where it delivers the webhooks.
    fn provider_env(&self, service: Service) -> Vec<EnvVar> {
        let Some(provider) = self.payment_provider() else {
            return Vec::new();
        };
        match service {
            Service::Payment => vec![
                value("PROVIDER_URL", provider.url),
                from_secret("PROVIDER_API_KEY", provider.secret.clone(), API_KEY_KEY),
                from_secret("WEBHOOK_SECRETS", provider.secret, WEBHOOK_SECRET_KEY),
            ],
            Service::PaymentSandbox => {
                let sandbox = &self.resource.spec.payment_sandbox;
                let public_url = sandbox.public_url.as_deref().unwrap_or(SANDBOX_PUBLIC_URL);
                vec![
                    value("PUBLIC_URL", public_url),
                    value(
                        "WEBHOOK_URL",
                        format!("{}{WEBHOOK_PATH}", self.url_of(Service::Payment)),
                    ),
                    from_secret(
                        "WEBHOOK_SECRET",
                        provider.secret.clone(),
                        WEBHOOK_SECRET_KEY,
                    ),
                    from_secret("API_KEY", provider.secret, API_KEY_KEY),
                ]
            }
            Service::User
            | Service::Product
            | Service::Order
            | Service::Notification
            | Service::Gateway => Vec::new(),
        }
    }

    /// The notification service's mail: through the SMTP server of `spec.smtp` (`SMTP_URL` and
    /// the optional `MAIL_FROM` straight from that Secret), else none is sent
    /// (`MAIL_TRANSPORT=log`: stored and logged only).
    fn mail_env(&self, service: Service) -> Vec<EnvVar> {
        if service != Service::Notification {
            return Vec::new();
        }
        match &self.resource.spec.smtp {
            Some(smtp) => vec![
                value("MAIL_TRANSPORT", "smtp"),
                from_secret("SMTP_URL", smtp.secret_ref.name.clone(), SMTP_URL_KEY),
                from_optional_secret("MAIL_FROM", smtp.secret_ref.name.clone(), MAIL_FROM_KEY),
            ],
            None => vec![value("MAIL_TRANSPORT", "log")],
        }
    }

    /// The gateway's storefront: the key that signs its CSRF tokens (the same for every gateway
    /// pod, from the Secret the operator generates) and whether its session cookie is `Secure`
    /// (the shop is reached over HTTPS); behind the Ingress, the header the ingress controller
    /// writes each client's address to (else every buyer would share the controller's rate
    /// limit). CORS and the rate limits keep the gateway's defaults.
    fn gateway_env(&self, service: Service) -> Vec<EnvVar> {
        if service != Service::Gateway {
            return Vec::new();
        }
        let mut env = vec![
            from_secret(
                "STOREFRONT_SECRET",
                names::storefront_secret(&self.name),
                STOREFRONT_SECRET_KEY,
            ),
            value(
                "STOREFRONT_SECURE_COOKIES",
                self.secure_cookies().to_string(),
            ),
        ];
        if self.resource.spec.ingress.host().is_some() {
            env.push(value("CLIENT_ADDRESS_HEADER", CLIENT_ADDRESS_HEADER));
        }
        env
    }

    /// The base URL of `service`'s `ClusterIP` Service, as the other pods of the namespace
    /// reach it.
    pub fn url_of(&self, service: Service) -> String {
        let host = names::workload(&self.name, service);
        format!("http://{host}:{}", service.port())
    }
}

/// The variable holding a caller's key in the called service's pods: `ORDER_SERVICE_KEY` for
/// `order-service`.
fn caller_variable(caller: Service) -> String {
    format!(
        "{}_KEY",
        service_key_name(caller).to_uppercase().replace('-', "_")
    )
}

fn value(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn from_secret(name: &str, secret: String, key: &str) -> EnvVar {
    secret_key(name, secret, key, false)
}

/// Like [`from_secret`], but the pod starts without the variable when the key is absent.
fn from_optional_secret(name: &str, secret: String, key: &str) -> EnvVar {
    secret_key(name, secret, key, true)
}

fn secret_key(name: &str, secret: String, key: &str, optional: bool) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret,
                key: key.to_owned(),
                optional: Some(optional),
            }),
            ..EnvVarSource::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_key_variable_is_its_binary_name_in_capitals() {
        assert_eq!(caller_variable(Service::Order), "ORDER_SERVICE_KEY");
        assert_eq!(caller_variable(Service::Payment), "PAYMENT_SERVICE_KEY");
    }
}
