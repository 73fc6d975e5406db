//! Wiring: secrets, metrics, the sessions, the webhook deliverer and its background task, the
//! routes and the HTTP server.

use std::time::Duration;

use microshop_web::{Health, HttpServer, Metrics};
use tokio_util::sync::CancellationToken;

use crate::app::{ApiKey, App};
use crate::metrics::SandboxMetrics;
use crate::store::Store;
use crate::webhooks::{Target, Webhooks};
use crate::{Config, SERVICE, routes};

/// Resolves the secrets, binds the HTTP port and starts webhook delivery beside it.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let secrets = config.secrets()?;
    let metrics = Metrics::new(SERVICE);
    let sandbox_metrics = SandboxMetrics::register(metrics.registry())?;
    let webhooks = Webhooks::new(
        Target {
            url: config.webhook_url.clone(),
            secret: secrets.webhook_secret,
            timeout: Duration::from_millis(config.webhook_timeout_ms),
        },
        config.retry(),
        config.capacity(),
        sandbox_metrics.clone(),
    )?;
    let app = App::new(
        Store::new(config.capacity()),
        webhooks.clone(),
        sandbox_metrics,
        ApiKey::new(&secrets.api_key),
        &config.public_base(),
    );
    // Nothing to check: the state is in memory, and an unreachable receiver is retried, not a
    // reason to stop taking payments.
    let health = Health::new(CancellationToken::new());
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(app),
        health,
        metrics,
    )
    .await?;
    let stop = server.shutdown_token();
    server.spawn_supervised("webhook_delivery", move || {
        webhooks.clone().run(stop.clone())
    });
    tracing::info!(
        webhook.url = %config.webhook_url,
        public_url = %config.public_base(),
        "payment sandbox ready"
    );
    Ok(server)
}
