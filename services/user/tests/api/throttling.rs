//! Abuse limits on log-in: failed attempts counted per account and per client address in
//! Redis (429 + Retry-After, a correct password refused too until the window ends), the
//! in-process fallback while Redis is cut off, and the hasher's own in-flight budget.

use std::time::Duration;

use futures::future::join_all;
use microshop_testkit::{TcpProxy, TestApp, TestBroker, checks, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use user_service::startup;

use crate::helpers::{register, test_config};

/// The user service with `extra` arguments; its private topology is deleted after it stops.
async fn start(pool: &PgPool, extra: &[&str]) -> TestApp {
    let broker = TestBroker::new().await;
    let server = startup::build_with_db(test_config(&broker, extra), microshop_testkit::db(pool))
        .await
        .expect("user service starts");
    TestApp::start(server).holding(broker)
}

async fn attempt(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post_json(
            "/api/users/login",
            &json!({"email": email, "password": password}),
        )
        .await
}

/// A log-in through a proxy that says the client is `address`.
async fn attempt_from(
    app: &TestApp,
    address: &str,
    email: String,
    password: &str,
) -> reqwest::Response {
    app.client
        .http()
        .post(format!("{}/api/users/login", app.client.base_url()))
        .header("x-forwarded-for", format!("198.51.100.1, {address}"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("the service answers")
}

async fn assert_throttled(response: reqwest::Response, case: &str) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|value| value.parse().ok())
        .expect("Retry-After holds seconds");
    assert!((1..=900).contains(&retry_after), "{case}: {retry_after}");
    let body = checks::assert_error(response, StatusCode::TOO_MANY_REQUESTS, case).await;
    assert_eq!(body["error"]["code"], "too_many_attempts", "{case}");
}

#[sqlx::test]
async fn an_account_is_locked_after_its_failures_even_for_the_right_password(pool: PgPool) {
    let app = start(
        &pool,
        &[
            "--login-max-failures-per-account=3",
            "--login-max-failures-per-address=100",
        ],
    )
    .await;
    register(&app, "ann@example.com").await;
    register(&app, "bob@example.com").await;
    for _ in 0..3 {
        let wrong = attempt(&app, "ann@example.com", "wrong horse").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    assert_throttled(
        attempt(&app, "ann@example.com", "correct horse").await,
        "the right password after the limit",
    )
    .await;
    // The same address may still sign another account in.
    assert_eq!(
        attempt(&app, "bob@example.com", "correct horse")
            .await
            .status(),
        StatusCode::OK
    );
}

#[sqlx::test]
async fn an_address_is_locked_after_failures_across_accounts(pool: PgPool) {
    let app = start(
        &pool,
        &[
            "--login-max-failures-per-account=100",
            "--login-max-failures-per-address=4",
            "--client-address-header=x-forwarded-for",
        ],
    )
    .await;
    register(&app, "victim@example.com").await;
    let guess = |email: String| attempt_from(&app, "203.0.113.9", email, "guess");
    for i in 0..4 {
        let response = guess(format!("someone-{i}@example.com")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let victim = "victim@example.com".to_owned();
    let refused = attempt_from(&app, "203.0.113.9", victim.clone(), "correct horse").await;
    assert_throttled(refused, "a fifth account from the same address").await;
    // The proxy's last entry is the client: another client is not held back.
    let other = attempt_from(&app, "203.0.113.10", victim, "correct horse").await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[sqlx::test]
async fn the_lock_lifts_when_its_window_ends_and_success_clears_the_account(pool: PgPool) {
    let app = start(
        &pool,
        &[
            "--login-max-failures-per-account=2",
            "--login-throttle-window=2s",
        ],
    )
    .await;
    register(&app, "ann@example.com").await;
    attempt(&app, "ann@example.com", "wrong horse").await;
    // A success in between clears the account's count: two more failures are needed.
    assert_eq!(
        attempt(&app, "ann@example.com", "correct horse")
            .await
            .status(),
        StatusCode::OK
    );
    attempt(&app, "ann@example.com", "wrong horse").await;
    assert_eq!(
        attempt(&app, "ann@example.com", "correct horse")
            .await
            .status(),
        StatusCode::OK
    );
    for _ in 0..2 {
        attempt(&app, "ann@example.com", "wrong horse").await;
    }
    assert_throttled(
        attempt(&app, "ann@example.com", "correct horse").await,
        "locked",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        attempt(&app, "ann@example.com", "correct horse")
            .await
            .status(),
        StatusCode::OK,
        "the window ended"
    );
}

#[sqlx::test]
async fn with_redis_cut_off_log_ins_are_still_throttled_in_process(pool: PgPool) {
    let redis_addr = "127.0.0.1:6379".parse().expect("an address");
    let proxy = TcpProxy::start(redis_addr).await.expect("the proxy starts");
    let redis = format!("--redis-url=redis://{}/0", proxy.addr());
    let app = start(&pool, &[&redis, "--login-max-failures-per-account=2"]).await;
    register(&app, "ann@example.com").await;
    proxy.cut().await;
    for _ in 0..2 {
        let wrong = attempt(&app, "ann@example.com", "wrong horse").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    assert_throttled(
        attempt(&app, "ann@example.com", "correct horse").await,
        "throttled without Redis",
    )
    .await;
    let metrics = app
        .client
        .get("/metrics")
        .await
        .text()
        .await
        .expect("metrics");
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("rate_limiter_fallback_total") && !line.ends_with(" 0")),
        "{metrics}"
    );
    proxy.restore().await;
}

#[sqlx::test]
async fn a_log_in_flood_is_refused_at_once_instead_of_starving_other_routes(pool: PgPool) {
    let app = start(
        &pool,
        &[
            "--password-hash-concurrency=1",
            "--password-hash-queue=1",
            "--login-max-failures-per-account=1000",
            "--login-max-failures-per-address=1000",
        ],
    )
    .await;
    register(&app, "ann@example.com").await;
    let (flood, ready) = tokio::join!(
        join_all((0..12).map(|_| attempt(&app, "ann@example.com", "wrong horse"))),
        async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let started = std::time::Instant::now();
            let status = app.client.get("/health/ready").await.status();
            (status, started.elapsed())
        }
    );
    let mut overloaded = 0;
    for response in flood {
        match response.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "1");
                let body = json(response).await;
                assert_eq!(body["error"]["code"], "overloaded");
                overloaded += 1;
            }
            other => panic!("a log-in answered {other}"),
        }
    }
    assert!(
        overloaded >= 1,
        "one hashing, one waiting: the rest are refused"
    );
    assert_eq!(ready.0, StatusCode::OK);
    assert!(ready.1 < Duration::from_millis(500), "{:?}", ready.1);
}
