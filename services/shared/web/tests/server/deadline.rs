//! Request deadlines: the configured one, a caller's shorter one, and commits, which are never
//! cut off and answered "try again".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::routing::get;
use microshop_telemetry::deadline;
use microshop_web::ServerConfig;
use utoipa_axum::router::OpenApiRouter;

use crate::support::{self, config, health};

/// `/work` sleeps 1 s and reports what is left of its deadline; `/commit` marks its commit
/// point after 100 ms, then takes 1 s more, and records that it finished.
fn api(finished: Arc<AtomicBool>) -> OpenApiRouter {
    OpenApiRouter::new()
        .route(
            "/left",
            get(|| async {
                deadline::remaining()
                    .map_or(0, |left| left.as_millis())
                    .to_string()
            }),
        )
        .route(
            "/work",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                "done"
            }),
        )
        .route(
            "/commit",
            get(move || {
                let finished = Arc::clone(&finished);
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    deadline::commit_point();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    finished.store(true, Ordering::SeqCst);
                    "committed"
                }
            }),
        )
}

fn short() -> ServerConfig {
    ServerConfig {
        request_timeout_ms: 300,
        ..config()
    }
}

#[tokio::test]
async fn a_request_still_working_at_its_deadline_is_cancelled_with_503() {
    let server = support::start(&short(), api(Arc::default()), health()).await;
    let started = Instant::now();

    let answer = reqwest::get(server.url("/work")).await.unwrap();

    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "timeout");
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn a_callers_shorter_budget_becomes_the_deadline_and_travels_on() {
    let server = support::start(&config(), api(Arc::default()), health()).await;
    let client = reqwest::Client::new();

    let left: u128 = client
        .get(server.url("/left"))
        .header(deadline::HEADER, "250")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();
    let started = Instant::now();
    let cut = client
        .get(server.url("/work"))
        .header(deadline::HEADER, "200")
        .send()
        .await
        .unwrap();

    assert!((150..=250).contains(&left), "{left} ms left");
    assert_eq!(cut.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(800));
    let garbage = client
        .get(server.url("/left"))
        .header(deadline::HEADER, "-5")
        .send()
        .await
        .unwrap();
    let left: u128 = garbage.text().await.unwrap().parse().unwrap();
    assert!(left > 9_000, "a garbled budget is ignored: {left} ms");
}

#[tokio::test]
async fn a_request_that_started_to_commit_is_answered_with_its_outcome_not_a_timeout() {
    let finished = Arc::new(AtomicBool::new(false));
    let server = support::start(&short(), api(Arc::clone(&finished)), health()).await;

    let answer = reqwest::get(server.url("/commit")).await.unwrap();

    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "committed");
    assert!(finished.load(Ordering::SeqCst));
}
