//! The controller: a pass over one Microshop runs the phases in order, writes the status when it
//! changed, and publishes an event for every condition that moved and every error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{self, finalizer};
use kube::{Client, Resource, ResourceExt};

use crate::config::Settings;
use crate::crd::{Microshop, MicroshopStatus, Service, ServiceStatus};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::names;
use crate::phases::workloads::Credentials;
use crate::phases::{
    admin_account, admin_secrets, cleanup, databases, keys, messaging, payment_provider, redis,
    service_keys, smtp, storefront, workloads,
};
use crate::resources::Shop;
use crate::status::{self, DATABASES_READY, MESSAGING_READY, READY, State, WORKLOADS_READY};
use secrecy::{ExposeSecret, SecretString};

/// When a ready shop is looked at again (drift: a database dropped by hand, a deleted Secret).
const RECHECK: Duration = Duration::from_secs(300);
/// When a shop whose pods are still starting is looked at again.
const WAIT_FOR_PODS: Duration = Duration::from_secs(15);
/// First retry after an error; doubled per consecutive error, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What every reconcile shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// The operator's metrics.
    pub metrics: Metrics,
    /// How the operator was installed.
    pub settings: Settings,
    /// Consecutive failures per Microshop (namespace, name), for the backoff.
    failures: Mutex<HashMap<(String, String), u32>>,
    /// Microshops changed since their last successful pass: (namespace, name) → the resource
    /// version seen last.
    pending: Mutex<HashMap<(String, String), String>>,
}

impl Context {
    /// A context whose events name `settings.instance` (the pod name) as their reporter.
    pub fn new(client: Client, metrics: Metrics, settings: Settings) -> Self {
        let reporter = Reporter {
            controller: names::FIELD_MANAGER.to_owned(),
            instance: settings.instance.clone(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            settings,
            failures: Mutex::default(),
            pending: Mutex::default(),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), u32>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The watch saw `shop` at a new resource version: it waits for a pass.
    pub fn changed(&self, shop: &Microshop) {
        let mut pending = self.pending();
        pending.insert(key(shop), shop.resource_version().unwrap_or_default());
        self.metrics.set_queue_depth(pending.len());
    }

    /// `shop` is gone: nothing waits for it.
    pub fn forget(&self, shop: &Microshop) {
        let mut pending = self.pending();
        pending.remove(&key(shop));
        self.metrics.set_queue_depth(pending.len());
    }

    /// A pass over `shop` succeeded: it no longer waits, unless it changed meanwhile.
    fn reconciled(&self, shop: &Microshop) {
        let mut pending = self.pending();
        let version = shop.resource_version().unwrap_or_default();
        if pending.get(&key(shop)) == Some(&version) {
            pending.remove(&key(shop));
        }
        self.metrics.set_queue_depth(pending.len());
    }
}

fn key(shop: &Microshop) -> (String, String) {
    (shop.namespace().unwrap_or_default(), shop.name_any())
}

/// One pass over `resource`.
pub async fn reconcile(resource: Arc<Microshop>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = resource.namespace().ok_or(Error::NotStored)?;
    let key = (namespace.clone(), resource.name_any());
    let api: Api<Microshop> = Api::namespaced(ctx.client.clone(), &namespace);
    let pass_ctx = Arc::clone(&ctx);
    let seen = Arc::clone(&resource);
    let result = finalizer(&api, names::FINALIZER, resource, move |event| async move {
        match event {
            finalizer::Event::Apply(resource) => apply(&resource, &pass_ctx).await,
            finalizer::Event::Cleanup(resource) => clean_up(&resource, &pass_ctx).await,
        }
    })
    .await
    .map_err(|error| match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        finalizer::Error::AddFinalizer(error) | finalizer::Error::RemoveFinalizer(error) => {
            Error::Kube(error)
        }
        finalizer::Error::UnnamedObject | finalizer::Error::InvalidFinalizer => Error::NotStored,
    });
    let seconds = started.elapsed().as_secs_f64();
    match &result {
        Ok(_) => {
            ctx.failures().remove(&key);
            ctx.reconciled(&seen);
            ctx.metrics.observe(seconds, None);
            tracing::debug!(namespace = %key.0, shop = %key.1, seconds, "reconciled");
        }
        Err(error) => {
            ctx.metrics.observe(seconds, Some(error.reason()));
            tracing::warn!(namespace = %key.0, shop = %key.1, reason = error.reason(), %error, "reconcile failed; retrying with backoff");
        }
    }
    result
}

#[allow(clippy::needless_pass_by_value)] // the signature `Controller::run` asks for
/// After a failed pass: retry after 5 s, doubling per consecutive failure up to 5 minutes.
pub fn error_policy(resource: Arc<Microshop>, _error: &Error, ctx: Arc<Context>) -> Action {
    let key = (
        resource.namespace().unwrap_or_default(),
        resource.name_any(),
    );
    let mut failures = ctx.failures();
    let count = failures.entry(key).or_default();
    *count = count.saturating_add(1);
    Action::requeue(backoff(*count))
}

/// The wait before retry number `failures` (1-based).
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF.saturating_mul(1 << exponent).min(MAX_BACKOFF)
}

