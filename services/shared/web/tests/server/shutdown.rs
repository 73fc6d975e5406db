//! The shutdown of a rolling update: readiness first, requests still served for the drain
//! delay, then no new connections, and the requests in flight finish.

use std::time::{Duration, Instant};

use axum::routing::get;
use microshop_web::ServerConfig;
use tokio::net::TcpStream;
use utoipa_axum::router::OpenApiRouter;

use crate::support::{self, config, health};

#[tokio::test]
async fn after_shutdown_readiness_is_503_at_once_but_requests_are_served_for_the_drain_delay() {
    let api = OpenApiRouter::new().route("/hello", get(|| async { "hello" }));
    let server = support::start(
        &ServerConfig {
            shutdown_drain_delay_ms: 800,
            ..config()
        },
        api,
        health(),
    )
    .await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(server.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    server.shutdown.cancel();
    let started = Instant::now();

    let ready = client
        .get(server.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "load balancers are told at once");
    // New connections too, not only kept-alive ones, are served during the drain delay.
    let fresh = reqwest::Client::new();
    let hello = fresh.get(server.url("/hello")).send().await.unwrap();
    assert_eq!(hello.text().await.unwrap(), "hello");
    assert!(started.elapsed() < Duration::from_millis(800));

    tokio::time::timeout(Duration::from_secs(5), server.stopped)
        .await
        .expect("the server stops after the drain delay")
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "stopped before the drain delay: {:?}",
        started.elapsed()
    );
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn a_request_in_flight_when_the_listener_closes_still_gets_its_answer() {
    let api = OpenApiRouter::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "done"
        }),
    );
    let server = support::start(&config(), api, health()).await;
    let url = server.url("/slow");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await.unwrap().text().await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    server.shutdown.cancel();

    assert_eq!(in_flight.await.unwrap().unwrap(), "done");
    server.stopped.await.unwrap();
}
