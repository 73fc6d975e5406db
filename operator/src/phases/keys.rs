//! The shop's access-token key pair (Ed25519): generated once into `<shop>-jwt` and kept; the
//! user service signs with the private key, the others verify with the public one.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use microshop_auth::SigningKey;
use secrecy::{ExposeSecret, SecretString};

use crate::apply::value_of;
use crate::error::Error;
use crate::names;
use crate::phases::generated;
use crate::resources::{JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, Shop};

/// The shop's keys as its pods read them.
#[derive(Debug, Clone)]
pub struct Keys {
    /// PKCS#8 PEM of the signing key.
    pub signing_key: SecretString,
    /// SPKI PEM of the public keys (several during a rotation).
    pub public_keys: String,
}

/// The keys in the shop's JWT Secret; a new pair (in a new Secret) when it has none. A Secret
/// someone edited into an unusable key is replaced; one that lost its public keys gets them
/// back from the signing key.
pub async fn ensure(shop: &Shop<'_>, client: &Client) -> Result<Keys, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let name = names::jwt_secret(&shop.name);
    let kept = generated::keep(shop, &secrets, &name, usable, generate, |keys: &Keys| {
        shop.jwt_secret(keys.signing_key.expose_secret(), &keys.public_keys)
    })
    .await?;
    if kept.generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, secret = %name, "access-token signing key generated");
    }
    Ok(kept.value)
}

fn generate() -> Keys {
    let key = SigningKey::generate();
    Keys {
        signing_key: key.to_pem(),
        public_keys: key.public().to_pem(),
    }
}

/// The keys of `secret`, when it holds a signing key that parses.
fn usable(secret: &Secret) -> Option<Keys> {
    let signing = SecretString::from(value_of(secret, JWT_SIGNING_KEY)?);
    let key = SigningKey::from_pem(&signing, JWT_SIGNING_KEY).ok()?;
    let public_keys = value_of(secret, JWT_PUBLIC_KEYS)
        .filter(|keys| !keys.trim().is_empty())
        .unwrap_or_else(|| key.public().to_pem());
    Some(Keys {
        signing_key: signing,
        public_keys,
    })
}
