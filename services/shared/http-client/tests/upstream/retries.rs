//! Retries that help instead of multiplying load: per-attempt time-outs, the retry budget,
//! `Retry-After`, and load shedding.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use microshop_http_client::{UpstreamConfig, UpstreamError};
use serde_json::{Value, json};

use crate::{Reply, Server, metrics, upstream};

#[tokio::test]
async fn the_first_attempt_gets_two_thirds_of_the_deadline_and_a_retry_the_rest() {
    let server = Server::start(|n| {
        if n == 0 {
            Reply::Hang
        } else {
            Reply::Json(json!({"id": 1}))
        }
    })
    .await;
    let config = UpstreamConfig {
        deadline: Duration::from_millis(900),
        max_retries: 1,
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&server.url, config);

    let started = Instant::now();
    let body: Value = client.get_json("/thing").await.expect("the retry answers");
    assert_eq!(body["id"], 1);
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert!(started.elapsed() < Duration::from_millis(900));
    let budgets = server.budgets();
    assert_eq!(budgets.len(), 2);
    assert!(
        (550..=600).contains(&budgets[0]),
        "first attempt: {budgets:?}"
    );
    assert!(
        budgets[1] <= 300,
        "the retry gets what is left: {budgets:?}"
    );
}

#[tokio::test]
async fn retries_stop_when_the_budget_is_spent() {
    let server = Server::start(|_| Reply::Status(StatusCode::BAD_GATEWAY, None, json!({}))).await;
    // No floor: one retry is earned per five calls.
    let config = UpstreamConfig {
        retry_budget_ratio: 0.2,
        retry_budget_min_per_sec: 0,
        ..UpstreamConfig::default()
    };
    let (client, registry) = upstream(&server.url, config);

    for call in 1..=4 {
        let error = client.get_json::<Value>("/thing").await.unwrap_err();
        assert!(
            error.to_string().contains("retry budget exhausted"),
            "{error}"
        );
        assert_eq!(server.calls(), call, "no retry before the budget holds one");
    }
    client.get_json::<Value>("/thing").await.unwrap_err();
    assert_eq!(server.calls(), 6, "the fifth call earned exactly one retry");

    let text = metrics(&registry);
    assert!(
        text.contains(r#"upstream_retries_total{outcome="sent",upstream="test-upstream"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"upstream_retries_total{outcome="budget_exhausted",upstream="test-upstream"} 5"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_retry_after_that_fits_the_deadline_is_waited_for() {
    let server = Server::start(|n| {
        if n == 0 {
            Reply::Status(StatusCode::SERVICE_UNAVAILABLE, Some("1"), json!({}))
        } else {
            Reply::Json(json!({"id": 1}))
        }
    })
    .await;
    let (client, _) = upstream(&server.url, UpstreamConfig::default());

    let started = Instant::now();
    client
        .get_json::<Value>("/thing")
        .await
        .expect("the retry answers");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as asked: {:?}",
        started.elapsed()
    );
    assert_eq!(server.calls(), 2);
    let budgets = server.budgets();
    // The retry shares what the 1 s wait left of the 3 s among the three retries allowed.
    assert!(
        budgets[1] <= 2000 / 3,
        "the wait came out of the deadline: {budgets:?}"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_is_passed_on_without_a_retry() {
    let server =
        Server::start(|_| Reply::Status(StatusCode::TOO_MANY_REQUESTS, Some("30"), json!({})))
            .await;
    let (client, _) = upstream(&server.url, UpstreamConfig::default());

    let started = Instant::now();
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        matches!(
            error,
            UpstreamError::Unavailable {
                retry_after_secs: 30,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.calls(), 1);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no waiting in vain"
    );
}

#[tokio::test]
async fn an_overloaded_answer_is_not_retried_and_its_retry_after_is_passed_on() {
    let server = Server::start(|_| {
        Reply::Status(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("2"),
            json!({"error": {"code": "overloaded", "message": "at the in-flight limit"}}),
        )
    })
    .await;
    let (client, registry) = upstream(&server.url, UpstreamConfig::default());

    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        matches!(
            error,
            UpstreamError::Unavailable {
                retry_after_secs: 2,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        server.calls(),
        1,
        "retrying a shedding upstream feeds its overload"
    );
    assert!(
        metrics(&registry)
            .contains(r#"upstream_retries_total{outcome="sent",upstream="test-upstream"} 0"#),
        "{}",
        metrics(&registry)
    );
}
