//! The Kubernetes objects of one Microshop, built from its spec: pure functions, so what the
//! operator applies can be read and tested without an API server.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, HTTPGetAction, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecurityContext,
    Service as KubeService, ServicePort, ServiceSpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};

use crate::crd::{Microshop, PullPolicy, Service};
use crate::names;

mod env;
mod gateway;
mod provider;
mod secrets;

pub use gateway::SHOP_URL;
pub use provider::{PaymentProvider, SANDBOX_PUBLIC_URL, WEBHOOK_PATH};
pub use secrets::{
    ADMIN_EMAIL_KEY, ADMIN_PASSWORD_KEY, AMQP_URL_KEY, API_KEY_KEY, DATABASE_URL_KEY,
    JWT_PUBLIC_KEYS, JWT_SIGNING_KEY, MAIL_FROM_KEY, PASSWORD_KEY, SMTP_URL_KEY,
    STOREFRONT_SECRET_KEY, WEBHOOK_SECRET_KEY, service_key_name,
};

/// UID and GID the services run as (distroless's `nonroot`).
const RUN_AS: i64 = 65_532;

/// Pod template annotation holding a digest of the credentials a service's pods read from
/// Secrets: a changed credential changes the template, so the Deployment rolls its pods.
pub const CREDENTIALS_CHECKSUM: &str = "microshop.dev/credentials-checksum";

/// Everything the builders need from the Microshop.
pub struct Shop<'a> {
    /// The resource.
    pub resource: &'a Microshop,
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The owner reference its children carry.
    pub owner: OwnerReference,
    /// The exchange and queue name prefix.
    pub topology_prefix: String,
    /// The image reference the pods run.
    pub image: String,
    /// When the kubelet pulls it.
    pub pull_policy: PullPolicy,
}

impl<'a> Shop<'a> {
    /// `None` when the resource has no namespace or UID (it was never stored by an API server).
    /// `default_image` is the image of shops without `spec.image`.
    pub fn new(resource: &'a Microshop, default_image: &str) -> Option<Self> {
        let name = resource.name_any();
        let namespace = resource.namespace()?;
        let owner = resource.controller_owner_ref(&())?;
        let topology_prefix = names::topology_prefix(
            &namespace,
            &name,
            resource.spec.rabbitmq.topology_prefix.as_deref(),
        );
        let image = resource.spec.image.clone().unwrap_or_default();
        Some(Self {
            resource,
            name,
            namespace,
            owner,
            topology_prefix,
            image: image.reference(default_image),
            pull_policy: image.pull_policy,
        })
    }

