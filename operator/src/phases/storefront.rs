//! The key that signs the storefront's CSRF tokens (`STOREFRONT_SECRET` of the gateway):
//! generated once into `<shop>-storefront` and kept, so every gateway pod, and every pod after a
//! roll, accepts a form another one served. A key edited into something the gateway would refuse
//! (shorter than 16 bytes, or taken for a file name) is replaced.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use secrecy::{ExposeSecret, SecretString};

use crate::apply::value_of;
use crate::error::Error;
use crate::names;
use crate::phases::generated;
use crate::resources::{STOREFRONT_SECRET_KEY, Shop};

/// Shortest key the gateway takes (its `MIN_SECRET_BYTES`: shorter ones are guessable offline
/// from one CSRF token). The operator generates 32 random bytes as 64 hex characters.
const MIN_BYTES: usize = 16;

/// The key in the shop's storefront Secret; a new one when it holds none or an unusable one.
pub async fn ensure(shop: &Shop<'_>, client: &Client) -> Result<SecretString, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let name = names::storefront_secret(&shop.name);
    let kept = generated::keep(
        shop,
        &secrets,
        &name,
        |secret| {
            value_of(secret, STOREFRONT_SECRET_KEY)
                .filter(|key| usable(key))
                .map(SecretString::from)
        },
        || SecretString::from(generated::random_key()),
        |key| shop.storefront_secret(key.expose_secret()),
    )
    .await?;
    if kept.generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, secret = %name, "storefront key generated");
    }
    Ok(kept.value)
}

/// Whether the gateway takes `key` as its `STOREFRONT_SECRET`: at least 16 bytes, surrounding
/// white space aside, and not what it would read as the name of a file (`/...`, `./...`).
fn usable(key: &str) -> bool {
    let key = key.trim();
    key.len() >= MIN_BYTES && !key.starts_with('/') && !key.starts_with("./")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storefront_key_is_usable_when_the_gateway_takes_it() {
        assert!(usable(&generated::random_key()));
        assert!(usable(&format!("{}\n", "k".repeat(16))), "trimmed");
        assert!(
            usable("dGhpcyBpcyBiYXNlNjQgdGV4dA=="),
            "any text of 16 bytes or more"
        );
        assert!(!usable(""));
        assert!(!usable(&format!("  {}  ", "k".repeat(15))), "15 bytes");
        assert!(
            !usable("/run/secrets/storefront-key"),
            "a file name to the gateway"
        );
        assert!(
            !usable("./storefront-key-file-name"),
            "a file name to the gateway"
        );
    }
}
