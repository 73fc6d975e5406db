//! Deleting a Microshop. Workloads and the AMQP, token key, service key and generated payment
//! provider Secrets go with it (the garbage collector follows their owner references). The database Secrets and the first
//! admin's Secret (its account lives in the user database) have no owner reference, so nothing
//! but this cleanup decides their fate: `Retain` keeps them and touches neither PostgreSQL nor
//! RabbitMQ, so an unreachable server never blocks the deletion; `Delete` drops the databases,
//! roles and queues and deletes the Secrets.
//!
//! Under `Delete`, an admin Secret that is gone (or lacks its key) cannot become readable again
//! by waiting, so the cleanup finishes with what it can reach and reports the rest as left
//! behind. A server that does not answer is retried: the Microshop stays until it answers.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};

use crate::apply::{remove, secret_value};
use crate::crd::{DeletionPolicy, Service};
use crate::error::Error;
use crate::names;
use crate::phases::{admin_secrets, databases, messaging};
use crate::provision::postgres::PostgresAdmin;
use crate::provision::rabbitmq;
use crate::resources::Shop;

/// What the cleanup did and what it had to leave.
#[derive(Debug)]
pub struct Cleanup {
    /// One sentence for the event and the log.
    pub note: String,
    /// What still exists and why, e.g. `databases and roles a, b, c on the PostgreSQL server
    /// (Secret ns/pg-admin is gone)`; empty when everything went.
    pub left_behind: Vec<String>,
}

/// Runs the shop's deletion policy.
pub async fn run(shop: &Shop<'_>, client: &Client) -> Result<Cleanup, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let databases: Vec<String> = Service::WITH_DATABASE
        .iter()
        .map(|s| names::database(&shop.namespace, &shop.name, *s))
        .collect();
    let cleanup = match shop.resource.spec.deletion_policy {
        DeletionPolicy::Retain => {
            release_secrets(shop, &secrets).await?;
            Cleanup {
                note: format!(
                    "deletionPolicy Retain: kept databases and roles {}, their Secrets, the first admin's Secret {}, and the RabbitMQ queues named {}*",
                    databases.join(", "),
                    names::admin_account_secret(&shop.name),
                    shop.topology_prefix
                ),
                left_behind: Vec::new(),
            }
        }
        DeletionPolicy::Delete => {
            let mut left_behind = Vec::new();
            if let Some(reason) = unreadable(drop_databases(shop, &secrets, &databases).await)? {
                left_behind.push(format!(
                    "databases and roles {} on the PostgreSQL server ({reason})",
                    databases.join(", ")
                ));
            }
            if let Some(reason) = unreadable(delete_topology(shop, &secrets).await)? {
                left_behind.push(format!(
                    "the RabbitMQ exchanges and queues named {}* ({reason})",
                    shop.topology_prefix
                ));
            }
            for name in data_secrets(shop) {
                remove(&secrets, &name).await?;
            }
            let note = if left_behind.is_empty() {
                format!(
                    "deletionPolicy Delete: dropped databases and roles {}, deleted their Secrets, the first admin's Secret and the RabbitMQ queues named {}*",
                    databases.join(", "),
                    shop.topology_prefix
                )
            } else {
                format!(
                    "deletionPolicy Delete: deleted the database Secrets and the first admin's Secret; left behind {}: drop them by hand",
                    left_behind.join("; and ")
                )
            };
            Cleanup { note, left_behind }
        }
    };
    admin_secrets::reconcile(shop, client, false).await?;
    Ok(cleanup)
}

/// `Ok(Some(why))` when the step could not run because an admin Secret is unreadable (it will
/// not become readable by waiting); other errors stay errors (retried).
fn unreadable(result: Result<(), Error>) -> Result<Option<String>, Error> {
    match result {
        Ok(()) => Ok(None),
        Err(Error::MissingSecret {
            namespace,
            name,
            key,
            ..
        }) => Ok(Some(format!(
            "Secret {namespace}/{name} has no key {key:?}"
        ))),
        Err(error) => Err(error),
    }
}

/// The Secrets that follow the data (`deletionPolicy`), not the Microshop: the database Secrets
/// and the first admin's, whose account lives in the user database. None the spec references:
/// those are the user's, whatever their names (the passes refuse to write them).
fn data_secrets(shop: &Shop<'_>) -> Vec<String> {
    let referenced = shop.resource.spec.referenced_secrets();
    Service::WITH_DATABASE
        .iter()
        .map(|service| names::database_secret(&shop.name, *service))
        .chain([names::admin_account_secret(&shop.name)])
        .filter(|name| !referenced.contains(name.as_str()))
        .collect()
}

/// Removes the Microshop's owner reference from the Secrets that follow the data, should an
/// earlier operator version have written them with one, so the garbage collector keeps them.
async fn release_secrets(shop: &Shop<'_>, secrets: &Api<Secret>) -> Result<(), Error> {
    for name in data_secrets(shop) {
        let Some(secret) = secrets.get_opt(&name).await? else {
            continue;
        };
        if secret.owner_references().is_empty() {
            continue;
        }
        let patch = serde_json::json!({"metadata": {"ownerReferences": null}});
        secrets
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}

async fn drop_databases(
    shop: &Shop<'_>,
    secrets: &Api<Secret>,
    names: &[String],
) -> Result<(), Error> {
    let reference = &shop.resource.spec.postgres.admin_secret_ref;
    let uri = secret_value(secrets, &shop.namespace, reference, databases::ADMIN_URI).await?;
    let mut admin = PostgresAdmin::connect(&uri).await?;
    let mut result = Ok(());
    for name in names {
        result = admin.drop_database(name).await;
        if result.is_err() {
            break;
        }
    }
    admin.close().await;
    Ok(result?)
}

async fn delete_topology(shop: &Shop<'_>, secrets: &Api<Secret>) -> Result<(), Error> {
    let spec = &shop.resource.spec.rabbitmq;
    let uri = secret_value(
        secrets,
        &shop.namespace,
        &spec.secret_ref,
        messaging::AMQP_URI,
    )
    .await?;
    let url = rabbitmq::with_vhost(&uri, &spec.vhost)?;
    Ok(rabbitmq::delete(&url, &messaging::topology(shop)).await?)
}
