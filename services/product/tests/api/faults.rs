//! The service under real faults: the database cut away, SIGTERM mid-request.

use microshop_testkit::scenarios;
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{laptop, product_count, spawn_app_on};

#[sqlx::test]
async fn readiness_is_503_while_the_product_database_is_unreachable_and_recovers(pool: PgPool) {
    let (proxy, proxied) = scenarios::proxied_db(&pool).await;
    let app = spawn_app_on(proxied).await;

    scenarios::assert_readiness_follows_database(&app, &proxy, "/api/products").await;
}

#[sqlx::test]
async fn sigterm_lets_an_in_flight_request_finish(pool: PgPool) {
    scenarios::assert_sigterm_lets_in_flight_request_finish(
        env!("CARGO_BIN_EXE_product-service"),
        &pool,
        "/api/products",
        &laptop().to_string(),
        StatusCode::CREATED,
    )
    .await;

    assert_eq!(product_count(&pool).await, 1);
}
