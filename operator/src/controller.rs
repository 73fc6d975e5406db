//! The controller: which watches trigger a pass over which Microshop.
//!
//! Everything is watched in the configured scope (one namespace, or all). Microshops are watched
//! whole (a reflector keeps them for the mappers); what the operator made is watched by metadata
//! only and selected by its `managed-by` label, and mapped to its shop by the shop label; Secrets
//! are watched by metadata only (never their data) and mapped to the shops that own them or
//! reference them in their spec, so a fixed credential is noticed in seconds. Every watch
//! reports to [`Health`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Secret, Service as KubeService};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::crd::Microshop;
use crate::health::Health;
use crate::names;
use crate::reconcile::{Context, error_policy, reconcile};

/// The resources the operator watches, as metrics and logs name them.
pub const WATCHED: [&str; 7] = [
    "microshops",
    "deployments",
    "services",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "ingresses",
    "secrets",
];

/// How long passes in flight at shutdown may take to finish (the pods' grace period is 30 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Runs the controller until `shutdown` resolves (in-flight passes finish first, for up to
/// [`SHUTDOWN_GRACE`]).
pub async fn run(
    ctx: Arc<Context>,
    health: Arc<Health>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let shutdown = shutdown.shared();
    // Until the first list of Microshops succeeds, kube's runner waits for it and does not see a
    // shutdown; nothing is in flight then, so stopping needs no wait.
    let listed = Arc::new(AtomicBool::new(false));
    let controller = controller(&ctx, &health, shutdown.clone(), Arc::clone(&listed));
    tokio::select! {
        () = controller => {}
        () = async {
            shutdown.await;
            if listed.load(Ordering::Relaxed) {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
                tracing::warn!(grace_seconds = SHUTDOWN_GRACE.as_secs(), "passes still running at shutdown were abandoned");
            }
        } => {}
    }
}

async fn controller(
    ctx: &Arc<Context>,
    health: &Arc<Health>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    listed: Arc<AtomicBool>,
) {
    let client = ctx.client.clone();
    let scope = ctx.settings.namespace.clone();
    let (reader, writer) = reflector::store();
    let shops = {
        let (ctx, health) = (Arc::clone(ctx), Arc::clone(health));
        watcher(
            api(&client, scope.as_deref()),
            watcher::Config::default().any_semantic(),
        )
        .default_backoff()
        .inspect(move |event| match event {
            Ok(event) => {
                health.ok("microshops");
                match event {
                    watcher::Event::Apply(shop) | watcher::Event::InitApply(shop) => {
                        ctx.changed(shop);
                    }
                    watcher::Event::Delete(shop) => ctx.forget(shop),
                    watcher::Event::InitDone => listed.store(true, Ordering::Relaxed),
                    watcher::Event::Init => {}
                }
            }
            Err(error) => health.error("microshops", error),
        })
        .reflect(writer)
        .applied_objects()
    };
    let secrets_reader = reader.clone();
    Controller::for_stream(shops, reader)
        .watches_stream(
            managed::<Deployment>(&client, scope.as_deref(), "deployments", health),
            |object| shop_of(&object),
        )
        .watches_stream(
            managed::<KubeService>(&client, scope.as_deref(), "services", health),
            |object| shop_of(&object),
        )
        .watches_stream(
            managed::<HorizontalPodAutoscaler>(
                &client,
                scope.as_deref(),
                "horizontalpodautoscalers",
                health,
            ),
            |object| shop_of(&object),
        )
        .watches_stream(
            managed::<PodDisruptionBudget>(
                &client,
                scope.as_deref(),
                "poddisruptionbudgets",
                health,
            ),
            |object| shop_of(&object),
        )
        .watches_stream(
            managed::<Ingress>(&client, scope.as_deref(), "ingresses", health),
            |object| shop_of(&object),
        )
        .watches_stream(
            metadata(
                api::<PartialObjectMeta<Secret>>(&client, scope.as_deref()),
                watcher::Config::default(),
                "secrets",
                health,
            ),
            move |secret| shops_of_secret(&secrets_reader, &secret),
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, Arc::clone(ctx))
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile did not complete");
            }
        })
        .await;
}

/// All of `K` in the scope: one namespace, or the cluster.
fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// What a metadata watch can watch.
trait Watchable:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static
{
}

impl<K> Watchable for K where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}

