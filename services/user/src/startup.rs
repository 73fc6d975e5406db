//! Wiring: database and migrations, routes, health checks and the HTTP server.

use std::sync::Arc;

use axum::Extension;
use microshop_auth::{Auth, JwkSet};
use microshop_db::{Db, Lookup};
use microshop_web::{Health, HttpServer, Metrics};
use tokio_util::sync::CancellationToken;

use crate::db::users::{self, UserRow};
use crate::hasher::Hasher;
use crate::routes::{self, AppState};
use crate::session::Sessions;
use crate::{Config, SERVICE};

/// Migrations of `users_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let db = microshop_db::connect_lazy(&config.database_url, &config.db)?;
    microshop_db::migrate(&db, &MIGRATOR).await?;
    build_with_db(config, db).await
}

/// Binds the HTTP port around an existing, migrated database (tests pass a fresh database).
pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<HttpServer> {
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(db.clone()));
    let keys = config.auth.keys()?;
    let metrics = Metrics::new(SERVICE);
    let auth = Auth::new(keys.verifier, metrics.registry());
    let state = AppState {
        sessions: Sessions {
            issuer: Arc::new(keys.issuer),
            refresh_ttl: config.refresh_token_ttl,
        },
        jwks: Arc::new(JwkSet::of(&keys.public)),
        users: Lookup::new(
            db.clone(),
            |row: &UserRow| row.id,
            |db, id| async move { users::find(&db, id).await },
            |db, ids| async move { users::find_many(&db, &ids).await },
        ),
        db,
        hasher: Hasher::new(config.password_hash_concurrency),
    };
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(state).layer(Extension(auth)),
        health,
        metrics,
    )
    .await?;
    Ok(server)
}
