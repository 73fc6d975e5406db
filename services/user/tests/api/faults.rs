//! The service under real faults: the database cut away, SIGTERM mid-request.

use microshop_testkit::scenarios;
use microshop_testkit::tls::TlsProxy;
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{admin_token, spawn_app_on, user_count};

#[sqlx::test]
async fn readiness_is_503_while_the_database_is_unreachable_and_recovers(pool: PgPool) {
    let (proxy, proxied) = scenarios::proxied_db(&pool).await;
    let app = spawn_app_on(proxied).await;

    let admin = app.client.authorized(&admin_token());
    scenarios::assert_readiness_follows_database_via(&admin, &proxy, "/api/users/1").await;
}

#[sqlx::test]
async fn sigterm_lets_an_in_flight_registration_finish(pool: PgPool) {
    let body = r#"{"email": "late@example.com", "name": "Late", "password": "still arriving"}"#;

    scenarios::assert_sigterm_lets_in_flight_request_finish(
        env!("CARGO_BIN_EXE_user-service"),
        &pool,
        "/api/users",
        None,
        body,
        StatusCode::CREATED,
    )
    .await;

    assert_eq!(user_count(&pool).await, 1);
}

#[sqlx::test]
async fn the_user_service_binary_works_over_tls_to_its_database_and_rabbitmq(pool: PgPool) {
    let rabbitmq = TlsProxy::start("127.0.0.1:5672".parse().expect("an address")).await;
    scenarios::assert_works_over_tls(env!("CARGO_BIN_EXE_user-service"), &pool, Some(&rabbitmq))
        .await;
}
