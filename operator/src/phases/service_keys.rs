//! The shop's service keys (DESIGN §7): one per calling service, generated once into
//! `<shop>-service-keys` and kept. Today one caller: the order service sends its key to the
//! product service's internal routes, which accept it through `SERVICE_KEYS`.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use microshop_auth::service_key;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::apply::value_of;
use crate::error::Error;
use crate::names;
use crate::phases::generated;
use crate::resources::{ORDER_SERVICE_KEY, Shop};

/// Random bytes per generated key: 32, written as 64 lowercase hex characters (what
/// `openssl rand -hex 32` prints).
const KEY_BYTES: usize = 32;

/// The keys as the pods read them.
#[derive(Debug, Clone)]
pub struct ServiceKeys {
    /// The order service's key (`SERVICE_KEY` of the order pods, accepted by the product pods).
    pub order_service: SecretString,
}

/// The keys in the shop's service keys Secret; a new key when it holds none, or one the
/// services would refuse (edited by hand).
pub async fn ensure(shop: &Shop<'_>, client: &Client) -> Result<ServiceKeys, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let name = names::service_keys_secret(&shop.name);
    let kept = generated::keep(
        shop,
        &secrets,
        &name,
        |secret| {
            value_of(secret, ORDER_SERVICE_KEY)
                .filter(|key| usable(key))
                .map(SecretString::from)
        },
        || SecretString::from(generate()),
        |key| shop.service_keys_secret(key.expose_secret()),
    )
    .await?;
    if kept.generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, secret = %name, "service key generated");
    }
    Ok(ServiceKeys {
        order_service: kept.value,
    })
}

/// A new key: 32 bytes from a CSPRNG (`rand::rng()`: `ChaCha12` seeded from the OS) as 64
/// lowercase hex characters.
pub fn generate() -> String {
    let mut bytes = [0_u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .fold(String::with_capacity(2 * KEY_BYTES), |mut hex, byte| {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Whether the services accept `key`: the order service as its `SERVICE_KEY`, the product
/// service in its `SERVICE_KEYS` (the same checks they make at start-up).
fn usable(key: &str) -> bool {
    let accepted = format!("{ORDER_SERVICE_KEY}={key}");
    service_key::header(&SecretString::from(key)).is_ok()
        && service_key::ServiceKeys::parse(&SecretString::from(accepted))
            .is_ok_and(|keys| keys.callers().eq([ORDER_SERVICE_KEY]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_64_lowercase_hex_characters_and_differ() {
        let (a, b) = (generate(), generate());
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
