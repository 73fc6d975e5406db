//! Wiring: database and migrations, the transports, routes, health checks, the HTTP server, and
//! beside it the consumers of the shop's events and of the sender's tasks, the retry sweep, the
//! queue gauges and the outbox relay.

use std::sync::Arc;

use axum::Extension;
use microshop_auth::Auth;
use microshop_db::Db;
use microshop_messaging::outbox::Outbox;
use microshop_messaging::service::{Flows, ServiceMessaging};
use microshop_web::{Health, HttpServer, Metrics};
use tokio_util::sync::CancellationToken;

use crate::app::{App, RetryPolicy};
use crate::consumers::NotificationHandler;
use crate::metrics::NotificationMetrics;
use crate::transport::Transports;
use crate::{Config, SERVICE, retry, routes};

/// Migrations of `notifications_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let db = microshop_db::connect_lazy(&config.database_url, &config.db)?;
    microshop_db::migrate(&db, &MIGRATOR).await?;
    build_with_db(config, db).await
}

/// Binds the HTTP port around an existing, migrated database and starts the consumers, the
/// retry sweep and the relay, which connect to RabbitMQ on their own and keep retrying while it
/// is down.
pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let notification_metrics = NotificationMetrics::register(metrics.registry())?;
    let messaging = ServiceMessaging::new(SERVICE, &config.amqp, metrics.registry())?;
    let auth = Auth::from_config(&config.auth, metrics.registry()).await?;
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(db.clone()))
        .with_reported_check("broker", messaging.readiness_check());
    let outbox = Outbox::new(db.clone());
    let app = App {
        db: db.clone(),
        outbox: outbox.clone(),
        transports: Arc::new(Transports::new(&config)?),
        metrics: notification_metrics.clone(),
        shop_url: config.shop_url.clone().into(),
        retry: RetryPolicy {
            max_attempts: config.notification_max_attempts,
            base: config.notification_retry_base,
            max: config.notification_retry_max,
        },
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
        consumes: vec![
            topology.notification_user_events(),
            topology.notification_order_events(),
            topology.notification_payment_events(),
            topology.notification_product_events(),
            topology.notification_tasks(),
        ],
        handler: NotificationHandler::new(app.clone()),
        publishes_to: topology.notification_tasks_exchange(),
    };
    let (swept, stop) = (app, server.shutdown_token());
    server.spawn_supervised("notification_retries", move || {
        retry::watch(swept.clone(), stop.clone())
    });
    let stop = server.shutdown_token();
    server.spawn_supervised("notification_queue_watch", move || {
        notification_metrics
            .clone()
            .watch_queue(db.clone(), stop.clone())
    });
    for (name, start) in messaging.tasks(&outbox, flows, &server.shutdown_token()) {
        server.spawn_supervised(name, start);
    }
    Ok(server)
}
