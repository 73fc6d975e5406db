//! Phase 3: per program the shop runs a Deployment and a Service, an HPA when autoscaling is on,
//! a PDB when more than one pod runs; the Ingress to the gateway while `spec.ingress` is enabled;
//! and how many pods are ready. The objects of a program it no longer runs (the sandbox switched
//! off, the payment service without a provider) go, and so does a switched-off Ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service as KubeService;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::{Api, Client};

use crate::apply::{apply, hand_over_replicas, remove};
use crate::crd::{Service, ServiceStatus};
use crate::error::Error;
use crate::names;
use crate::phases::payment_provider::ProviderKeys;
use crate::phases::service_keys::ServiceKeys;
use crate::phases::smtp::Smtp;
use crate::resources::{Shop, credentials_checksum};

/// What the services' pods read from the shop's Secrets.
pub struct Credentials<'a> {
    /// Each service's `DATABASE_URL`.
    pub database_urls: &'a BTreeMap<Service, String>,
    /// The `AMQP_URL`.
    pub amqp_url: &'a str,
    /// The access-token signing key (the user service's).
    pub jwt_signing_key: &'a str,
    /// The access-token public keys (the services that verify tokens).
    pub jwt_public_keys: &'a str,
    /// The first admin's e-mail address (the user service's).
    pub admin_email: &'a str,
    /// The first admin's password (the user service's).
    pub admin_password: &'a str,
    /// The service keys (each caller sends its own, the services it calls accept it).
    pub service_keys: &'a ServiceKeys,
    /// The card provider's keys, when the shop has a provider (the payment service's and the
    /// sandbox's).
    pub provider: Option<&'a ProviderKeys>,
    /// The Redis URL, when the shop has one (the user, product and order services').
    pub redis_url: Option<&'a str>,
    /// The SMTP server's settings, when the shop has one (the notification service's).
    pub smtp: Option<&'a Smtp>,
    /// The key signing the storefront's CSRF tokens (the gateway's).
    pub storefront_secret: &'a str,
}

impl Credentials<'_> {
    /// The digest of what `service`'s pods read: when it changes, its pods roll.
    fn checksum(&self, service: Service) -> String {
        let database = self.database_urls.get(&service).map_or("", String::as_str);
        let mut values = vec![database];
        if service.uses_amqp() {
            values.push(self.amqp_url);
        }
        if service == Service::User {
            values.extend([self.jwt_signing_key, self.admin_email, self.admin_password]);
        }
        if service.uses_redis() {
            // Nothing without Redis, so that shops without one keep their checksum.
            values.extend(self.redis_url);
        }
        if service.verifies_tokens() {
            values.push(self.jwt_public_keys);
        }
        // The keys of the callers it accepts, then its own.
        for caller in service.callers() {
            values.push(self.service_keys.of(*caller));
        }
        if service.is_caller() {
            values.push(self.service_keys.of(service));
        }
        if let (Service::Payment | Service::PaymentSandbox, Some(provider)) =
            (service, self.provider)
        {
            values.extend([provider.api_key.as_str(), provider.webhook_secret.as_str()]);
        }
        if let (Service::Notification, Some(smtp)) = (service, self.smtp) {
            // A sender added to the Secret rolls the pods as a new URL does.
            values.push(&smtp.url);
            values.extend(smtp.from.as_deref());
        }
        if service == Service::Gateway {
            values.push(self.storefront_secret);
        }
        credentials_checksum(&values)
    }
}

/// Applies every object of the programs the shop runs, removes those of the others, applies or
/// removes the Ingress, and reports desired and ready pods per program it runs.
pub async fn ensure_all(
    shop: &Shop<'_>,
    client: &Client,
    credentials: &Credentials<'_>,
) -> Result<BTreeMap<String, ServiceStatus>, Error> {
    let namespace = shop.namespace.as_str();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let services: Api<KubeService> = Api::namespaced(client.clone(), namespace);
    let autoscalers: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), namespace);
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), namespace);
    let mut statuses = BTreeMap::new();
    for service in Service::ALL {
        let name = names::workload(&shop.name, service);
        if !shop.runs(service) {
            remove(&autoscalers, &name).await?;
            remove(&budgets, &name).await?;
            remove(&services, &name).await?;
            remove(&deployments, &name).await?;
            continue;
        }
        let autoscaler = shop.autoscaler(service);
        if autoscaler.is_some() {
            // Before the apply without spec.replicas, or the Deployment would drop to 1 pod.
            hand_over_replicas(&deployments, &name).await?;
        }
        let deployment = shop.deployment(service, &credentials.checksum(service));
        let live = apply(&deployments, &deployment).await?;
        apply(&services, &shop.service(service)).await?;
        match autoscaler {
            Some(autoscaler) => drop(apply(&autoscalers, &autoscaler).await?),
            None => remove(&autoscalers, &name).await?,
        }
        match shop.disruption_budget(service) {
            Some(budget) => drop(apply(&budgets, &budget).await?),
            None => remove(&budgets, &name).await?,
        }
        statuses.insert(service.name().to_owned(), pods(shop, service, &live));
    }
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    match shop.ingress() {
        Some(ingress) => drop(apply(&ingresses, &ingress).await?),
        None => remove(&ingresses, &names::workload(&shop.name, Service::Gateway)).await?,
    }
    Ok(statuses)
}

/// Desired pods (the HPA's current choice when it sizes the Deployment) and ready ones; pods
/// of an older revision still rolling out do not count as ready.
fn pods(shop: &Shop<'_>, service: Service, live: &Deployment) -> ServiceStatus {
    let autoscaled = shop
        .resource
        .spec
        .services
        .get(service)
        .autoscaling()
        .is_some();
    let desired = if autoscaled {
        live.spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or_else(|| shop.desired_replicas(service))
    } else {
        shop.desired_replicas(service)
    };
    let status = live.status.clone().unwrap_or_default();
    let current = status.observed_generation.is_some()
        && status.observed_generation >= live.metadata.generation;
    let ready = if current {
        status
            .ready_replicas
            .unwrap_or(0)
            .min(status.updated_replicas.unwrap_or(0))
    } else {
        0
    };
    ServiceStatus { desired, ready }
}
