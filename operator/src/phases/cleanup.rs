//! Deleting a Microshop. Workloads go with it (the garbage collector follows their owner
//! references). `Retain` releases the database Secrets from it and touches neither PostgreSQL
//! nor RabbitMQ, so an unreachable server never blocks the deletion; `Delete` drops the
//! databases, roles and queues and deletes their Secrets.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};

use crate::apply::{delete, secret_value};
use crate::crd::{DeletionPolicy, Service};
use crate::error::Error;
use crate::names;
use crate::phases::{databases, messaging};
use crate::provision::postgres::PostgresAdmin;
use crate::provision::rabbitmq;
use crate::resources::Shop;

/// What the cleanup did, for the event.
pub async fn run(shop: &Shop<'_>, client: &Client) -> Result<String, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let databases: Vec<String> = Service::ALL
        .iter()
        .map(|s| names::database(&shop.namespace, &shop.name, *s))
        .collect();
    match shop.resource.spec.deletion_policy {
        DeletionPolicy::Retain => {
            release_secrets(shop, &secrets).await?;
            Ok(format!(
                "deletionPolicy Retain: kept databases and roles {}, their Secrets, and the RabbitMQ queues named {}*",
                databases.join(", "),
                shop.topology_prefix
            ))
        }
        DeletionPolicy::Delete => {
            drop_databases(shop, &secrets, &databases).await?;
            delete_topology(shop, &secrets).await?;
            for service in Service::ALL {
                let name = names::database_secret(&shop.name, service);
                delete(&secrets, &name).await?;
            }
            Ok(format!(
                "deletionPolicy Delete: dropped databases and roles {}, deleted their Secrets and the RabbitMQ queues named {}*",
                databases.join(", "),
                shop.topology_prefix
            ))
        }
    }
}

/// Removes the Microshop's owner reference from each database Secret, so the garbage collector
/// keeps them.
async fn release_secrets(shop: &Shop<'_>, secrets: &Api<Secret>) -> Result<(), Error> {
    for service in Service::ALL {
        let name = names::database_secret(&shop.name, service);
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
