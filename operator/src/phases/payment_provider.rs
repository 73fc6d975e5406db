//! The card provider's keys (docs/payments.md): the API key the payment service calls the
//! provider with (`api-key`) and the secret the provider signs its webhooks with
//! (`webhook-secret`). With the sandbox and no `spec.paymentProvider.secretRef`, the operator
//! generates both once into `<shop>-payment-provider` and keeps them; otherwise it reads them
//! from the user's Secret (to report a missing one, and for the credentials checksum: new keys
//! roll the payment and sandbox pods).

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use microshop_auth::service_key;
use secrecy::SecretString;

use crate::apply::secret_value;
use crate::crd::SecretKeyRef;
use crate::error::Error;
use crate::phases::generated;
use crate::resources::{API_KEY_KEY, Shop, WEBHOOK_SECRET_KEY};

/// What the provider Secret must hold under `api-key`.
pub const API_KEY: &str = "the card provider's API key (at least 32 characters)";
/// What the provider Secret must hold under `webhook-secret`.
pub const WEBHOOK_SECRET: &str = "the card provider's webhook signing secret";

/// The provider's keys as the pods read them.
#[derive(Debug, Clone)]
pub struct ProviderKeys {
    /// `api-key`.
    pub api_key: String,
    /// `webhook-secret`.
    pub webhook_secret: String,
}

/// The keys of the shop's provider; `None` when the shop has no provider (no payment service).
pub async fn ensure(shop: &Shop<'_>, client: &Client) -> Result<Option<ProviderKeys>, Error> {
    let Some(provider) = shop.payment_provider() else {
        return Ok(None);
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    if !provider.generated {
        let read = |key: &str| SecretKeyRef {
            name: provider.secret.clone(),
            key: key.to_owned(),
        };
        let namespace = shop.namespace.as_str();
        return Ok(Some(ProviderKeys {
            api_key: secret_value(&secrets, namespace, &read(API_KEY_KEY), API_KEY).await?,
            webhook_secret: secret_value(
                &secrets,
                namespace,
                &read(WEBHOOK_SECRET_KEY),
                WEBHOOK_SECRET,
            )
            .await?,
        }));
    }
    let keys = generated::keep_keys(
        shop,
        &secrets,
        &provider.secret,
        &[API_KEY_KEY, WEBHOOK_SECRET_KEY],
        usable,
        |keys| shop.payment_provider_secret(keys),
    )
    .await?;
    for key in &keys.generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, secret = %provider.secret, %key, "payment provider key generated");
    }
    Ok(Some(ProviderKeys {
        api_key: keys.get(API_KEY_KEY).to_owned(),
        webhook_secret: keys.get(WEBHOOK_SECRET_KEY).to_owned(),
    }))
}

/// Whether the payment service and the sandbox accept a generated value someone may have
/// edited: 32 printable characters at least (the API key travels in a header), and no comma or
/// line break (the payment service splits `WEBHOOK_SECRETS` there; the sandbox takes one).
fn usable(value: &str) -> bool {
    service_key::header(&SecretString::from(value)).is_ok()
        && !value.trim().contains([',', '\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_key_is_usable_when_both_ends_accept_it() {
        assert!(usable(&generated::random_key()));
        assert!(usable(&format!("{}\n", "k".repeat(32))), "trimmed");
        assert!(!usable(""));
        assert!(!usable(&"k".repeat(31)));
        assert!(
            !usable(&format!("{},{}", "k".repeat(32), "l".repeat(32))),
            "two secrets"
        );
        assert!(!usable(&format!("{}\u{1}", "k".repeat(32))));
    }
}