/// The phases, then the status.
async fn apply(resource: &Microshop, ctx: &Context) -> Result<Action, Error> {
    let shop = Shop::new(resource, &ctx.settings.shop_image).ok_or(Error::NotStored)?;
    let mut report = Report::new(resource);
    if resource.spec.paused {
        let paused = State::unknown(
            "Paused",
            "spec.paused is true: the operator changes nothing until it is false",
        );
        report.set(READY, &paused, "Pause");
        report.publish(&shop, ctx).await?;
        return Ok(Action::await_change());
    }

    let held = admin_secrets::reconcile(&shop, &ctx.client, true).await?;
    for secret in held {
        report.warn(
            "AdminSecretHeld",
            "Protect",
            format!(
                "Secret {secret} is being deleted but deletionPolicy Delete still needs it to drop the shop's databases and queues: it is kept (finalizer {}) until the Microshop is deleted or its deletionPolicy is Retain",
                names::admin_secret_finalizer(&shop.name)
            ),
        );
    }
    let databases = databases::ensure_all(&shop, &ctx.client).await;
    report.outcome(
        DATABASES_READY,
        "Provision",
        databases.as_ref().map(|provisioned| {
            let names: Vec<&str> = provisioned
                .statuses
                .iter()
                .map(|d| d.database.as_str())
                .collect();
            State::ok(
                "Provisioned",
                format!(
                    "databases {} exist, each URL in its Secret",
                    names.join(", ")
                ),
            )
        }),
    );
    let messaging = messaging::ensure_all(&shop, &ctx.client).await;
    report.outcome(
        MESSAGING_READY,
        "DeclareTopology",
        messaging.as_ref().map(|_| {
            State::ok(
                "TopologyDeclared",
                format!(
                    "exchanges and queues named {}* are declared in vhost {}",
                    shop.topology_prefix, resource.spec.rabbitmq.vhost
                ),
            )
        }),
    );
    let generated = generated_secrets(&shop, &ctx.client).await;
    if generated.is_ok() {
        report.status.admin_secret = Some(names::admin_account_secret(&shop.name));
    }
    let referenced = referenced_settings(&shop, &ctx.client).await;
    let workloads = match (&databases, &messaging, generated, referenced) {
        (Ok(provisioned), Ok(amqp_url), Ok(generated), Ok(referenced)) => {
            let credentials = generated.credentials(provisioned, amqp_url, &referenced);
            workloads::ensure_all(&shop, &ctx.client, &credentials).await
        }
        (Ok(_), Ok(_), Err(error), _) | (Ok(_), Ok(_), Ok(_), Err(error)) => Err(error),
        _ => Err(Error::Blocked(
            "workloads are not updated while DatabasesReady or MessagingReady is False".into(),
        )),
    };
    report.outcome(
        WORKLOADS_READY,
        "Deploy",
        workloads
            .as_ref()
            .map(|services| pods_state(&shop, services)),
    );
    if let Ok(provisioned) = &databases {
        report.status.databases.clone_from(&provisioned.statuses);
    }
    if let Ok(services) = &workloads {
        report.set_services(services);
        report.status.url = Some(shop.shop_url());
    }
    let ready = report.summarise();
    report.publish(&shop, ctx).await?;

    databases?;
    messaging?;
    workloads?;
    Ok(Action::requeue(if ready { RECHECK } else { WAIT_FOR_PODS }))
}

/// What the operator generates into Secrets and keeps (and the provider's keys, generated for
/// the sandbox or read from the user's Secret).
struct Generated {
    keys: keys::Keys,
    admin: admin_account::AdminAccount,
    service_keys: service_keys::ServiceKeys,
    provider: Option<payment_provider::ProviderKeys>,
    storefront: SecretString,
}

