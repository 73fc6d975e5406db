//! Wiring: database and migrations, the order service and provider clients, routes, health
//! checks, the HTTP server, and beside it the consumer of order events, the refund dispatcher,
//! the stale-refund gauge, the idempotency-key sweep and the outbox relay.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use microshop_auth::Auth;
use microshop_db::Db;
use microshop_http_client::UpstreamMetrics;
use microshop_messaging::outbox::Outbox;
use microshop_messaging::service::{Flows, ServiceMessaging};
use microshop_web::{Health, HttpServer, Metrics};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::consumers::OrderEventsHandler;
use crate::metrics::PaymentMetrics;
use crate::orders::Orders;
use crate::provider::Provider;
use crate::{Config, SERVICE, dispatch, routes};

/// Migrations of `payments_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How often expired idempotency keys are deleted.
const KEY_SWEEP: Duration = Duration::from_secs(60);

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let db = microshop_db::connect_lazy(&config.database_url, &config.db)?;
    microshop_db::migrate(&db, &MIGRATOR).await?;
    build_with_db(config, db).await
}

/// The webhook secrets of `WEBHOOK_SECRETS`: one or more, separated by commas or new lines.
fn webhook_secrets(config: &Config) -> anyhow::Result<Arc<[SecretString]>> {
    let text = microshop_auth::secret_or_file(&config.webhook_secrets, "WEBHOOK_SECRETS")?;
    let secrets: Vec<SecretString> = text
        .expose_secret()
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()))
        .collect();
    if secrets.is_empty() {
        anyhow::bail!("WEBHOOK_SECRETS holds no secret: set the provider's webhook signing secret");
    }
    Ok(secrets.into())
}

/// Binds the HTTP port around an existing, migrated database and starts the consumer, the
/// dispatcher and the relay, which connect to RabbitMQ on their own and keep retrying while it
/// is down.
pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let payment_metrics = PaymentMetrics::register(metrics.registry())?;
    let upstream_metrics = UpstreamMetrics::register(metrics.registry())?;
    let messaging = ServiceMessaging::new(SERVICE, &config.amqp, metrics.registry())?;
    let auth = Auth::from_config(&config.auth, metrics.registry()).await?;
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(db.clone()))
        .with_reported_check("broker", messaging.readiness_check());
    let outbox = Outbox::new(db.clone());
    let refunds_due = Arc::new(Notify::new());
    let app = App {
        db: db.clone(),
        outbox: outbox.clone(),
        orders: Arc::new(Orders::new(&config, &upstream_metrics)?),
        provider: Arc::new(Provider::new(&config, &upstream_metrics)?),
        metrics: payment_metrics.clone(),
        idempotency_ttl: config.idempotency_key_ttl,
        webhook_secrets: webhook_secrets(&config)?,
        refunds_due: Arc::clone(&refunds_due),
    };
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(app.clone()).layer(Extension(auth)),
        health,
        metrics,
    )
    .await?;

    let topology = messaging.topology();
    let flows = Flows {
        consumes: vec![topology.payment_order_events()],
        handler: OrderEventsHandler::new(payment_metrics.clone(), refunds_due),
        publishes_to: topology.payment_events(),
    };
    let (dispatcher, stop) = (app.clone(), server.shutdown_token());
    let interval = config.refund_retry_interval;
    server.spawn_supervised("refund_dispatcher", move || {
        dispatch::watch(dispatcher.clone(), interval, stop.clone())
    });
    let (watched, stop) = (db.clone(), server.shutdown_token());
    server.spawn_supervised("stale_refunds_watch", move || {
        payment_metrics
            .clone()
            .watch_stale_refunds(watched.clone(), stop.clone())
    });
    let (swept, stop, ttl) = (db, server.shutdown_token(), config.idempotency_key_ttl);
    server.spawn_supervised("idempotency_key_sweep", move || {
        sweep_keys(swept.clone(), ttl, stop.clone())
    });
    for (name, start) in messaging.tasks(&outbox, flows, &server.shutdown_token()) {
        server.spawn_supervised(name, start);
    }
    Ok(server)
}

/// Deletes expired idempotency keys every minute until `shutdown`.
async fn sweep_keys(db: Db, ttl: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(error) = crate::db::idempotency::purge_expired(&db, ttl, 1_000).await {
            tracing::debug!(%error, "cannot delete expired idempotency keys");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(KEY_SWEEP) => {}
        }
    }
}
