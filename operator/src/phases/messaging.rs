//! Phase 2: the RabbitMQ topology of DESIGN §5 under the shop's prefix, and the Secret with
//! the services' `AMQP_URL`.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use microshop_events::Topology;

use crate::apply::{apply, secret_value};
use crate::error::Error;
use crate::names;
use crate::phases::generated;
use crate::provision::rabbitmq;
use crate::resources::Shop;

/// What the RabbitMQ Secret must hold.
pub const AMQP_URI: &str = "RabbitMQ URI (amqp://user:password@host:5672/)";

/// Declares the topology (idempotent) and applies the AMQP Secret; returns the `AMQP_URL`.
pub async fn ensure_all(shop: &Shop<'_>, client: &Client) -> Result<String, Error> {
    generated::refuse_referenced(shop, &names::amqp_secret(&shop.name))?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let spec = &shop.resource.spec.rabbitmq;
    let uri = secret_value(&secrets, &shop.namespace, &spec.secret_ref, AMQP_URI).await?;
    let url = rabbitmq::with_vhost(&uri, &spec.vhost)?;
    rabbitmq::declare(&url, &topology(shop)).await?;
    apply(&secrets, &shop.amqp_secret(&url)).await?;
    Ok(url)
}

/// The shop's exchanges and queues.
pub fn topology(shop: &Shop<'_>) -> Topology {
    Topology::with_prefix(shop.topology_prefix.clone())
}
