//! The `Microshop` custom resource (DESIGN §8): what a user asks for, and what the operator
//! reports back. `crdgen` prints the CRD from these types; nothing else writes its YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod ingress;
mod notifications;
mod payments;
mod service;

pub use ingress::IngressSpec;
pub use notifications::SmtpSpec;
pub use payments::{PaymentProviderSpec, PaymentSandboxSpec, SecretRef};
pub use service::Service;

/// One shop: its services, their databases and the RabbitMQ topology between them, the gateway
/// in front of them (and an Ingress to it when asked for), and the payment sandbox when asked
/// for.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "microshop.dev",
    version = "v1alpha1",
    kind = "Microshop",
    namespaced,
    shortname = "shop",
    status = "MicroshopStatus",
    derive = "PartialEq",
    doc = "A Microshop: user, product, order, payment and notification services with their databases and RabbitMQ topology, the gateway in front of them (optionally behind an Ingress), and optionally a payment sandbox",
    printcolumn(
        name = "Ready",
        type_ = "string",
        description = "Whether every database, the topology and every workload is ready",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Replicas",
        type_ = "string",
        description = "Ready / desired pods over all services",
        json_path = ".status.replicas"
    ),
    printcolumn(
        name = "URL",
        type_ = "string",
        description = "Where buyers open the storefront",
        json_path = ".status.url"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 40").message(
        "metadata.name must be at most 40 characters: it prefixes the names of the shop's Services"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new(
        "!(has(self.paymentProvider) && has(self.paymentProvider.url) && has(self.paymentSandbox) && self.paymentSandbox.enabled)"
    ).message(
        "spec.paymentProvider.url and spec.paymentSandbox.enabled exclude each other: while the sandbox is enabled it is the provider"
    ),
    validation = Rule::new(
        "!has(self.paymentProvider) || (has(self.paymentSandbox) && self.paymentSandbox.enabled) || (has(self.paymentProvider.url) && has(self.paymentProvider.secretRef))"
    ).message(
        "spec.paymentProvider needs both url and secretRef (a Secret with keys api-key and webhook-secret) unless spec.paymentSandbox.enabled is true"
    )
)]
pub struct MicroshopSpec {
    /// The `microshop` image holding every service binary. Unset: the image the operator was
    /// installed with (its `MICROSHOP_IMAGE`, the chart's `shopImage`), so an operator upgrade
    /// also upgrades the shops that do not pin one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
    /// The PostgreSQL server the services' databases live on.
    pub postgres: PostgresSpec,
    /// The RabbitMQ broker carrying the shop's events.
    pub rabbitmq: RabbitMqSpec,
    /// The Redis the user service counts failed log-ins in, the product service keeps its read
    /// cache in and the order service keeps the carts in. Unset: each user-service pod counts on
    /// its own (the limits then hold per pod), every catalogue read goes to PostgreSQL and the
    /// cart routes answer 503 (orders are unaffected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisSpec>,
    /// Per-service settings.
    #[serde(default)]
    pub services: ServicesSpec,
    /// The payment sandbox, a stand-in card provider (hosted card page, signed webhooks) for
    /// development and demonstrations. Never enable it where real money is taken: its test
    /// cards pay any order.
    #[serde(default)]
    pub payment_sandbox: PaymentSandboxSpec,
    /// The card provider the payment service talks to, when it is not the sandbox. Without it
    /// and without the sandbox the shop runs no payment service (orders cannot be paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_provider: Option<PaymentProviderSpec>,
    /// The SMTP server the notification service sends mail through. Unset: it sends none
    /// (`MAIL_TRANSPORT=log`: each notification is stored and logged as if sent), for shops
    /// without a mail server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSpec>,
    /// The shop's public base URL as buyers' browsers reach it (`SHOP_URL`): the notification
    /// service's mails link there, the payment service sends buyers back there after paying, and
    /// an `https://` URL makes the storefront's session cookie `Secure`. Unset: `https://<host>`
    /// of `spec.ingress` (`http://<host>` without `tlsSecretName`) while it is enabled, else
    /// `http://localhost:8000` (`kubectl port-forward service/<name>-gateway 8000:8000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 2048),
        regex(pattern = r"^https?://[^\s/?#]+(/[^\s]*)?$")
    )]
    pub shop_url: Option<String>,
    /// An Ingress to the gateway, so buyers reach the storefront from outside the cluster.
    #[serde(default)]
    pub ingress: IngressSpec,
    /// The shop's first admin account, which the user service creates at start-up; its password
    /// is generated into the Secret `<name>-admin` (`status.adminSecret`).
    #[serde(default)]
    pub admin: AdminSpec,
    /// What deleting the Microshop does to its databases, roles, queues and their Secrets (the
    /// first admin's Secret included: its account lives in the user database).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// While true the operator changes nothing (it still reports status).
    #[serde(default)]
    pub paused: bool,
}

