//! Wiring: pool and migrations, routes, health checks and the HTTP server.

use microshop_web::{Health, HttpServer, Metrics};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

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

/// Binds the HTTP port around an existing, migrated pool (tests pass a fresh database's pool).
pub async fn build_with_pool(config: Config, pool: PgPool) -> anyhow::Result<HttpServer> {
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(pool.clone()));
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(AppState { pool }),
        health,
        Metrics::new(SERVICE),
    )
    .await?;
    Ok(server)
}
