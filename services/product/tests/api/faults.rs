//! The service under real faults: the database cut away or failed over, SIGTERM mid-request.

use microshop_testkit::tls::TlsProxy;
use microshop_testkit::{checks, scenarios};
use reqwest::StatusCode;
use sqlx::{Connection, PgConnection, PgPool};

use crate::helpers::{laptop, product_count, spawn_app, spawn_app_on};

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
        Some(&microshop_testkit::auth::token(
            1,
            microshop_auth::Role::Admin,
        )),
        &laptop().to_string(),
        StatusCode::CREATED,
    )
    .await;

    assert_eq!(product_count(&pool).await, 1);
}

#[sqlx::test]
async fn a_write_during_a_fail_over_is_503_and_later_ones_reach_the_new_primary(pool: PgPool) {
    // A server that takes no writes any more: what a demoted primary looks like.
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let admin = (*pool.connect_options()).clone().database("postgres");
    let mut admin = PgConnection::connect_with(&admin).await.unwrap();
    let read_only = |on: &str| {
        format!("alter database \"{database}\" set default_transaction_read_only = {on}")
    };
    sqlx::query(&read_only("on"))
        .execute(&mut admin)
        .await
        .unwrap();
    let app = spawn_app(pool.clone()).await;

    let refused = crate::helpers::admin(&app)
        .post_json("/api/products", &laptop())
        .await;

    assert!(refused.headers().contains_key("retry-after"));
    let body = checks::assert_error(refused, StatusCode::SERVICE_UNAVAILABLE, "read-only").await;
    assert_eq!(body["error"]["code"], "database_unavailable");
    sqlx::query(&read_only("off"))
        .execute(&mut admin)
        .await
        .unwrap();
    // Each connection still open to the "old primary" fails once and is dropped; the pool holds
    // at most a few, then every write reaches a writable server.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let response = crate::helpers::admin(&app)
            .post_json("/api/products", &laptop())
            .await;
        if response.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            attempts < 10,
            "connections to the read-only server are not dropped"
        );
    }
    assert_eq!(product_count(&pool).await, 1);
    admin.close().await.unwrap();
}

#[sqlx::test]
async fn the_product_service_binary_works_over_tls_to_its_database_and_rabbitmq(pool: PgPool) {
    let rabbitmq = TlsProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    scenarios::assert_works_over_tls(
        env!("CARGO_BIN_EXE_product-service"),
        &pool,
        Some(&rabbitmq),
    )
    .await;
}
