//! The operator's settings, from the environment.

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
    /// Name this replica gives as the reporter of its Kubernetes Events (the pod's name).
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogConfig,
}
