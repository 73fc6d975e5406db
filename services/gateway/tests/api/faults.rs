//! Services that cannot answer: unreachable (503, then the breaker opens and answers at once),
//! silent (504 after the deadline), answering garbage (502); every answer the JSON error shape
//! with `Retry-After`.

use std::time::{Duration, Instant};

use microshop_auth::Role;
use microshop_testkit::{auth, json};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{gateway, sample};

/// A server on a free port that reads each request and answers `reply` (or nothing, holding
/// the connection, when `None`); stops with the test's runtime.
async fn fake_upstream(reply: Option<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0_u8; 4096];
            let _ = socket.read(&mut buffer).await;
            match reply {
                Some(reply) => {
                    let _ = socket.write_all(reply).await;
                    let _ = socket.shutdown().await;
                }
                None => held.push(socket),
            }
        }
    });
    url
}

async fn error_of(answer: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(answer.status(), status);
    assert!(answer.headers().contains_key("retry-after"));
    let body = json(answer).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains("127.0.0.1"),
        "no internal address: {message}"
    );
}

#[tokio::test]
async fn an_unreachable_service_opens_its_breaker() {
    let gateway = gateway(
        [None, None, None, None, None],
        &["--breaker-cool-down=30s".to_owned()],
    )
    .await;
    let token = auth::token(7, Role::Customer);
    for _ in 0..5 {
        let answer = gateway.client.get_as("/api/orders", &token).await;
        error_of(
            answer,
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_unavailable",
        )
        .await;
    }
    // Open: refused without trying, for the rest of the cool-down.
    let answer = gateway.client.get_as("/api/orders", &token).await;
    let wait: u64 = answer.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((20..=30).contains(&wait), "{wait}");
    error_of(
        answer,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    let metrics = gateway.client.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        sample(&metrics, "circuit_breaker_state", &["order-service"]),
        Some(1),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            "upstream_requests_total",
            &["order-service", "rejected_open_breaker"]
        ),
        Some(1)
    );
    // Another service's breaker is its own.
    assert_eq!(
        sample(&metrics, "circuit_breaker_state", &["payment-service"]),
        Some(0)
    );
}

#[tokio::test]
async fn a_silent_service_is_a_504_at_the_deadline() {
    let silent = fake_upstream(None).await;
    let gateway = gateway(
        [None, None, Some(silent), None, None],
        &["--upstream-timeout=300ms".to_owned()],
    )
    .await;
    let started = Instant::now();
    let answer = gateway
        .client
        .get_as("/api/orders", &auth::token(7, Role::Customer))
        .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    error_of(answer, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
}

#[tokio::test]
async fn a_service_answering_garbage_is_a_502() {
    let garbage = fake_upstream(Some(b"this is not HTTP at all\r\n\r\n")).await;
    let gateway = gateway([None, None, Some(garbage), None, None], &[]).await;
    let answer = gateway
        .client
        .get_as("/api/orders", &auth::token(7, Role::Customer))
        .await;
    error_of(answer, StatusCode::BAD_GATEWAY, "bad_upstream_answer").await;
}
