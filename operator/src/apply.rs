//! Server-side apply with one field manager, skipped when the live object already matches.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crd::SecretKeyRef;
use crate::error::Error;
use crate::names;
use crate::resources::is_applied;

/// Makes `desired` true in the cluster and returns the live object. Nothing is sent when the
/// live object already holds every field of `desired`, so a pass over an unchanged shop writes
/// nothing and a changed field patches only the object it belongs to.
pub async fn ensure<K>(api: &Api<K>, desired: &K) -> Result<K, Error>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    let name = desired.name_any();
    if let Some(live) = api.get_opt(&name).await? {
        if is_applied(&to_json(desired), &to_json(&live)) {
            return Ok(live);
        }
    }
    let params = PatchParams::apply(names::FIELD_MANAGER).force();
    Ok(api.patch(&name, &params, &Patch::Apply(desired)).await?)
}

/// Deletes `name` if it exists and this operator manages it (a same-named object someone else
/// made is left alone).
pub async fn remove<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let Some(live) = api.get_opt(name).await? else {
        return Ok(());
    };
    let managed = live
        .labels()
        .get("app.kubernetes.io/managed-by")
        .is_some_and(|manager| manager == names::FIELD_MANAGER);
    if managed {
        delete(api, name).await?;
    }
    Ok(())
}

/// Deletes `name`; one already gone is fine.
pub async fn delete<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The value of `reference` in the Microshop's namespace, or an error that says what to create.
pub async fn secret_value(
    api: &Api<Secret>,
    namespace: &str,
    reference: &SecretKeyRef,
    what: &'static str,
) -> Result<String, Error> {
    let secret = api.get_opt(&reference.name).await?;
    secret
        .as_ref()
        .and_then(|s| value_of(s, &reference.key))
        .ok_or_else(|| Error::MissingSecret {
            namespace: namespace.to_owned(),
            name: reference.name.clone(),
            key: reference.key.clone(),
            what,
        })
}

/// The UTF-8 value of `key` in `secret` (`data` or, as a client may have written it,
/// `stringData`).
pub fn value_of(secret: &Secret, key: &str) -> Option<String> {
    if let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return String::from_utf8(bytes.0.clone()).ok();
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned()
}

fn to_json<K: Serialize>(object: &K) -> serde_json::Value {
    // Kubernetes objects always serialise.
    serde_json::to_value(object).unwrap_or_default()
}