impl MicroshopSpec {
    /// The Secrets of the Microshop's namespace this spec references (PostgreSQL, RabbitMQ, and
    /// Redis's, the payment provider's and the SMTP server's when set), each once: the operator
    /// reads them and never writes them.
    pub fn referenced_secrets(&self) -> BTreeSet<&str> {
        let mut names = BTreeSet::from([
            self.postgres.admin_secret_ref.name.as_str(),
            self.rabbitmq.secret_ref.name.as_str(),
        ]);
        if let Some(redis) = &self.redis {
            names.insert(redis.secret_ref.name.as_str());
        }
        if let Some(secret) = self.payment_provider_secret_ref() {
            names.insert(secret.name.as_str());
        }
        if let Some(smtp) = &self.smtp {
            names.insert(smtp.secret_ref.name.as_str());
        }
        names
    }

    /// The Secret with the provider's keys the user gave (`spec.paymentProvider.secretRef`).
    pub fn payment_provider_secret_ref(&self) -> Option<&SecretRef> {
        self.payment_provider.as_ref()?.secret_ref.as_ref()
    }
}

/// Which image the pods run; what is unset comes from the operator's default image.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Image repository, without the tag (unset: the default image's repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub repository: Option<String>,
    /// Image tag (unset: the default image's tag, or `latest` with another repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"))]
    pub tag: Option<String>,
    /// When the kubelet pulls the image.
    #[serde(default)]
    pub pull_policy: PullPolicy,
}

impl ImageSpec {
    /// The image reference: this spec's parts over `default` (a full reference such as
    /// `registry:5000/microshop:1.2` or `microshop@sha256:...`).
    pub fn reference(&self, default: &str) -> String {
        match (&self.repository, &self.tag) {
            (None, None) => default.to_owned(),
            (Some(repository), tag) => {
                format!("{repository}:{}", tag.as_deref().unwrap_or("latest"))
            }
            (None, Some(tag)) => format!("{}:{tag}", repository_of(default)),
        }
    }
}

/// The repository part of an image reference: without its `@digest` and its `:tag` (a `:` before
/// the last `/` is a registry port).
pub fn repository_of(reference: &str) -> &str {
    let name = reference
        .split_once('@')
        .map_or(reference, |(name, _)| name);
    match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => &name[..colon],
        _ => name,
    }
}

/// Kubernetes' image pull policies.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull on every start.
    Always,
    /// Pull when the node does not have it (kind and minikube load images this way).
    #[default]
    IfNotPresent,
    /// Never pull.
    Never,
}

impl fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        })
    }
}

/// A key of a Secret in the Microshop's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key inside it.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Where the databases are created.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self == oldSelf").message(
    "postgres cannot change: the shop's databases live on that server; create a new Microshop to move them"
))]
pub struct PostgresSpec {
    /// A `postgres://` URI of a role that may create roles and databases.
    pub admin_secret_ref: SecretKeyRef,
}

