//! `microshop-operator`: reconciles `Microshop` resources in every namespace it can see.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use microshop_operator::metrics::Metrics;
use microshop_operator::{Config, Context, SERVICE, reconcile, server};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _logs = microshop_telemetry::init(SERVICE, &config.log)?;
    let client = kube::Client::try_default().await.context(
        "no Kubernetes connection: run inside a cluster, or point KUBECONFIG at one (kubectl config current-context)",
    )?;
    let metrics = Metrics::new();
    let addr: SocketAddr = format!("{}:{}", config.http_host, config.http_port)
        .parse()
        .context("HTTP_HOST and HTTP_PORT do not form an address")?;
    let http = tokio::spawn(server::serve(addr, metrics.clone()));
    let ctx = Arc::new(Context::new(client, metrics, config.pod_name));
    tracing::info!("watching Microshop resources in all namespaces");
    reconcile::run(ctx).await;
    http.abort();
    tracing::info!("stopped");
    Ok(())
}
