//! The shop's access-token key pair (Ed25519): generated once into `<shop>-jwt` and kept; the
//! user service signs with the private key, the others verify with the public one.

use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};
use microshop_auth::SigningKey;
use secrecy::{ExposeSecret, SecretString};

use crate::apply::value_of;
use crate::error::Error;
use crate::names;
use crate::resources::{JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, Shop};

/// The shop's keys as its pods read them.
#[derive(Debug, Clone)]
pub struct Keys {
    /// PKCS#8 PEM of the signing key.
    pub signing_key: SecretString,
    /// SPKI PEM of the public keys.
    pub public_keys: String,
}

/// The keys in the shop's JWT Secret; a new pair (in a new Secret) when it has none. A Secret
/// someone edited into an unusable key is replaced.
pub async fn ensure(shop: &Shop<'_>, client: &Client) -> Result<Keys, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let name = names::jwt_secret(&shop.name);
    let existing = secrets.get_opt(&name).await?;
    if let Some(keys) = existing.as_ref().and_then(usable) {
        return Ok(keys);
    }
    let key = SigningKey::generate();
    let keys = Keys {
        signing_key: key.to_pem(),
        public_keys: key.public().to_pem(),
    };
    let secret = shop.jwt_secret(keys.signing_key.expose_secret(), &keys.public_keys);
    if existing.is_some() {
        crate::apply::apply(&secrets, &secret).await?;
    } else {
        match secrets.create(&PostParams::default(), &secret).await {
            Ok(_) => {}
            // Another operator pod created it a moment ago: its keys are the ones.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                return secrets
                    .get_opt(&name)
                    .await?
                    .as_ref()
                    .and_then(usable)
                    .ok_or(Error::Blocked(format!(
                        "Secret {name} was created without usable keys"
                    )));
            }
            Err(error) => return Err(error.into()),
        }
    }
    tracing::info!(shop = %shop.name, namespace = %shop.namespace, secret = %name, kid = key.public().kid(), "access-token signing key generated");
    Ok(keys)
}

/// The keys of `secret`, when it holds a signing key that parses.
fn usable(secret: &Secret) -> Option<Keys> {
    let signing = SecretString::from(value_of(secret, JWT_SIGNING_KEY)?);
    let key = SigningKey::from_pem(&signing, JWT_SIGNING_KEY).ok()?;
    let public_keys = value_of(secret, JWT_PUBLIC_KEYS).unwrap_or_else(|| key.public().to_pem());
    Some(Keys {
        signing_key: signing,
        public_keys,
    })
}
