//! The caller's deadline bounds the call and travels to the upstream.

use std::time::{Duration, Instant};

use microshop_http_client::{UpstreamConfig, UpstreamError};
use microshop_telemetry::deadline;
use serde_json::{Value, json};

use crate::{Reply, Server, metrics, upstream};

#[tokio::test]
async fn a_call_inside_a_deadline_scope_sends_its_budget_and_gives_up_in_time() {
    let server = Server::start(|_| Reply::Hang).await;
    let config = UpstreamConfig {
        deadline: Duration::from_secs(3),
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&server.url, config);

    let started = Instant::now();
    let error = deadline::scope(
        started + Duration::from_millis(300),
        client.get_json::<Value>("/thing"),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );
    assert!(
        took < Duration::from_millis(400),
        "gave up with the caller: {took:?}"
    );
    assert!(
        took >= Duration::from_millis(250),
        "used the time it had: {took:?}"
    );
    let budgets = server.budgets();
    assert!(!budgets.is_empty());
    assert!(budgets.iter().all(|&ms| ms <= 300), "{budgets:?}");
    assert!(budgets[0] >= 150, "two thirds of 300 ms: {budgets:?}");
}

#[tokio::test]
async fn a_call_with_no_time_left_fails_at_once_without_going_out() {
    let server = Server::start(|_| Reply::Json(json!({"id": 1}))).await;
    let (client, registry) = upstream(&server.url, UpstreamConfig::default());

    let passed = Instant::now();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let error = deadline::scope(passed, client.get_json::<Value>("/thing"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );
    assert_eq!(server.calls(), 0);
    let text = metrics(&registry);
    assert!(
        text.contains(
            r#"upstream_requests_total{outcome="rejected_no_time_left",upstream="test-upstream"} 1"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn without_a_callers_deadline_the_configured_one_is_sent() {
    let server = Server::start(|_| Reply::Json(json!({"id": 1}))).await;
    let config = UpstreamConfig {
        deadline: Duration::from_millis(1500),
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&server.url, config);
    client.get_json::<Value>("/thing").await.unwrap();
    let budgets = server.budgets();
    assert!((950..=1000).contains(&budgets[0]), "{budgets:?}");
}
