//! Classification, the retries of a transient failure, and the whole-call deadline.

use std::time::{Duration, Instant};

use microshop_http_client::{UpstreamConfig, UpstreamError};
use serde_json::Value;

use crate::{Reply, Server, flaky_server, upstream};

#[tokio::test]
async fn a_404_is_not_found_and_not_a_failure() {
    let server = flaky_server(0).await;
    let (client, _) = upstream(
        &server.url,
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
    let server = flaky_server(2).await;
    let (client, _) = upstream(&server.url, UpstreamConfig::default());
    let body: Value = client
        .get_json("/thing")
        .await
        .expect("third attempt succeeds");
    assert_eq!(body["id"], 1);
    assert_eq!(server.calls(), 3);
}

#[tokio::test]
async fn retries_stop_after_three() {
    let server = flaky_server(100).await;
    let (client, _) = upstream(&server.url, UpstreamConfig::default());
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );
    assert_eq!(server.calls(), 4, "one attempt and three retries");
}

#[tokio::test]
async fn a_500_is_unavailable_and_not_retried() {
    let server = Server::start(|_| {
        Reply::Status(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            None,
            serde_json::json!({}),
        )
    })
    .await;
    let (client, _) = upstream(&server.url, UpstreamConfig::default());
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );
    assert_eq!(server.calls(), 1, "a 500 is a bug, not a blip: no retry");
}

#[tokio::test]
async fn a_hanging_upstream_is_cut_at_the_deadline() {
    let server = Server::start(|_| Reply::Hang).await;
    let config = UpstreamConfig {
        deadline: Duration::from_millis(400),
        ..UpstreamConfig::default()
    };
    let (client, _) = upstream(&server.url, config);

    let started = Instant::now();
    let error = client.get_json::<Value>("/thing").await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unavailable { .. }),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "the deadline bounds the whole call, retries included: {:?}",
        started.elapsed()
    );
}
