//! The admin Secrets of a `Delete` shop carry a finalizer per shop while the shop exists, so
//! that deleting them together with it (`kubectl delete -f` of the sample, a namespace deletion)
//! leaves them readable until the cleanup has used them to drop the databases and queues.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};

use crate::crd::DeletionPolicy;
use crate::error::Error;
use crate::names;
use crate::resources::Shop;

/// Adds the shop's finalizer to its admin Secrets under `Delete`, removes it under `Retain`
/// (or when `keep` is false: after the cleanup). Secrets that do not exist are skipped: the
/// phases that read them report them missing. Returns the Secrets being deleted while held.
pub async fn reconcile(shop: &Shop<'_>, client: &Client, keep: bool) -> Result<Vec<String>, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let finalizer = names::admin_secret_finalizer(&shop.name);
    let hold = keep && shop.resource.spec.deletion_policy == DeletionPolicy::Delete;
    let mut held_while_deleted = Vec::new();
    for name in referenced(shop) {
        let Some(secret) = secrets.get_opt(&name).await? else {
            continue;
        };
        let finalizers = secret.finalizers();
        let position = finalizers.iter().position(|f| *f == finalizer);
        let patch = match (hold, position) {
            (true, None) if finalizers.is_empty() => {
                serde_json::json!([{"op": "add", "path": "/metadata/finalizers", "value": [finalizer]}])
            }
            (true, None) => {
                serde_json::json!([{"op": "add", "path": "/metadata/finalizers/-", "value": finalizer}])
            }
            (false, Some(index)) => serde_json::json!([
                {"op": "test", "path": format!("/metadata/finalizers/{index}"), "value": finalizer},
                {"op": "remove", "path": format!("/metadata/finalizers/{index}")},
            ]),
            _ => {
                if hold && secret.metadata.deletion_timestamp.is_some() {
                    held_while_deleted.push(name);
                }
                continue;
            }
        };
        // The resource version guards against a concurrent change of the list.
        let mut operations = vec![serde_json::json!({
            "op": "test", "path": "/metadata/resourceVersion", "value": secret.resource_version(),
        })];
        operations.extend(patch.as_array().into_iter().flatten().cloned());
        let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(operations))
            .expect("the operations above form a JSON patch");
        secrets
            .patch(&name, &PatchParams::default(), &Patch::<()>::Json(patch))
            .await?;
    }
    Ok(held_while_deleted)
}

/// The admin Secrets the spec references, each once: PostgreSQL's and RabbitMQ's, which the
/// cleanup of a `Delete` shop needs (Redis's is not needed there).
pub(crate) fn referenced(shop: &Shop<'_>) -> BTreeSet<String> {
    let spec = &shop.resource.spec;
    BTreeSet::from([
        spec.postgres.admin_secret_ref.name.clone(),
        spec.rabbitmq.secret_ref.name.clone(),
    ])
}
