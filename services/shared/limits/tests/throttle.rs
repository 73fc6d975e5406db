//! The throttle against the real Redis, and while a proxy the test owns cuts it off.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use clap::Parser;
use microshop_limits::{Redis, RedisConfig, Throttle};
use microshop_testkit::{TcpProxy, eventually};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    redis: RedisConfig,
}

/// A throttle with one-minute windows on the Redis at `url`, with keys no other test sees.
async fn throttle(url: &str) -> (Throttle, prometheus::Registry) {
    let prefix = format!("test-{}:", uuid::Uuid::now_v7().simple());
    let cli = Cli::try_parse_from([
        "test",
        &format!("--redis-url={url}"),
        &format!("--redis-key-prefix={prefix}"),
    ])
    .unwrap();
    let registry = prometheus::Registry::new();
    let redis = Redis::connect(&cli.redis).unwrap();
    let throttle = Throttle::new(redis.clone(), Duration::from_secs(60), &registry).unwrap();
    eventually("connected to Redis", async || redis.is_connected()).await;
    (throttle, registry)
}

fn fallbacks(registry: &prometheus::Registry) -> f64 {
    registry
        .gather()
        .iter()
        .find(|family| family.name() == "rate_limiter_fallback_total")
        .map_or(0.0, |family| {
            family.get_metric()[0].get_counter().get_value()
        })
}

#[tokio::test]
async fn a_key_at_its_limit_waits_for_its_window_and_other_keys_do_not() {
    let (throttle, registry) = throttle("redis://127.0.0.1:6379/0").await;
    let (ann, bob) = (
        "login:account:ann".to_owned(),
        "login:account:bob".to_owned(),
    );
    let limits = |key: &String| vec![(key.clone(), 3)];
    for _ in 0..2 {
        throttle.failed(std::slice::from_ref(&ann)).await;
        assert!(throttle.check(&limits(&ann)).await.is_ok());
    }
    throttle.failed(std::slice::from_ref(&ann)).await;
    let refused = throttle
        .check(&[(bob.clone(), 3), (ann.clone(), 3)])
        .await
        .unwrap_err();
    assert_eq!(refused.key, ann);
    assert!(
        refused.retry_after > Duration::from_secs(55)
            && refused.retry_after <= Duration::from_secs(60),
        "{refused:?}"
    );
    assert!(throttle.check(&limits(&bob)).await.is_ok());
    // A higher limit for the same key is not reached yet.
    assert!(throttle.check(&[(ann.clone(), 4)]).await.is_ok());
    throttle.clear(&ann).await;
    assert!(throttle.check(&limits(&ann)).await.is_ok());
    assert!(fallbacks(&registry) < 0.5, "Redis answered every time");
}

#[tokio::test]
async fn with_redis_cut_off_each_process_still_counts_and_says_so() {
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap())
        .await
        .unwrap();
    let (throttle, registry) = throttle(&format!("redis://{}/0", proxy.addr())).await;
    let key = "login:address:203.0.113.7".to_owned();
    throttle.failed(std::slice::from_ref(&key)).await;
    proxy.cut().await;

    throttle.failed(std::slice::from_ref(&key)).await;
    throttle.failed(std::slice::from_ref(&key)).await;
    let refused = throttle.check(&[(key, 2)]).await.unwrap_err();
    assert!(refused.retry_after <= Duration::from_secs(60));
    assert!(fallbacks(&registry) >= 1.0, "the fallback is counted");
    proxy.restore().await;
}
