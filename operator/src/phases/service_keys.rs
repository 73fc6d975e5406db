//! The shop's service keys (DESIGN §7): one per calling service, generated once into
//! `<shop>-service-keys` under the caller's binary name and kept. The order service sends its
//! key to the product service's internal routes, the payment service its own to the order
//! service's; the called service accepts each through `SERVICE_KEYS`.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use microshop_auth::service_key;
use secrecy::SecretString;

use crate::crd::Service;
use crate::error::Error;
use crate::names;
use crate::phases::generated::{self, Keys};
use crate::resources::{Shop, service_key_name};

/// The keys as the pods read them.
#[derive(Debug, Clone)]
pub struct ServiceKeys {
    keys: Keys,
}

impl ServiceKeys {
    /// The key `caller` sends (its `SERVICE_KEY`, in the `SERVICE_KEYS` of the services it
    /// calls).
    pub fn of(&self, caller: Service) -> &str {
        self.keys.get(service_key_name(caller))
    }
}

/// The keys in the shop's service keys Secret; a new key for a caller it holds none for, or one
/// the services would refuse (edited by hand). The other callers' keys stay.
pub async fn ensure(shop: &Shop<'_>, client: &Client) -> Result<ServiceKeys, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let name = names::service_keys_secret(&shop.name);
    let callers = Service::CALLERS.map(service_key_name);
    let keys = generated::keep_keys(shop, &secrets, &name, &callers, usable, |keys| {
        shop.service_keys_secret(keys)
    })
    .await?;
    for caller in &keys.generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, secret = %name, %caller, "service key generated");
    }
    Ok(ServiceKeys { keys })
}

/// Whether the services accept `key`: the caller as its `SERVICE_KEY`, the called service in
/// its `SERVICE_KEYS` (the same checks they make at start-up).
fn usable(key: &str) -> bool {
    let accepted = format!("caller={key}");
    service_key::header(&SecretString::from(key)).is_ok()
        && service_key::ServiceKeys::parse(&SecretString::from(accepted))
            .is_ok_and(|keys| keys.callers().eq(["caller"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::generated::random_key;

    #[test]
    fn generated_keys_are_64_lowercase_hex_characters_and_differ() {
        let (a, b) = (random_key(), random_key());
        for key in [&a, &b] {
            assert_eq!(key.len(), 64, "{key}");
            assert!(
                key.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{key}"
            );
            assert!(usable(key));
        }
        assert_ne!(a, b);
    }

    #[test]
    fn keys_the_services_would_refuse_are_not_usable() {
        let min = service_key::MIN_KEY_CHARS;
        assert!(!usable(""));
        assert!(!usable(&"a".repeat(min - 1)));
        assert!(usable(&"a".repeat(min)));
        assert!(
            usable(&format!("{}\n", "a".repeat(min))),
            "trimmed, as the services do"
        );
        assert!(
            !usable(&format!("{},b", "a".repeat(min))),
            "would split SERVICE_KEYS"
        );
        assert!(
            !usable(&format!("{}\u{1}b", "a".repeat(min))),
            "not a header value"
        );
    }
}
