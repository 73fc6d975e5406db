//! Starting the product service for a test.

use clap::Parser;
use microshop_db::Db;
use microshop_testkit::{TestApp, TestBroker, amqp_url, local_args};
use product_service::{Config, startup};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The service's configuration for tests: loopback, free port, the test's own topology.
pub fn test_config(broker: &TestBroker) -> Config {
    let mut args = local_args("product-service", 0);
    args.extend(broker.service_args(&amqp_url()));
    Config::try_parse_from(args).expect("test configuration parses")
}

/// The product service on a free port, using `pool` (already migrated by `#[sqlx::test]`).
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with_broker(pool).await.0
}

/// The product service on a free port, using `db` (e.g. one behind a fault proxy).
pub async fn spawn_app_on(db: Db) -> TestApp {
    spawn_on(db).await.0
}

/// The product service and the test's handle on its private RabbitMQ topology.
pub async fn spawn_app_with_broker(pool: PgPool) -> (TestApp, TestBroker) {
    spawn_on(microshop_testkit::db(&pool)).await
}

async fn spawn_on(db: Db) -> (TestApp, TestBroker) {
    let broker = TestBroker::new().await;
    let server = startup::build_with_db(test_config(&broker), db)
        .await
        .expect("product service starts");
    (TestApp::start(server), broker)
}

/// A valid product body, as in the seed walkthrough.
pub fn laptop() -> Value {
    json!({"name": "Laptop", "description": "14-inch, 16 GB", "price": 12999.0, "stock": 50})
}

/// How many products are stored.
pub async fn product_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from products")
        .fetch_one(pool)
        .await
        .expect("count products")
}
