//! The client against real HTTP servers on loopback: one that answers as told, and a port where
//! nothing listens.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use microshop_http_client::{Upstream, UpstreamConfig, UpstreamError, UpstreamMetrics};
use prometheus::Registry;
use serde_json::{Value, json};

/// Serves `GET /thing`: the first `failures` calls answer 503, then 200.
async fn flaky_server(failures: usize) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route(
            "/thing",
            get(move |State(calls): State<Arc<AtomicUsize>>| async move {
                if calls.fetch_add(1, Ordering::SeqCst) < failures {
                    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})))
                } else {
                    (StatusCode::OK, axum::Json(json!({"id": 1})))
                }
            }),
        )
        .with_state(Arc::clone(&calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

/// A loopback URL where nothing listens.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn upstream(url: &str, config: UpstreamConfig) -> (Upstream, Registry) {
    let registry = Registry::new();
    let metrics = UpstreamMetrics::register(&registry).unwrap();
    (
        Upstream::new("test-upstream", url, config, metrics),
        registry,
    )
}

#[tokio::test]
async fn a_404_is_not_found_and_not_a_failure() {
    let (url, _) = flaky_server(0).await;
    let (client, _) = upstream(
        &url,
        UpstreamConfig {
            breaker_threshold: 1,
            ..UpstreamConfig::default()
        },
    );
    for _ in 0..3 {
        let error = client.get_json::<Value>("/missing").await.unwrap_err();
        assert!(matches!(error, UpstreamError::NotFound { .. }), "{error}");
    }
    assert!(
        client.get_json::<Value>("/thing").await.is_ok(),
        "404s must not open the breaker"
    );
}

#[tokio::test]
async fn a_transient_503_is_retried_until_it_succeeds() {
    let (url, calls) = flaky_server(2).await;
    let (client, _) = upstream(&url, UpstreamConfig::default());
    let body: Value = client
        .get_json("/thing")
        .await
        .expect("third attempt succeeds");
    assert_eq!(body["id"], 1);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_after_three() {
    let (url, calls) = flaky_server(100).await;
    let (client, _) = upstream(&url, UpstreamConfig::default());
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "one attempt and three retries"
    );
}

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
    let metrics = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    assert!(
        metrics.contains(r#"circuit_breaker_state{upstream="test-upstream"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"upstream_requests_total{outcome="rejected_open_breaker",upstream="test-upstream"} 1"#
        ),
        "{metrics}"
    );

    // The same address comes back to life: after the cool-down one probe closes the breaker.
    let addr = url.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    let app = Router::new().route("/thing", get(|| async { axum::Json(json!({"id": 2})) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(350)).await;
    let body: Value = client.get_json("/thing").await.expect("the probe succeeds");
    assert_eq!(body["id"], 2);
    let metrics = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    assert!(
        metrics.contains(r#"circuit_breaker_state{upstream="test-upstream"} 0"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_hanging_upstream_is_cut_at_the_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/thing",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = UpstreamConfig {
        deadline: Duration::from_millis(400),
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&url, config);

    let started = std::time::Instant::now();
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the deadline bounds the whole call"
    );
}
