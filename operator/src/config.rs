//! The operator's settings, from the environment.

use std::time::Duration;

use microshop_telemetry::LogConfig;

/// How the operator runs. The Kubernetes connection comes from the usual places: the pod's
/// service account in a cluster, else `KUBECONFIG` or `~/.kube/config`.
#[derive(Debug, clap::Parser)]
#[command(name = "microshop-operator", version, about)]
pub struct Config {
    /// Port of `/metrics` and `/health`.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8080)]
    pub http_port: u16,
    /// Address `/metrics` and `/health` listen on.
    #[arg(long = "http-host", env = "HTTP_HOST", default_value = "0.0.0.0")]
    pub http_host: String,
    /// Name of this replica: the holder of the leader Lease and the reporter of its Kubernetes
    /// Events (the pod's name; a random name when unset).
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// The image of the shop's services for Microshops without `spec.image` (a full
    /// reference, e.g. `registry.example:5000/microshop:1.4`).
    #[arg(long, env = "MICROSHOP_IMAGE", default_value = "microshop:latest")]
    pub shop_image: String,
    /// Reconcile only the Microshops of this namespace (and watch nothing outside it); unset or
    /// empty: every namespace.
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Leader election: of several replicas, only the holder of the Lease reconciles.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the `coordination.k8s.io` Lease the replicas compete for.
    #[arg(long, env = "LEASE_NAME", default_value = "microshop-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (unset: the operator's own namespace, or the kubeconfig's).
    #[arg(long, env = "LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Seconds a leader may go without renewing before another replica takes over; it renews
    /// every third of that.
    #[arg(long, env = "LEASE_DURATION_SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u16).range(3..))]
    pub lease_duration_seconds: u16,
    /// Seconds of watch errors without a successful watch in between before `/health` reports
    /// the operator unhealthy (its view of the cluster is stale).
    #[arg(long, env = "WATCH_UNHEALTHY_AFTER_SECONDS", default_value_t = 60)]
    pub watch_unhealthy_after_seconds: u64,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogConfig,
}

impl Config {
    /// What the reconciler needs to know about its installation.
    pub fn settings(&self) -> Settings {
        Settings {
            instance: self.pod_name.clone(),
            shop_image: self.shop_image.clone(),
            namespace: self
                .watch_namespace
                .clone()
                .filter(|namespace| !namespace.is_empty()),
        }
    }

    /// How long watch errors may last before the operator reports itself unhealthy.
    pub fn watch_unhealthy_after(&self) -> Duration {
        Duration::from_secs(self.watch_unhealthy_after_seconds)
    }
}

/// The reconciler's view of its installation.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The reporter instance of its Events (the pod's name).
    pub instance: Option<String>,
    /// The image of Microshops without `spec.image`.
    pub shop_image: String,
    /// The one namespace it watches, or `None` for all.
    pub namespace: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            instance: None,
            shop_image: "microshop:latest".to_owned(),
            namespace: None,
        }
    }
}
