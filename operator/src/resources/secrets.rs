//! The Secrets the operator writes for a shop, and the keys in them.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Shop;
use crate::crd::Service;
use crate::names;

/// The key of `DATABASE_URL` in a database Secret.
pub const DATABASE_URL_KEY: &str = "DATABASE_URL";
/// The key of the password alone in a database Secret (kept so a lost URL can be rebuilt).
pub const PASSWORD_KEY: &str = "PASSWORD";
/// The key of `AMQP_URL` in the shop's AMQP Secret.
pub const AMQP_URL_KEY: &str = "AMQP_URL";
/// The key of the token signing key (PKCS#8 PEM) in the shop's JWT Secret.
pub const JWT_SIGNING_KEY: &str = "JWT_SIGNING_KEY";
/// The key of the token public keys (SPKI PEM) in the shop's JWT Secret.
pub const JWT_PUBLIC_KEYS: &str = "JWT_PUBLIC_KEYS";

/// The key of the first admin's e-mail address in the shop's admin account Secret.
pub const ADMIN_EMAIL_KEY: &str = "ADMIN_EMAIL";
/// The key of the first admin's password in the shop's admin account Secret.
pub const ADMIN_PASSWORD_KEY: &str = "ADMIN_PASSWORD";

/// The key of the provider's API key in the payment provider Secret (generated or the user's).
pub const API_KEY_KEY: &str = "api-key";
/// The key of the provider's webhook signing secret in the payment provider Secret.
pub const WEBHOOK_SECRET_KEY: &str = "webhook-secret";

/// The key of the SMTP server's URL in the Secret `spec.smtp.secretRef` names (the user's).
pub const SMTP_URL_KEY: &str = "SMTP_URL";
/// The key of the sender address in that Secret (optional).
pub const MAIL_FROM_KEY: &str = "MAIL_FROM";

/// The key of the gateway's CSRF signing key in the shop's storefront Secret (its
/// `STOREFRONT_SECRET`).
pub const STOREFRONT_SECRET_KEY: &str = "STOREFRONT_SECRET";

/// The key of a calling service's key in the shop's service keys Secret: its binary name
/// (`order-service`), as the called service's `SERVICE_KEYS` names it.
pub fn service_key_name(caller: Service) -> &'static str {
    caller.binary()
}

impl Shop<'_> {
    /// The Secret with `service`'s database URL and password. It has no owner reference:
    /// `deletionPolicy` decides whether it goes with the shop (see `phases::cleanup`).
    pub fn database_secret(&self, service: Service, url: &str, password: &str) -> Secret {
        let name = names::database_secret(&self.name, service);
        opaque(
            self.unowned_metadata(name, Some(service)),
            &[(DATABASE_URL_KEY, url), (PASSWORD_KEY, password)],
        )
    }

    /// The Secret with the services' `AMQP_URL`.
    pub fn amqp_secret(&self, url: &str) -> Secret {
        let name = names::amqp_secret(&self.name);
        opaque(self.metadata(name, None), &[(AMQP_URL_KEY, url)])
    }

    /// The Secret with the shop's access-token keys; it goes with the shop (tokens signed with
    /// it die with it).
    pub fn jwt_secret(&self, signing_key: &str, public_keys: &str) -> Secret {
        let name = names::jwt_secret(&self.name);
        opaque(
            self.metadata(name, None),
            &[
                (JWT_SIGNING_KEY, signing_key),
                (JWT_PUBLIC_KEYS, public_keys),
            ],
        )
    }

    /// The Secret with the shop's first admin account, which the user service creates at
    /// start-up. The account lives in the user database, so the Secret follows that database's
    /// Secret: no owner reference, and `deletionPolicy` decides whether it goes with the shop (a
    /// shop made again over a retained database must find the password its admin has).
    pub fn admin_account_secret(&self, email: &str, password: &str) -> Secret {
        let name = names::admin_account_secret(&self.name);
        opaque(
            self.unowned_metadata(name, None),
            &[(ADMIN_EMAIL_KEY, email), (ADMIN_PASSWORD_KEY, password)],
        )
    }

    /// The Secret with the service keys, one per calling service under its binary name
    /// (`order-service`: sent to the product service's internal routes; `payment-service`: to
    /// the order service's). It goes with the shop, as the token keys do.
    pub fn service_keys_secret(&self, keys: &[(&str, &str)]) -> Secret {
        let name = names::service_keys_secret(&self.name);
        opaque(self.metadata(name, None), keys)
    }

    /// The Secret with the card provider's keys the operator generated for the sandbox (`api-key`
    /// and `webhook-secret`, shared by the sandbox and the payment service). It goes with the
    /// shop: the sandbox's payments live in memory only.
    pub fn payment_provider_secret(&self, keys: &[(&str, &str)]) -> Secret {
        let name = names::payment_provider_secret(&self.name);
        opaque(self.metadata(name, None), keys)
    }

    /// The Secret with the gateway's `STOREFRONT_SECRET`, which signs the storefront's CSRF
    /// tokens (one key for every gateway pod). It goes with the shop: the tokens it signed are
    /// only good for the forms of the sessions that die with it.
    pub fn storefront_secret(&self, key: &str) -> Secret {
        let name = names::storefront_secret(&self.name);
        opaque(self.metadata(name, None), &[(STOREFRONT_SECRET_KEY, key)])
    }
}

fn opaque(metadata: ObjectMeta, values: &[(&str, &str)]) -> Secret {
    let data = values
        .iter()
        .map(|(key, value)| ((*key).to_owned(), ByteString(value.as_bytes().to_vec())))
        .collect();
    Secret {
        metadata,
        data: Some(data),
        type_: Some("Opaque".to_owned()),
        ..Secret::default()
    }
}
