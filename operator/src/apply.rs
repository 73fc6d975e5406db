//! Server-side apply of whole objects with one field manager, the replica handover to an
//! autoscaler, and the Secret reads every phase needs.
//!
//! Every pass applies every object in full. The API server merges it, removes the fields the
//! operator stopped setting (it owns them through its field manager), takes back fields someone
//! else changed (`force`), and writes nothing when the result equals the stored object, so an
//! unchanged shop costs a request per object and no writes.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crd::SecretKeyRef;
use crate::error::Error;
use crate::names;

/// Makes `desired` true in the cluster and returns the live object.
pub async fn apply<K>(api: &Api<K>, desired: &K) -> Result<K, Error>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    let params = PatchParams::apply(names::FIELD_MANAGER).force();
    Ok(api
        .patch(&desired.name_any(), &params, &Patch::Apply(desired))
        .await?)
}

/// Before the operator stops setting a Deployment's `spec.replicas` (an autoscaler takes
/// over), a second field manager applies the live count: the field then still has an owner
/// when the operator's next apply drops it, so the API server keeps it instead of resetting the
/// Deployment to one pod. Does nothing unless the operator owns the field now.
pub async fn hand_over_replicas(api: &Api<Deployment>, name: &str) -> Result<(), Error> {
    let Some(live) = api.get_opt(name).await? else {
        return Ok(());
    };
    let replicas = live.spec.as_ref().and_then(|spec| spec.replicas);
    let Some(replicas) = replicas else {
        return Ok(());
    };
    if !owns(&live.metadata, names::FIELD_MANAGER, &["spec", "replicas"]) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas},
    });
    let params = PatchParams::apply(names::HANDOVER_MANAGER).force();
    api.patch(name, &params, &Patch::Apply(&patch)).await?;
    tracing::info!(
        deployment = name,
        replicas,
        "spec.replicas handed over to the autoscaler"
    );
    Ok(())
}

/// Whether `manager` applied the field at `path` (e.g. `["spec", "replicas"]`) of the object.
pub fn owns(metadata: &ObjectMeta, manager: &str, path: &[&str]) -> bool {
    let pointer = path.iter().fold(String::new(), |mut pointer, field| {
        pointer.push_str("/f:");
        pointer.push_str(field);
        pointer
    });
    metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| {
            entry.manager.as_deref() == Some(manager) && entry.operation.as_deref() == Some("Apply")
        })
        .filter_map(|entry| entry.fields_v1.as_ref())
        .any(|fields| fields.0.pointer(&pointer).is_some())
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