/// Where the events flow.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(
    "self.vhost == oldSelf.vhost && has(self.topologyPrefix) == has(oldSelf.topologyPrefix) && (!has(self.topologyPrefix) || self.topologyPrefix == oldSelf.topologyPrefix)"
).message(
    "rabbitmq.vhost and rabbitmq.topologyPrefix cannot change: queued events would be left behind; create a new Microshop instead"
))]
pub struct RabbitMqSpec {
    /// An `amqp://` URI (its vhost is replaced by `vhost`).
    pub secret_ref: SecretKeyRef,
    /// The vhost the topology is declared in; it must exist.
    #[serde(default = "default_vhost")]
    #[schemars(length(min = 1, max = 255))]
    pub vhost: String,
    /// Prefix of every exchange and queue name. Unset: `<namespace>.<name>.`, so shops sharing
    /// a vhost never see each other's events; `""` gives the plain names of DESIGN §5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{0,100}$"))]
    pub topology_prefix: Option<String>,
}

fn default_vhost() -> String {
    "/".into()
}

/// Where the user service counts failed log-ins (log-in throttling), the product service keeps
/// its read cache and the order service the carts. Their pods read the URL straight from the
/// Secret; their keys are prefixed with the shop's topology prefix, so shops sharing one Redis
/// never share counters, cache entries or carts.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RedisSpec {
    /// A `redis://` (or `rediss://`) URL, e.g. in key `REDIS_URL`.
    pub secret_ref: SecretKeyRef,
}

/// The shop's first admin account: the user service creates it at start-up (or makes an
/// existing account with that address an admin). Its password is generated once into the Secret
/// `<name>-admin` (keys `ADMIN_EMAIL`, `ADMIN_PASSWORD`) and kept; the Secret follows
/// `deletionPolicy` as the database Secrets do, since the account lives in the user database.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AdminSpec {
    /// Its e-mail address. A new address gets the same password; the account of the old one
    /// stays an admin.
    // The user service's rule (`EMAIL_PATTERN` in services/shared/domain/src/email.rs), so that an
    // address the API server accepts never keeps the user service from starting.
    #[serde(default = "default_admin_email")]
    #[schemars(
        length(min = 3, max = 254),
        regex(
            pattern = r"^[^@\s\x00-\x1F\x7F-\x9F]{1,64}@[^@.\s\x00-\x1F\x7F-\x9F]+(\.[^@.\s\x00-\x1F\x7F-\x9F]+)*$"
        )
    )]
    pub email: String,
}

impl Default for AdminSpec {
    fn default() -> Self {
        Self {
            email: default_admin_email(),
        }
    }
}

fn default_admin_email() -> String {
    "admin@example.com".into()
}

/// Settings of each service.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ServicesSpec {
    /// user-service.
    #[serde(default)]
    pub user: ServiceSpec,
    /// product-service.
    #[serde(default)]
    pub product: ServiceSpec,
    /// order-service.
    #[serde(default)]
    pub order: ServiceSpec,
    /// payment-service (it runs while the shop has a card provider: `spec.paymentSandbox` or
    /// `spec.paymentProvider`).
    #[serde(default)]
    pub payment: ServiceSpec,
    /// notification-service (e-mail through `spec.smtp`, SMS records).
    #[serde(default)]
    pub notification: ServiceSpec,
    /// gateway: the storefront and the services' APIs on one port (behind `spec.ingress` when
    /// enabled).
    #[serde(default)]
    pub gateway: ServiceSpec,
}

/// The payment sandbox's fixed settings: its state lives in memory, so exactly one pod, never
/// autoscaled.
static SANDBOX: ServiceSpec = ServiceSpec {
    replicas: 1,
    resources: None,
    autoscaling: None,
};

impl ServicesSpec {
    /// The settings of `service` (the payment sandbox's are fixed).
    pub fn get(&self, service: Service) -> &ServiceSpec {
        match service {
            Service::User => &self.user,
            Service::Product => &self.product,
            Service::Order => &self.order,
            Service::Payment => &self.payment,
            Service::Notification => &self.notification,
            Service::Gateway => &self.gateway,
            Service::PaymentSandbox => &SANDBOX,
        }
    }
}

