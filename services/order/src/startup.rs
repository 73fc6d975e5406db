//! Wiring: pool and migrations, upstream clients, routes, health checks, the HTTP server, and
//! beside it the product-events consumer and the outbox relay.

use std::sync::Arc;

use microshop_events::Topology;
use microshop_http_client::UpstreamMetrics;
use microshop_messaging::consumer;
use microshop_messaging::dlq::DlqMetrics;
use microshop_messaging::outbox::Relay;
use microshop_messaging::{Broker, Publisher};
use microshop_web::{Health, HttpServer, Metrics};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::consumers::product_events::ProductEventsHandler;
use crate::metrics::OrderMetrics;
use crate::routes::{self, AppState};
use crate::upstreams::Upstreams;
use crate::{Config, SERVICE};

/// Migrations of `orders_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let pool = microshop_db::pool(&config.database_url, &config.db)?;
    microshop_db::migrate(&pool, &MIGRATOR).await?;
    build_with_pool(config, pool).await
}

/// Binds the HTTP port around an existing, migrated pool and starts the consumer and the relay,
/// which connect to RabbitMQ on their own and keep retrying while it is down.
pub async fn build_with_pool(config: Config, pool: PgPool) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let order_metrics = OrderMetrics::register(metrics.registry())?;
    let upstream_metrics = UpstreamMetrics::register(metrics.registry())?;
    let dlq_metrics = DlqMetrics::register(metrics.registry())?;
    let broker = Broker::new(config.amqp.url.clone(), SERVICE);
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(pool.clone()))
        .with_reported_check("broker", {
            let broker = broker.clone();
            move || {
                let broker = broker.clone();
                async move { broker.check().await }
            }
        });
    let state = AppState {
        pool: pool.clone(),
        upstreams: Arc::new(Upstreams::new(&config, &upstream_metrics)),
        metrics: order_metrics.clone(),
    };
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(state),
        health,
        metrics,
    )
    .await?;

    let topology = config.amqp.topology();
    let shutdown = server.shutdown_token();
    if config.amqp.consume {
        server.spawn_background(consumer::run(
            broker.clone(),
            topology.clone(),
            topology.order_product_events(),
            config.amqp.prefetch,
            ProductEventsHandler::new(pool.clone(), order_metrics),
            shutdown.clone(),
        ));
    }
    server.spawn_background(dlq_metrics.watch(
        broker.clone(),
        vec![Topology::dlq_of(&topology.order_product_events())],
        shutdown.clone(),
    ));
    let relay = Relay::new(
        pool,
        Publisher::new(broker, topology.order_events()).declaring(topology),
    );
    server.spawn_background(relay.run(shutdown));
    Ok(server)
}
