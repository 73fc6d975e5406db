//! Starting the user service for a test.

use clap::Parser;
use microshop_db::Db;
use microshop_testkit::{TestApp, local_args};
use serde_json::{Value, json};
use sqlx::PgPool;
use user_service::{Config, startup};

/// The service's configuration for tests: loopback, free port, defaults otherwise.
pub fn test_config() -> Config {
    let mut args = local_args("user-service", 0);
    args.extend(microshop_testkit::auth::issuer_args());
    Config::try_parse_from(args).expect("test configuration parses")
}

/// The user service on a free port, using `pool` (already migrated by `#[sqlx::test]`).
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_on(microshop_testkit::db(&pool)).await
}

/// The user service on a free port, using `db` (e.g. one behind a fault proxy).
pub async fn spawn_app_on(db: Db) -> TestApp {
    let server = startup::build_with_db(test_config(), db)
        .await
        .expect("user service starts");
    TestApp::start(server)
}

/// A valid registration body.
pub fn ann() -> Value {
    json!({"email": "ann@example.com", "name": "Ann Example", "password": "correct horse"})
}

/// How many users are stored.
pub async fn user_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(pool)
        .await
        .expect("count users")
}