/// How one service runs.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Pods, when autoscaling is off.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// CPU and memory requests and limits (defaults suit a laptop cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// A `HorizontalPodAutoscaler` instead of a fixed replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,
}

impl Default for ServiceSpec {
    fn default() -> Self {
        Self {
            replicas: default_replicas(),
            resources: None,
            autoscaling: None,
        }
    }
}

impl ServiceSpec {
    /// The autoscaling settings, when autoscaling is on.
    pub fn autoscaling(&self) -> Option<&AutoscalingSpec> {
        self.autoscaling.as_ref().filter(|a| a.enabled)
    }
}

fn default_replicas() -> i32 {
    1
}

/// Horizontal pod autoscaling on CPU.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.maxReplicas >= self.minReplicas")
    .message("autoscaling.maxReplicas must be at least minReplicas"))]
pub struct AutoscalingSpec {
    /// Whether the HPA exists.
    #[serde(default)]
    pub enabled: bool,
    /// Fewest pods.
    #[serde(default = "default_min_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: i32,
    /// Most pods.
    #[serde(default = "default_max_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: i32,
    /// Average CPU use, in percent of the request, that the HPA aims for.
    #[serde(default = "default_target_cpu", rename = "targetCPU")]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu: i32,
}

fn default_min_replicas() -> i32 {
    1
}

fn default_max_replicas() -> i32 {
    3
}

fn default_target_cpu() -> i32 {
    70
}

/// What deletion does to the data.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletionPolicy {
    /// Keep databases, roles, queues, their Secrets and the first admin's Secret (workloads are
    /// always removed).
    #[default]
    Retain,
    /// Drop databases, roles and queues, and delete their Secrets and the first admin's Secret.
    Delete,
}

/// What the operator last saw and did.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MicroshopStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `DatabasesReady`, `MessagingReady`, `WorkloadsReady` and `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Desired and ready pods per service.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceStatus>,
    /// The database of each service and the Secret holding its URL.
    #[serde(default)]
    pub databases: Vec<DatabaseStatus>,
    /// The Secret holding the first admin account's e-mail address and password
    /// (`ADMIN_EMAIL`, `ADMIN_PASSWORD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_secret: Option<String>,
    /// `ready/desired` pods over all services (the REPLICAS column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<String>,
    /// Where buyers open the storefront: the shop's `SHOP_URL` (the URL column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Pods of one service.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Pods asked for.
    pub desired: i32,
    /// Pods ready.
    pub ready: i32,
}

/// A service's database.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    /// `user`, `product`, `order`, `payment` or `notification`.
    pub service: String,
    /// Database (and role) name.
    pub database: String,
    /// The Secret holding `DATABASE_URL`.
    pub secret_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(repository: Option<&str>, tag: Option<&str>) -> ImageSpec {
        ImageSpec {
            repository: repository.map(str::to_owned),
            tag: tag.map(str::to_owned),
            pull_policy: PullPolicy::default(),
        }
    }

    #[test]
    fn an_unset_image_is_the_operators_default() {
        let default = "registry.local:5000/team/microshop:e2e-1";
        assert_eq!(image(None, None).reference(default), default);
        assert_eq!(
            image(None, Some("1.2")).reference(default),
            "registry.local:5000/team/microshop:1.2"
        );
        assert_eq!(image(Some("mine"), None).reference(default), "mine:latest");
        assert_eq!(image(Some("mine"), Some("2")).reference(default), "mine:2");
    }

    #[test]
    fn the_repository_of_a_reference_drops_tag_and_digest_but_not_a_port() {
        assert_eq!(repository_of("microshop:latest"), "microshop");
        assert_eq!(
            repository_of("localhost:5000/microshop"),
            "localhost:5000/microshop"
        );
        assert_eq!(
            repository_of("localhost:5000/microshop:abc"),
            "localhost:5000/microshop"
        );
        assert_eq!(repository_of("microshop@sha256:0123"), "microshop");
        assert_eq!(repository_of("microshop:1@sha256:0123"), "microshop");
    }
}
