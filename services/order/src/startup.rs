//! Wiring: database and migrations, upstream clients, routes, health checks, the HTTP server, and
//! beside it the consumers of product and payment events, the overdue-order sweeps and the
//! outbox relay.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use microshop_auth::Auth;
use microshop_db::Db;
use microshop_http_client::UpstreamMetrics;
use microshop_limits::Redis;
use microshop_messaging::outbox::Outbox;
use microshop_messaging::service::{Flows, ServiceMessaging};
use microshop_web::{Health, HttpServer, Metrics};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::cart::{CartMetrics, CartSettings, Carts};
use crate::catalog::Catalog;
use crate::consumers::events::EventsHandler;
use crate::metrics::OrderMetrics;
use crate::overdue::Timeouts;
use crate::upstreams::Upstreams;
use crate::{Config, SERVICE};
use crate::{overdue, routes};

/// Migrations of `orders_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let db = microshop_db::connect_lazy(&config.database_url, &config.db)?;
    microshop_db::migrate(&db, &MIGRATOR).await?;
    build_with_db(config, db).await
}

/// Binds the HTTP port around an existing, migrated database and starts the consumer and the relay,
/// which connect to RabbitMQ on their own and keep retrying while it is down.
pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let order_metrics = OrderMetrics::register(metrics.registry())?;
    let upstream_metrics = UpstreamMetrics::register(metrics.registry())?;
    let messaging = ServiceMessaging::new(SERVICE, &config.amqp, metrics.registry())?;
    let auth = Auth::from_config(&config.auth, metrics.registry()).await?;
    // Connects in the background: the service starts and stays ready without Redis (only the
    // cart routes need it, and answer 503 meanwhile).
    let carts = Carts::new(
        Redis::connect(&config.redis)?,
        CartSettings {
            ttl: config.cart_ttl,
            timeout: Duration::from_millis(config.cart_redis_timeout_ms),
        },
        CartMetrics::register(metrics.registry())?,
    );
    let pinged = carts.clone();
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(db.clone()))
        .with_reported_check("broker", messaging.readiness_check())
        .with_reported_check("redis", move || {
            let carts = pinged.clone();
            async move { carts.ping().await }
        });
    let outbox = Outbox::new(db.clone());
    let upstreams = Arc::new(Upstreams::new(&config, &upstream_metrics)?);
    let app = App {
        db: db.clone(),
        outbox: outbox.clone(),
        upstreams: Arc::clone(&upstreams),
        metrics: order_metrics.clone(),
        idempotency_ttl: config.idempotency_key_ttl,
        max_open_orders: config.max_open_orders_per_user,
        catalog: Catalog::new(db.clone(), upstreams),
        carts,
        currency: config.shop_currency.clone(),
    };
    let order_metrics_watch = order_metrics.clone();
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
            topology.order_product_events(),
            topology.order_payment_events(),
        ],
        handler: EventsHandler::new(order_metrics),
        publishes_to: topology.order_events(),
    };
    let stop = server.shutdown_token();
    server.spawn_supervised("stale_orders_watch", move || {
        order_metrics_watch
            .clone()
            .watch_stale(db.clone(), stop.clone())
    });
    let stop = server.shutdown_token();
    let timeouts = Timeouts {
        reservation: config.order_reservation_timeout,
        payment: config.order_payment_timeout,
    };
    server.spawn_supervised("overdue_orders", move || {
        overdue::watch(app.clone(), timeouts, stop.clone())
    });
    for (name, start) in messaging.tasks(&outbox, flows, &server.shutdown_token()) {
        server.spawn_supervised(name, start);
    }
    Ok(server)
}
