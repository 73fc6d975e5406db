//! Wiring: database and migrations, the bootstrap admin, routes, health checks, the HTTP server,
//! and beside it the outbox relay to `user.events`.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Extension;
use microshop_auth::{Auth, JwkSet};
use microshop_db::{Db, Lookup};
use microshop_limits::{Redis, Throttle};
use microshop_messaging::outbox::Outbox;
use microshop_messaging::service::ServiceMessaging;
use microshop_web::{ClientAddressHeader, Health, HttpServer, Metrics};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::db::users::{self, UserRow};
use crate::domain::{Email, Password};
use crate::hasher::Hasher;
use crate::login_limits::LoginLimits;
use crate::routes::{self, AppState};
use crate::session::Sessions;
use crate::{Config, SERVICE, bootstrap};

/// Migrations of `users_db`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the database, applies migrations and binds the HTTP port.
pub async fn build(config: Config) -> anyhow::Result<HttpServer> {
    let db = microshop_db::connect_lazy(&config.database_url, &config.db)?;
    microshop_db::migrate(&db, &MIGRATOR).await?;
    build_with_db(config, db).await
}

/// Makes sure the bootstrap admin exists (when configured), binds the HTTP port around an
/// existing, migrated database (tests pass a fresh database) and starts the outbox relay, which
/// connects to RabbitMQ on its own and keeps retrying while it is down.
pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<HttpServer> {
    let metrics = Metrics::new(SERVICE);
    let messaging = ServiceMessaging::new(SERVICE, &config.amqp, metrics.registry())?;
    let health = Health::new(CancellationToken::new())
        .with_check("database", microshop_db::readiness_check(db.clone()))
        .with_reported_check("broker", messaging.readiness_check());
    let keys = config.auth.keys()?;
    let auth = Auth::new(keys.verifier, metrics.registry());
    let outbox = Outbox::new(db.clone());
    let hasher = Hasher::new(config.password_hash_concurrency, config.password_hash_queue);
    let login_limits = LoginLimits {
        throttle: Throttle::new(
            Redis::connect(&config.redis)?,
            config.login_throttle_window,
            metrics.registry(),
        )?,
        per_account: config.login_max_failures_per_account,
        per_address: config.login_max_failures_per_address,
    };
    bootstrap_admin(&config, &outbox, &hasher).await?;
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
        outbox: outbox.clone(),
        hasher,
        login_limits,
    };
    let server = HttpServer::bind(
        SERVICE,
        &config.server,
        config.http_port,
        routes::router(state)
            .layer(Extension(auth))
            .layer(Extension(ClientAddressHeader(
                config.client_address_header.clone(),
            ))),
        health,
        metrics,
    )
    .await?;
    let publishes_to = messaging.topology().user_events();
    for (name, start) in messaging.publish_tasks(&outbox, publishes_to, &server.shutdown_token()) {
        server.spawn_supervised(name, start);
    }
    Ok(server)
}

/// Runs [`bootstrap::admin`] when `BOOTSTRAP_ADMIN_EMAIL` and `BOOTSTRAP_ADMIN_PASSWORD` are set
/// (an empty value counts as unset: a Secret without the keys); only one of them, or values that
/// break the rules, stop the start.
async fn bootstrap_admin(config: &Config, outbox: &Outbox, hasher: &Hasher) -> anyhow::Result<()> {
    let email = config
        .bootstrap_admin_email
        .as_deref()
        .filter(|email| !email.trim().is_empty());
    let password = config
        .bootstrap_admin_password
        .as_ref()
        .filter(|password| !password.expose_secret().is_empty());
    let (email, password) = match (email, password) {
        (None, None) => return Ok(()),
        (Some(email), Some(password)) => (email, password),
        _ => anyhow::bail!(
            "set BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD together, or neither"
        ),
    };
    let email = Email::parse(email).context("BOOTSTRAP_ADMIN_EMAIL")?;
    let password =
        Password::parse(password.expose_secret().to_owned()).context("BOOTSTRAP_ADMIN_PASSWORD")?;
    bootstrap::admin(outbox, hasher, &email, password)
        .await
        .context("creating the bootstrap admin account")?;
    Ok(())
}
