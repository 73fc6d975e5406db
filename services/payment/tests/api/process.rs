//! The payment-service binary as a real process: graceful shutdown, TLS to its dependencies.

use microshop_testkit::scenarios;
use reqwest::StatusCode;
use sqlx::PgPool;

const BINARY: &str = env!("CARGO_BIN_EXE_payment-service");

#[sqlx::test]
async fn sigterm_lets_an_in_flight_webhook_finish(pool: PgPool) {
    // A delivery without a signature, half sent when SIGTERM arrives: it is still answered
    // (401, nothing changed) before the process exits cleanly.
    let body = r#"{"id":"evt_1","type":"checkout.succeeded","created":1,"data":{}}"#;
    scenarios::assert_sigterm_lets_in_flight_request_finish(
        BINARY,
        &pool,
        "/api/payments/callback",
        None,
        body,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[sqlx::test]
async fn the_binary_works_over_tls_to_its_database_and_rabbitmq(pool: PgPool) {
    let rabbitmq = microshop_testkit::tls::TlsProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    scenarios::assert_works_over_tls(BINARY, &pool, Some(&rabbitmq)).await;
}
