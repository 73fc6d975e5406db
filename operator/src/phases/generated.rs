//! Secrets around a value the operator generates once and then keeps: the database passwords,
//! the access-token keys, the first admin's password, the service keys. The value is never regenerated while its
//! Secret holds a usable one; the rest of the Secret (labels, owner, values derived from the
//! spec) is applied on every pass.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;

use crate::apply::apply;
use crate::error::Error;
use crate::resources::Shop;

/// Refuses to write Secret `name` when the spec references it: writing it would take over
/// (and, with an owner reference, garbage-collect) the user's credentials.
pub fn refuse_referenced(shop: &Shop<'_>, name: &str) -> Result<(), Error> {
    if shop.resource.spec.referenced_secrets().contains(name) {
        return Err(Error::Blocked(format!(
            "Secret {name} is a name the operator writes; spec.postgres.adminSecretRef, spec.rabbitmq.secretRef and spec.redis.secretRef must name other Secrets"
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