/// The metadata of the `K`s the operator made.
fn managed<K>(
    client: &Client,
    namespace: Option<&str>,
    resource: &'static str,
    health: &Arc<Health>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Watchable + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    metadata(
        api::<PartialObjectMeta<K>>(client, namespace),
        watcher::Config::default().labels(names::MANAGED_BY),
        resource,
        health,
    )
}

/// A metadata watch reporting to `health`, its objects as they change.
fn metadata<K>(
    api: Api<PartialObjectMeta<K>>,
    config: watcher::Config,
    resource: &'static str,
    health: &Arc<Health>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Watchable,
{
    let health = Arc::clone(health);
    watcher(api, config.any_semantic())
        .default_backoff()
        .inspect(move |event| match event {
            Ok(_) => health.ok(resource),
            Err(error) => health.error(resource, error),
        })
        .touched_objects()
}

/// The Microshop an object belongs to, by its shop label.
fn shop_of<K: Resource>(object: &K) -> Option<ObjectRef<Microshop>> {
    let shop = object.meta().labels.as_ref()?.get(names::SHOP_LABEL)?;
    let namespace = object.meta().namespace.as_deref()?;
    Some(ObjectRef::new(shop).within(namespace))
}

/// The Microshops a Secret matters to: the one it belongs to, and those in its namespace whose
/// spec references it (PostgreSQL, RabbitMQ, Redis, the payment provider, the SMTP server).
fn shops_of_secret<K: Resource>(shops: &Store<Microshop>, secret: &K) -> Vec<ObjectRef<Microshop>> {
    let managed = secret
        .meta()
        .labels
        .as_ref()
        .and_then(|labels| labels.get("app.kubernetes.io/managed-by"))
        .is_some_and(|manager| manager == names::FIELD_MANAGER);
    if managed {
        return shop_of(secret).into_iter().collect();
    }
    let (Some(name), Some(namespace)) = (
        secret.meta().name.as_deref(),
        secret.meta().namespace.as_deref(),
    ) else {
        return Vec::new();
    };
    shops
        .state()
        .iter()
        .filter(|shop| shop.namespace().as_deref() == Some(namespace))
        .filter(|shop| shop.spec.referenced_secrets().contains(name))
        .map(|shop| ObjectRef::from_obj(shop.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{MicroshopSpec, PostgresSpec, RabbitMqSpec, RedisSpec, SecretKeyRef};

    fn reference(name: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: "uri".into(),
        }
    }

    fn secret(namespace: &str, name: &str) -> Secret {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.metadata.namespace = Some(namespace.into());
        secret
    }

    #[test]
    fn a_secret_the_spec_references_brings_its_shop_back() {
        let spec = MicroshopSpec {
            image: None,
            postgres: PostgresSpec {
                admin_secret_ref: reference("pg-admin"),
            },
            rabbitmq: RabbitMqSpec {
                secret_ref: reference("rabbitmq"),
                vhost: "/".into(),
                topology_prefix: None,
            },
            redis: Some(RedisSpec {
                secret_ref: reference("redis"),
            }),
            services: crate::crd::ServicesSpec::default(),
            payment_sandbox: crate::crd::PaymentSandboxSpec::default(),
            payment_provider: Some(crate::crd::PaymentProviderSpec {
                url: Some("https://provider.example".into()),
                secret_ref: Some(crate::crd::SecretRef {
                    name: "provider".into(),
                }),
            }),
            smtp: Some(crate::crd::SmtpSpec {
                secret_ref: crate::crd::SecretRef {
                    name: "smtp".into(),
                },
            }),
            shop_url: None,
            ingress: crate::crd::IngressSpec::default(),
            admin: crate::crd::AdminSpec::default(),
            deletion_policy: crate::crd::DeletionPolicy::Retain,
            paused: false,
        };
        let mut shop = Microshop::new("shop", spec);
        shop.metadata.namespace = Some("ns".into());
        let (reader, mut writer) = reflector::store::<Microshop>();
        writer.apply_watcher_event(&watcher::Event::Apply(shop.clone()));
        let shop_ref = ObjectRef::from_obj(&shop);
        for name in ["pg-admin", "rabbitmq", "redis", "provider", "smtp"] {
            assert_eq!(
                shops_of_secret(&reader, &secret("ns", name)),
                std::slice::from_ref(&shop_ref),
                "{name}"
            );
        }
        assert!(shops_of_secret(&reader, &secret("ns", "other")).is_empty());
        assert!(shops_of_secret(&reader, &secret("elsewhere", "redis")).is_empty());
    }
}