    /// Labels of every object of `service` (and the selector of its pods).
    pub fn selector(&self, service: Service) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/instance".to_owned(), self.name.clone()),
            (
                "app.kubernetes.io/component".to_owned(),
                service.name().to_owned(),
            ),
        ])
    }

    fn labels(&self, service: Option<Service>) -> BTreeMap<String, String> {
        let mut labels = service.map(|s| self.selector(s)).unwrap_or_default();
        labels.extend([
            (
                "app.kubernetes.io/part-of".to_owned(),
                "microshop".to_owned(),
            ),
            (
                "app.kubernetes.io/managed-by".to_owned(),
                names::FIELD_MANAGER.to_owned(),
            ),
            (names::SHOP_LABEL.to_owned(), self.name.clone()),
        ]);
        if let Some(service) = service {
            labels.insert(
                "app.kubernetes.io/name".to_owned(),
                service.binary().to_owned(),
            );
        }
        labels
    }

    /// Metadata of an object that goes with the Microshop (its owner reference lets the garbage
    /// collector delete it).
    fn metadata(&self, name: String, service: Option<Service>) -> ObjectMeta {
        ObjectMeta {
            owner_references: Some(vec![self.owner.clone()]),
            ..self.unowned_metadata(name, service)
        }
    }

    /// Metadata of an object that may outlive the Microshop: labelled as its, but without an
    /// owner reference, so no garbage collection (a foreground cascade included) can delete it
    /// before the cleanup decides.
    fn unowned_metadata(&self, name: String, service: Option<Service>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels(service)),
            ..ObjectMeta::default()
        }
    }

    /// `service`'s Deployment; without `replicas` when an HPA sizes it. `credentials` is the
    /// digest of what its pods read from Secrets ([`credentials_checksum`]). The payment
    /// sandbox's single pod is replaced (`Recreate`), never rolled: two sandboxes would each
    /// know only half of the open checkouts.
    pub fn deployment(&self, service: Service, credentials: &str) -> Deployment {
        let spec = self.resource.spec.services.get(service);
        let replicas = spec.autoscaling().is_none().then_some(spec.replicas);
        let labels = self.labels(Some(service));
        let port = service.port();
        let annotations = BTreeMap::from([
            ("prometheus.io/scrape".to_owned(), "true".to_owned()),
            ("prometheus.io/port".to_owned(), port.to_string()),
            ("prometheus.io/path".to_owned(), "/metrics".to_owned()),
            (CREDENTIALS_CHECKSUM.to_owned(), credentials.to_owned()),
        ]);
        let container = Container {
            name: service.name().to_owned(),
            image: Some(self.image.clone()),
            image_pull_policy: Some(self.pull_policy.to_string()),
            command: Some(vec![service.binary().to_owned()]),
            ports: Some(vec![ContainerPort {
                name: Some("http".to_owned()),
                container_port: port,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            }]),
            env: Some(self.env(service)),
            resources: Some(
                spec.resources
                    .clone()
                    .unwrap_or_else(|| default_resources(service)),
            ),
            startup_probe: Some(probe("/health/live", 1, 60)),
            liveness_probe: Some(probe("/health/live", 10, 3)),
            readiness_probe: Some(probe("/health/ready", 5, 2)),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                run_as_non_root: Some(true),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".to_owned()]),
                    add: None,
                }),
                ..SecurityContext::default()
            }),
            ..Container::default()
        };
        let strategy = (service == Service::PaymentSandbox).then(|| DeploymentStrategy {
            type_: Some("Recreate".to_owned()),
            rolling_update: None,
        });
        Deployment {
            metadata: self.metadata(names::workload(&self.name, service), Some(service)),
            spec: Some(DeploymentSpec {
                replicas,
                strategy,
                selector: LabelSelector {
                    match_labels: Some(self.selector(service)),
                    match_expressions: None,
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        annotations: Some(annotations),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        automount_service_account_token: Some(false),
                        // Longer than the services' own shutdown: SHUTDOWN_DRAIN_DELAY_MS (5 s) then
                        // SHUTDOWN_TIMEOUT_MS (20 s).
                        termination_grace_period_seconds: Some(30),
                        security_context: Some(PodSecurityContext {
                            run_as_non_root: Some(true),
                            run_as_user: Some(RUN_AS),
                            run_as_group: Some(RUN_AS),
                            seccomp_profile: Some(SeccompProfile {
                                type_: "RuntimeDefault".to_owned(),
                                localhost_profile: None,
                            }),
                            ..PodSecurityContext::default()
                        }),
                        containers: vec![container],
                        ..PodSpec::default()
                    }),
                },
                ..DeploymentSpec::default()
            }),
            status: None,
        }
    }

    /// `service`'s `ClusterIP` Service.
    pub fn service(&self, service: Service) -> KubeService {
        KubeService {
            metadata: self.metadata(names::workload(&self.name, service), Some(service)),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".to_owned()),
                selector: Some(self.selector(service)),
                ports: Some(vec![ServicePort {
                    name: Some("http".to_owned()),
                    port: service.port(),
                    target_port: Some(IntOrString::String("http".to_owned())),
                    protocol: Some("TCP".to_owned()),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            status: None,
        }
    }

    /// `service`'s `HorizontalPodAutoscaler`, when autoscaling is on.
    pub fn autoscaler(&self, service: Service) -> Option<HorizontalPodAutoscaler> {
        let autoscaling = self.resource.spec.services.get(service).autoscaling()?;
        let name = names::workload(&self.name, service);
        Some(HorizontalPodAutoscaler {
            metadata: self.metadata(name.clone(), Some(service)),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".to_owned()),
                    kind: "Deployment".to_owned(),
                    name,
                },
                min_replicas: Some(autoscaling.min_replicas),
                max_replicas: autoscaling.max_replicas,
                metrics: Some(vec![MetricSpec {
                    type_: "Resource".to_owned(),
                    resource: Some(ResourceMetricSource {
                        name: "cpu".to_owned(),
                        target: MetricTarget {
                            type_: "Utilization".to_owned(),
                            average_utilization: Some(autoscaling.target_cpu),
                            ..MetricTarget::default()
                        },
                    }),
                    ..MetricSpec::default()
                }]),
                behavior: None,
            }),
            status: None,
        })
    }

    /// `service`'s `PodDisruptionBudget` (one pod may be down at a time), when it runs more than
    /// one pod; with one pod a budget would block node drains forever.
    pub fn disruption_budget(&self, service: Service) -> Option<PodDisruptionBudget> {
        (self.desired_replicas(service) > 1).then(|| PodDisruptionBudget {
            metadata: self.metadata(names::workload(&self.name, service), Some(service)),
            spec: Some(PodDisruptionBudgetSpec {
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(LabelSelector {
                    match_labels: Some(self.selector(service)),
                    match_expressions: None,
                }),
                ..PodDisruptionBudgetSpec::default()
            }),
            status: None,
        })
    }

    /// Pods `service` should have: the spec's count, or the HPA's floor.
    pub fn desired_replicas(&self, service: Service) -> i32 {
        let spec = self.resource.spec.services.get(service);
        spec.autoscaling().map_or(spec.replicas, |a| a.min_replicas)
    }
}

/// The digest of the values a service's pods read from Secrets (its `DATABASE_URL`, the
/// `AMQP_URL`, token keys, ...): SHA-256, so the annotation reveals nothing about them.
pub fn credentials_checksum(values: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for value in values {
        digest.update(value.as_bytes());
        digest.update([0]);
    }
    digest
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Requests fit for a laptop cluster; the user service's limit leaves room for one argon2
/// hash (19 MiB) per CPU.
fn default_resources(service: Service) -> ResourceRequirements {
    let memory_limit = if service == Service::User {
        "256Mi"
    } else {
        "128Mi"
    };
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("50m".to_owned())),
            ("memory".to_owned(), Quantity("32Mi".to_owned())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity(memory_limit.to_owned()),
        )])),
        claims: None,
    }
}

fn probe(path: &str, period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("http".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        failure_threshold: Some(failure_threshold),
        timeout_seconds: Some(2),
        ..Probe::default()
    }
}
