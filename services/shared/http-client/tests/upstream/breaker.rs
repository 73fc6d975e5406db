//! The breaker: it opens, fails fast, recovers, and a lost probe cannot keep it shut.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use microshop_http_client::{UpstreamConfig, UpstreamError};
use microshop_telemetry::deadline;
use serde_json::{Value, json};

use crate::{Reply, Server, dead_url, metrics, upstream};

#[tokio::test]
async fn a_dead_upstream_opens_the_breaker_which_then_fails_fast_and_recovers() {
    let url = dead_url();
    let config = UpstreamConfig {
        breaker_threshold: 3,
        breaker_cool_down: Duration::from_millis(300),
        ..UpstreamConfig::default()
    };
    let (client, registry) = upstream(&url, config);
    for _ in 0..3 {
        let error = client.get_json::<Value>("/thing").await.unwrap_err();
        assert!(
            matches!(error, UpstreamError::Unavailable { .. }),
            "{error}"
        );
    }
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        error.to_string().contains("circuit breaker is open"),
        "{error}"
    );
    let text = metrics(&registry);
    assert!(
        text.contains(r#"circuit_breaker_state{upstream="test-upstream"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"upstream_requests_total{outcome="rejected_open_breaker",upstream="test-upstream"} 1"#
        ),
        "{text}"
    );

    // The same address comes back to life: after the cool-down one probe closes the breaker.
    let addr = url.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    let app = Router::new().route("/thing", get(|| async { axum::Json(json!({"id": 2})) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(350)).await;
    let body: Value = client.get_json("/thing").await.expect("the probe succeeds");
    assert_eq!(body["id"], 2);
    let text = metrics(&registry);
    assert!(
        text.contains(r#"circuit_breaker_state{upstream="test-upstream"} 0"#),
        "{text}"
    );
}

const FAILING: u8 = 0;
const HANGING: u8 = 1;
const HEALTHY: u8 = 2;

/// A server whose behaviour the test switches: 503, never answering, or 200.
async fn switchable_server() -> (Server, Arc<AtomicU8>) {
    let mode = Arc::new(AtomicU8::new(FAILING));
    let current = Arc::clone(&mode);
    let server = Server::start(move |_| match current.load(Ordering::SeqCst) {
        FAILING => Reply::Status(StatusCode::SERVICE_UNAVAILABLE, None, json!({})),
        HANGING => Reply::Hang,
        _ => Reply::Json(json!({"id": 3})),
    })
    .await;
    (server, mode)
}

#[tokio::test]
async fn a_probe_cancelled_mid_flight_does_not_keep_the_breaker_shut() {
    let cool_down = Duration::from_millis(300);
    let (server, mode) = switchable_server().await;
    let config = UpstreamConfig {
        breaker_threshold: 1,
        breaker_cool_down: cool_down,
        max_retries: 0,
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&server.url, config);
    client.get_json::<Value>("/thing").await.unwrap_err();
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        error.to_string().contains("circuit breaker is open"),
        "{error}"
    );

    // After the cool-down the probe goes out, the upstream never answers, and the caller gives
    // up first (a client disconnect or its own time-out): the probe's future is dropped.
    tokio::time::sleep(cool_down + Duration::from_millis(50)).await;
    mode.store(HANGING, Ordering::SeqCst);
    let probe = tokio::time::timeout(
        Duration::from_millis(200),
        client.get_json::<Value>("/thing"),
    );
    assert!(probe.await.is_err(), "the probe is cancelled mid-flight");
    assert_eq!(server.calls(), 2, "the probe reached the upstream");
    let cancelled = Instant::now();

    mode.store(HEALTHY, Ordering::SeqCst);
    let body: Value = client
        .get_json("/thing")
        .await
        .expect("the next call probes: the cancelled probe freed its slot");
    assert_eq!(body["id"], 3);
    assert!(
        cancelled.elapsed() < cool_down,
        "no new cool-down: {:?}",
        cancelled.elapsed()
    );
}

#[tokio::test]
async fn a_probe_whose_task_is_aborted_frees_its_slot_too() {
    let (server, mode) = switchable_server().await;
    let config = UpstreamConfig {
        breaker_threshold: 1,
        breaker_cool_down: Duration::from_millis(100),
        max_retries: 0,
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&server.url, config);
    let client = Arc::new(client);
    client.get_json::<Value>("/thing").await.unwrap_err();
    tokio::time::sleep(Duration::from_millis(150)).await;
    mode.store(HANGING, Ordering::SeqCst);
    let task = tokio::spawn({
        let client = Arc::clone(&client);
        async move { client.get_json::<Value>("/thing").await }
    });
    while server.calls() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    mode.store(HEALTHY, Ordering::SeqCst);
    client
        .get_json::<Value>("/thing")
        .await
        .expect("the aborted probe freed its slot");
}

#[tokio::test]
async fn time_outs_under_a_callers_short_deadline_do_not_open_the_breaker() {
    let (server, mode) = switchable_server().await;
    mode.store(HANGING, Ordering::SeqCst);
    let config = UpstreamConfig {
        breaker_threshold: 1,
        max_retries: 0,
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&server.url, config);
    let tight = Instant::now() + Duration::from_millis(50);
    let error = deadline::scope(tight, client.get_json::<Value>("/thing"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );

    mode.store(HEALTHY, Ordering::SeqCst);
    client
        .get_json::<Value>("/thing")
        .await
        .expect("the caller's impatience is not the upstream's failure");
}
