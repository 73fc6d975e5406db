//! `microshop-operator`: reconciles `Microshop` resources in one namespace or all of them; of
//! several replicas, the one holding the leader Lease.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use microshop_operator::health::Health;
use microshop_operator::leader::{self, Elector};
use microshop_operator::metrics::Metrics;
use microshop_operator::{Config, Context, SERVICE, controller, server};
use tokio::sync::watch;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _logs = microshop_telemetry::init(SERVICE, &config.log)?;
    let client = kube::Client::try_default().await.context(
        "no Kubernetes connection: run inside a cluster, or point KUBECONFIG at one (kubectl config current-context)",
    )?;
    let metrics = Metrics::new();
    let health = Arc::new(Health::new(metrics.clone(), config.watch_unhealthy_after()));
    let addr: SocketAddr = format!("{}:{}", config.http_host, config.http_port)
        .parse()
        .context("HTTP_HOST and HTTP_PORT do not form an address")?;
    let http = tokio::spawn(server::serve(addr, metrics.clone(), Arc::clone(&health)));
    let stop = stop_signal();
    let settings = config.settings();
    let scope = settings.namespace.clone();

    let mut elector = config.leader_election.then(|| {
        let namespace = config
            .lease_namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_owned());
        Elector::new(
            client.clone(),
            &namespace,
            &config.lease_name,
            &leader::identity(config.pod_name.as_deref()),
            Duration::from_secs(config.lease_duration_seconds.into()),
            metrics.clone(),
        )
    });
    if let Some(elector) = elector.as_mut() {
        tokio::select! {
            () = elector.acquire() => {}
            () = stopped(stop.clone()) => {
                tracing::info!("stopped while standing by");
                return Ok(());
            }
        }
    } else {
        metrics.set_leader(true);
    }

    let ctx = Arc::new(Context::new(client, metrics, settings));
    if let Some(namespace) = scope.as_deref() {
        tracing::info!(namespace, "watching Microshop resources in one namespace");
    } else {
        tracing::info!("watching Microshop resources in all namespaces");
    }
    let run = controller::run(ctx, health, stopped(stop));
    let lost = if let Some(elector) = elector.as_mut() {
        tokio::pin!(run);
        tokio::select! {
            () = &mut run => None,
            reason = elector.hold() => Some(reason),
        }
    } else {
        run.await;
        None
    };
    http.abort();
    if let Some(reason) = lost {
        // Exit rather than carry on: the next start is a clean follower.
        tracing::error!(%reason, "lost leadership: stopped reconciling; exiting so the pod restarts as a follower");
        anyhow::bail!("lost leadership: {reason}");
    }
    if let Some(elector) = elector.as_mut() {
        elector.release().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// A flag that turns true on SIGTERM or Ctrl-C.
fn stop_signal() -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        let signal = microshop_telemetry::signal::shutdown_signal().await;
        tracing::info!(signal, "shutdown requested");
        let _ = sender.send(true);
    });
    receiver
}

/// Resolves once the flag is true.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}