impl Generated {
    /// What the pods read from Secrets, for the credentials checksums.
    fn credentials<'a>(
        &'a self,
        databases: &'a databases::Databases,
        amqp_url: &'a str,
        referenced: &'a Referenced,
    ) -> Credentials<'a> {
        Credentials {
            database_urls: &databases.urls,
            amqp_url,
            jwt_signing_key: self.keys.signing_key.expose_secret(),
            jwt_public_keys: &self.keys.public_keys,
            admin_email: &self.admin.email,
            admin_password: self.admin.password.expose_secret(),
            service_keys: &self.service_keys,
            provider: self.provider.as_ref(),
            redis_url: referenced.redis_url.as_deref(),
            smtp: referenced.smtp.as_ref(),
            storefront_secret: self.storefront.expose_secret(),
        }
    }
}

/// What the pods read from the optional Secrets the spec references (the operator only reads
/// them): Redis's URL, the SMTP server's settings.
struct Referenced {
    redis_url: Option<String>,
    smtp: Option<smtp::Smtp>,
}

/// The settings of the optional Secrets the spec references; a missing one is `SecretMissing`.
async fn referenced_settings(shop: &Shop<'_>, client: &Client) -> Result<Referenced, Error> {
    Ok(Referenced {
        redis_url: redis::url(shop, client).await?,
        smtp: smtp::settings(shop, client).await?,
    })
}

/// The Secrets the operator generates values into: the token keys, the first admin account,
/// the service keys, the card provider's keys and the storefront's key.
async fn generated_secrets(shop: &Shop<'_>, client: &Client) -> Result<Generated, Error> {
    Ok(Generated {
        keys: keys::ensure(shop, client).await?,
        admin: admin_account::ensure(shop, client).await?,
        service_keys: service_keys::ensure(shop, client).await?,
        provider: payment_provider::ensure(shop, client).await?,
        storefront: storefront::ensure(shop, client).await?,
    })
}

async fn clean_up(resource: &Microshop, ctx: &Context) -> Result<Action, Error> {
    let shop = Shop::new(resource, &ctx.settings.shop_image).ok_or(Error::NotStored)?;
    let reference = resource.object_ref(&());
    match cleanup::run(&shop, &ctx.client).await {
        Ok(done) => {
            let (kind, reason) = if done.left_behind.is_empty() {
                tracing::info!(namespace = %shop.namespace, shop = %shop.name, "{}", done.note);
                (EventType::Normal, "CleanedUp")
            } else {
                tracing::warn!(namespace = %shop.namespace, shop = %shop.name, left_behind = ?done.left_behind, "{}", done.note);
                (EventType::Warning, "LeftBehind")
            };
            publish(ctx, &reference, kind, reason, "Delete", done.note).await;
            Ok(Action::await_change())
        }
        Err(error) => {
            let note = format!(
                "{error}; the Microshop stays until this succeeds (set spec.deletionPolicy to Retain to delete it without touching the data)"
            );
            publish(
                ctx,
                &reference,
                EventType::Warning,
                error.reason(),
                "Delete",
                note,
            )
            .await;
            Err(error)
        }
    }
}

fn pods_state(
    shop: &Shop<'_>,
    services: &std::collections::BTreeMap<String, ServiceStatus>,
) -> State {
    let summary: Vec<String> = services
        .iter()
        .map(|(name, s)| format!("{name} {}/{}", s.ready, s.desired))
        .collect();
    let waiting: Vec<String> = services
        .iter()
        .filter(|(_, s)| s.ready < s.desired)
        .map(|(name, _)| format!("{}-{name}", shop.name))
        .collect();
    // Not a failure (a shop made before payments existed keeps working), but worth saying.
    let payments = if shop.runs(Service::Payment) {
        ""
    } else {
        "; payments are off (no payment service): set spec.paymentSandbox.enabled, or spec.paymentProvider with url and secretRef"
    };
    if waiting.is_empty() {
        State::ok(
            "ReplicasReady",
            format!(
                "pods ready: {}; the storefront is at {}{payments}",
                summary.join(", "),
                shop.shop_url()
            ),
        )
    } else {
        State::failed(
            "ReplicasNotReady",
            format!(
                "pods ready: {}; see kubectl describe deployment {}{payments}",
                summary.join(", "),
                waiting.join(" ")
            ),
        )
    }
}

