//! Starting the product service for a test.

use clap::Parser;
use microshop_testkit::TestApp;
use product_service::{Config, startup};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The service's configuration for tests: loopback, free port, defaults otherwise.
pub fn test_config() -> Config {
    Config::try_parse_from([
        "product-service",
        "--http-host",
        "127.0.0.1",
        "--http-port",
        "0",
    ])
    .expect("test configuration parses")
}

/// The product service on a free port, using `pool` (already migrated by `#[sqlx::test]`).
pub async fn spawn_app(pool: PgPool) -> TestApp {
    let server = startup::build_with_pool(test_config(), pool)
        .await
        .expect("product service starts");
    TestApp::start(server)
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
