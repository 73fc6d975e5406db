//! Wiring: pool and migrations, routes, health checks, the HTTP server, and beside it the
//! order-events consumer and the outbox relay.

use microshop_messaging::outbox::Outbox;
use microshop_messaging::service::{Flows, ServiceMessaging};
use microshop_web::{Health, HttpServer, Metrics};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::consumers::order_events::OrderEventsHandler;
use crate::routes::{self, AppState};
use crate::{Config, SERVICE};

/// Migrations of `products_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let pool = microshop_db::pool(&config.database_url, &config.db)?;
    microshop_db::migrate(&pool, &MIGRATOR).await?;
    build_with_pool(config, pool).await
}

/// Binds the HTTP port around an existing, migrated pool (tests pass a fresh database's pool)
/// and starts the consumer and the relay, which connect to RabbitMQ on their own and keep
/// retrying while it is down.
pub async fn build_with_pool(config: Config, pool: PgPool) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let messaging = ServiceMessaging::new(SERVICE, &config.amqp, metrics.registry())?;
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(pool.clone()))
        .with_reported_check("broker", messaging.readiness_check());
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(AppState { pool: pool.clone() }),
        health,
        metrics,
    )
    .await?;

    let outbox = Outbox::new(pool);
    let topology = messaging.topology();
    let flows = Flows {
        consumes: topology.product_order_events(),
        handler: OrderEventsHandler::new(outbox.clone()),
        publishes_to: topology.product_events(),
    };
    for task in messaging.tasks(&outbox, flows, &server.shutdown_token()) {
        server.spawn_background(task);
    }
    Ok(server)
}