/// The status being built in one pass, and the events it owes.
struct Report {
    previous: MicroshopStatus,
    status: MicroshopStatus,
    generation: Option<i64>,
    /// (type, reason, note, action) of events to publish.
    events: Vec<(EventType, String, String, &'static str)>,
}

impl Report {
    fn new(resource: &Microshop) -> Self {
        let previous = resource.status.clone().unwrap_or_default();
        let mut status = previous.clone();
        status.observed_generation = resource.metadata.generation;
        Self {
            previous,
            status,
            generation: resource.metadata.generation,
            events: Vec::new(),
        }
    }

    /// Sets a condition; a move to a new status owes an event.
    fn set(&mut self, type_: &str, state: &State, action: &'static str) {
        if let Some(transition) =
            status::set(&mut self.status.conditions, type_, state, self.generation)
        {
            let kind = if transition.state.is_true() {
                EventType::Normal
            } else {
                EventType::Warning
            };
            self.events.push((
                kind,
                transition.state.reason,
                format!(
                    "{type_} is {}: {}",
                    transition.state.status, transition.state.message
                ),
                action,
            ));
        }
    }

    /// Owes a warning event that no condition carries.
    fn warn(&mut self, reason: &str, action: &'static str, note: String) {
        self.events
            .push((EventType::Warning, reason.to_owned(), note, action));
    }

    /// Sets a condition from a phase's outcome; an error owes an event even without a move.
    fn outcome(&mut self, type_: &str, action: &'static str, outcome: Result<State, &Error>) {
        match outcome {
            Ok(state) => self.set(type_, &state, action),
            Err(error) => {
                let state = State::failed(error.reason(), error.to_string());
                let before = self.events.len();
                self.set(type_, &state, action);
                let blocked = matches!(error, Error::Blocked(_));
                if self.events.len() == before && !blocked {
                    self.events.push((
                        EventType::Warning,
                        state.reason,
                        format!("{type_} is False: {}", state.message),
                        action,
                    ));
                }
            }
        }
    }

    fn set_services(&mut self, services: &std::collections::BTreeMap<String, ServiceStatus>) {
        let ready: i32 = services.values().map(|s| s.ready).sum();
        let desired: i32 = services.values().map(|s| s.desired).sum();
        self.status.services.clone_from(services);
        self.status.replicas = Some(format!("{ready}/{desired}"));
    }

    /// Sets `Ready` from the other three; whether it is true.
    fn summarise(&mut self) -> bool {
        let not_ready: Vec<String> = [DATABASES_READY, MESSAGING_READY, WORKLOADS_READY]
            .iter()
            .filter_map(|type_| {
                let condition = status::get(&self.status, type_)?;
                (condition.status != "True").then(|| format!("{type_} ({})", condition.message))
            })
            .collect();
        let state = if not_ready.is_empty() {
            State::ok(
                "Ready",
                "every database, the topology and every pod is ready",
            )
        } else {
            State::failed("NotReady", format!("waiting for {}", not_ready.join("; ")))
        };
        let ready = state.is_true();
        self.set(READY, &state, "Reconcile");
        ready
    }

    /// Writes the status if it changed, then the events.
    async fn publish(self, shop: &Shop<'_>, ctx: &Context) -> Result<(), Error> {
        if self.status != self.previous {
            let api: Api<Microshop> = Api::namespaced(ctx.client.clone(), &shop.namespace);
            let mut patch = serde_json::json!({ "status": self.status });
            // A merge patch keeps the keys it does not name: the pods of a program the shop no
            // longer runs (the sandbox switched off) are removed by name.
            for gone in self.previous.services.keys() {
                if !self.status.services.contains_key(gone) {
                    patch["status"]["services"][gone] = serde_json::Value::Null;
                }
            }
            api.patch_status(&shop.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        let reference = shop.resource.object_ref(&());
        for (kind, reason, note, action) in self.events {
            publish(ctx, &reference, kind, &reason, action, note).await;
        }
        Ok(())
    }
}

/// Publishes an event; a failure to do so is logged, never fails the pass.
async fn publish(
    ctx: &Context,
    reference: &k8s_openapi::api::core::v1::ObjectReference,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, reference).await {
        tracing::warn!(%error, reason, "could not publish a Kubernetes event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_five_minutes() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
