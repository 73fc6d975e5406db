//! Slow and idle clients, the connection cap, readiness probes, method labels.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::get;
use futures::future::join_all;
use microshop_web::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use utoipa_axum::router::OpenApiRouter;

use crate::support::{self, config, health};

fn hello() -> OpenApiRouter {
    OpenApiRouter::new().route("/hello", get(|| async { "hello" }))
}

/// Reads until the server closes the connection; how long that took.
async fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("the server closes the connection within 5 s");
        if matches!(read, Ok(0) | Err(_)) {
            return started.elapsed();
        }
    }
}

/// A server that gives clients 300 ms to send a request head.
async fn impatient() -> support::Running {
    let config = ServerConfig {
        header_read_timeout_ms: 300,
        ..config()
    };
    support::start(&config, hello(), health()).await
}

#[tokio::test]
async fn a_client_that_trickles_its_request_head_is_disconnected() {
    let server = impatient().await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    // A byte now and then, never the end of the head.
    let trickle = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return;
            }
        }
    };
    trickle.await;
    let waited = time_until_closed(&mut slow).await;

    assert!(
        waited < Duration::from_secs(2),
        "closed only after {waited:?}"
    );
    let answer = reqwest::get(server.url("/hello")).await.unwrap();
    assert_eq!(
        answer.text().await.unwrap(),
        "hello",
        "others are still served"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_time_out() {
    let server = impatient().await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    let waited = time_until_closed(&mut idle).await;

    assert!(
        (Duration::from_millis(250)..Duration::from_secs(2)).contains(&waited),
        "{waited:?}"
    );
}

#[tokio::test]
async fn past_the_connection_cap_a_client_waits_until_a_connection_closes() {
    let server = support::start(
        &ServerConfig {
            header_read_timeout_ms: 500,
            max_connections: 2,
            ..config()
        },
        hello(),
        health(),
    )
    .await;
    // Two connections that never send a request hold every place.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut held = TcpStream::connect(server.addr).await.unwrap();
        held.write_all(b"GET /hel").await.unwrap();
        holders.push(held);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();

    let answer = reqwest::get(server.url("/hello")).await.unwrap();

    assert_eq!(answer.text().await.unwrap(), "hello");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(350),
        "served after {waited:?}: the cap did not hold it back"
    );
}

#[tokio::test]
async fn a_flood_of_readiness_probes_runs_the_checks_once_a_second() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    let health = health().with_check("database", move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        }
    });
    let server = support::start(&config(), hello(), health).await;
    let client = reqwest::Client::new();
    let probe = || client.get(server.url("/health/ready")).send();

    let answers = join_all((0..50).map(|_| probe())).await;

    assert!(answers.iter().all(|a| a.as_ref().unwrap().status() == 200));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "one run for fifty probes");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    probe().await.unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "a second later, a fresh run"
    );
}

#[tokio::test]
async fn invented_methods_share_one_metric_label() {
    let server = support::start(&config(), hello(), health()).await;
    let client = reqwest::Client::new();
    for method in ["FOO", "BAR", "BAZ"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        client
            .request(method, server.url("/hello"))
            .send()
            .await
            .unwrap();
    }

    let metrics = server.metrics().await;

    assert!(
        metrics.lines().any(
            |line| line.starts_with(r#"http_requests_total{method="OTHER""#)
                && line.ends_with(" 3")
        ),
        "{metrics}"
    );
    assert!(!metrics.contains("FOO"), "{metrics}");
}
