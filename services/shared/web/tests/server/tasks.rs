//! Supervised background tasks: a panic is counted, shown in readiness, and the task started
//! again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use microshop_testkit::{eventually, eventually_some};
use microshop_web::{HttpServer, Metrics};
use utoipa_axum::router::OpenApiRouter;

use crate::support::{self, config, health};

#[tokio::test]
async fn a_panicking_task_is_reported_and_started_again() {
    let server = HttpServer::bind(
        "test",
        &config(),
        0,
        OpenApiRouter::new(),
        health(),
        Metrics::new("test"),
    )
    .await
    .unwrap();
    let starts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&starts);
    let stop = server.shutdown_token();
    server.spawn_supervised("consumer", move || {
        let start = counted.fetch_add(1, Ordering::SeqCst);
        let stop = stop.clone();
        async move {
            assert!(start > 0, "the first run fails");
            stop.cancelled().await;
        }
    });
    let server = support::run(server);

    let ready: serde_json::Value = eventually_some("readiness reports the panic", async || {
        let body = server.readiness().await;
        let check = body["checks"]["background_tasks"].as_str()?.to_owned();
        check.contains("panicked").then_some(body)
    })
    .await;
    let report = ready["checks"]["background_tasks"].as_str().unwrap();
    assert!(report.contains("consumer"), "{report}");
    assert!(report.contains("the first run fails"), "{report}");

    eventually("the task runs again", async || {
        starts.load(Ordering::SeqCst) == 2
    })
    .await;
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(r#"background_task_panics_total{task="consumer",service="test"} 1"#),
        "{metrics}"
    );
    eventually("readiness is clean again", async || {
        server.readiness().await["checks"]["background_tasks"] == "ok"
    })
    .await;
    server.shutdown.cancel();
    server.stopped.await.unwrap();
}
