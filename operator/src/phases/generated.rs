//! Secrets around a value the operator generates once and then keeps: the database passwords,
//! the access-token keys, the first admin's password, the service keys, the sandbox's provider
//! keys. The value is never regenerated while its Secret holds a usable one; the rest of the
//! Secret (labels, owner, values derived from the spec) is applied on every pass.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::apply::{apply, value_of};
use crate::error::Error;
use crate::resources::Shop;

/// Random bytes per generated key: 32, written as 64 lowercase hex characters (what
/// `openssl rand -hex 32` prints).
const KEY_BYTES: usize = 32;

/// Refuses to write Secret `name` when the spec references it: writing it would take over
/// (and, with an owner reference, garbage-collect) the user's credentials.
pub fn refuse_referenced(shop: &Shop<'_>, name: &str) -> Result<(), Error> {
    if shop.resource.spec.referenced_secrets().contains(name) {
        return Err(Error::Blocked(format!(
            "Secret {name} is a name the operator writes; spec.postgres.adminSecretRef, spec.rabbitmq.secretRef, spec.redis.secretRef, spec.paymentProvider.secretRef and spec.smtp.secretRef must name other Secrets"
        )));
    }
    Ok(())
}

/// A value from its Secret, and whether this pass generated it.
#[derive(Debug)]
pub struct Kept<T> {
    /// The value.
    pub value: T,
    /// Whether it is new (this pass wrote it), for the log.
    pub generated: bool,
}

/// The value `read` finds in Secret `name`, or a new one from `generate`; either way the
/// Secret `secret` builds around it is applied. A missing Secret is created, not applied, so
/// that of two operator pods racing to create it the first writer wins and the other takes its
/// value; a Secret that holds nothing usable (edited by hand) is replaced.
pub async fn keep<T>(
    shop: &Shop<'_>,
    secrets: &Api<Secret>,
    name: &str,
    read: impl Fn(&Secret) -> Option<T>,
    generate: impl FnOnce() -> T,
    secret: impl Fn(&T) -> Secret,
) -> Result<Kept<T>, Error> {
    refuse_referenced(shop, name)?;
    let existing = secrets.get_opt(name).await?;
    if let Some(value) = existing.as_ref().and_then(&read) {
        apply(secrets, &secret(&value)).await?;
        return Ok(Kept {
            value,
            generated: false,
        });
    }
    let value = generate();
    let desired = secret(&value);
    if existing.is_none() {
        match secrets.create(&PostParams::default(), &desired).await {
            Ok(_) => {
                return Ok(Kept {
                    value,
                    generated: true,
                });
            }
            // Another operator pod created it a moment ago: its value is the one.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                if let Some(value) = secrets.get_opt(name).await?.as_ref().and_then(&read) {
                    apply(secrets, &secret(&value)).await?;
                    return Ok(Kept {
                        value,
                        generated: false,
                    });
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    apply(secrets, &desired).await?;
    Ok(Kept {
        value,
        generated: true,
    })
}

/// Random keys under several keys of one Secret (the service keys, the provider's keys).
#[derive(Debug, Clone)]
pub struct Keys {
    /// Secret key → value.
    pub values: BTreeMap<&'static str, SecretString>,
    /// The Secret keys this pass generated a value for (for the log).
    pub generated: Vec<&'static str>,
}

impl Keys {
    /// The value under `key` (every key asked for has one).
    pub fn get(&self, key: &str) -> &str {
        self.values
            .get(key)
            .map_or("", |value| value.expose_secret())
    }
}

/// [`keep`] for random keys under `keys` of Secret `name`, each kept while `usable` accepts it:
/// one missing or unusable (a key added by a newer operator, one emptied by hand) is generated
/// alone and the others stay, so adding a caller never rotates the keys already in use.
pub async fn keep_keys(
    shop: &Shop<'_>,
    secrets: &Api<Secret>,
    name: &str,
    keys: &[&'static str],
    usable: impl Fn(&str) -> bool,
    secret: impl Fn(&[(&str, &str)]) -> Secret,
) -> Result<Keys, Error> {
    let complete = |found: BTreeMap<&'static str, SecretString>| {
        let mut values = found;
        let mut generated = Vec::new();
        for key in keys {
            values.entry(key).or_insert_with(|| {
                generated.push(*key);
                SecretString::from(random_key())
            });
        }
        Keys { values, generated }
    };
    let kept = keep(
        shop,
        secrets,
        name,
        |existing| {
            let found: BTreeMap<&'static str, SecretString> = keys
                .iter()
                .filter_map(|key| {
                    let value = value_of(existing, key).filter(|value| usable(value))?;
                    Some((*key, SecretString::from(value)))
                })
                .collect();
            (!found.is_empty()).then(|| complete(found))
        },
        || complete(BTreeMap::new()),
        |keys: &Keys| {
            let pairs: Vec<(&str, &str)> = keys
                .values
                .iter()
                .map(|(key, value)| (*key, value.expose_secret()))
                .collect();
            secret(&pairs)
        },
    )
    .await?;
    Ok(kept.value)
}

/// A new key: 32 bytes from a CSPRNG (`rand::rng()`: `ChaCha12` seeded from the OS) as 64
/// lowercase hex characters.
pub fn random_key() -> String {
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
