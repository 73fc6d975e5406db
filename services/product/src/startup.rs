//! Wiring: database and migrations, routes, health checks, the HTTP server, and beside it the
//! order-events consumer and the outbox relay.

use axum::Extension;
use microshop_auth::Auth;
use microshop_cache::Cache;
use microshop_db::Db;
use microshop_limits::Redis;
use microshop_messaging::outbox::Outbox;
use microshop_messaging::service::{Flows, ServiceMessaging};
use microshop_web::{Health, HttpServer, Metrics};
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::consumers::order_events::OrderEventsHandler;
use crate::routes::{self, AppState};
use crate::{Config, SERVICE};

/// Migrations of `products_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let db = microshop_db::connect_lazy(&config.database_url, &config.db)?;
    microshop_db::migrate(&db, &MIGRATOR).await?;
    build_with_db(config, db).await
}

/// Binds the HTTP port around an existing, migrated database (tests pass a fresh database)
/// and starts the consumer and the relay, which connect to RabbitMQ on their own and keep
/// retrying while it is down.
pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let messaging = ServiceMessaging::new(SERVICE, &config.amqp, metrics.registry())?;
    let auth = Auth::from_config(&config.auth, metrics.registry()).await?;
    let outbox = Outbox::new(db.clone());
    let redis = Redis::connect(&config.redis)?;
    let cache = Cache::new(&redis, &config.cache, SERVICE, metrics.registry())?;
    let catalog = Catalog::new(db.clone(), outbox.clone(), &cache);
    let handler = OrderEventsHandler::new(metrics.registry(), catalog.clone())?;
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(db.clone()))
        .with_reported_check("broker", messaging.readiness_check());
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(AppState { catalog }).layer(Extension(auth)),
        health,
        metrics,
    )
    .await?;

    let topology = messaging.topology();
    let flows = Flows {
        consumes: vec![topology.product_order_events()],
        handler,
        publishes_to: topology.product_events(),
    };
    for (name, start) in messaging.tasks(&outbox, flows, &server.shutdown_token()) {
        server.spawn_supervised(name, start);
    }
    Ok(server)
}
