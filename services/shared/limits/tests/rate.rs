//! Rate limits against the real Redis: replicas sharing one Redis share one limit, leases and
//! all; the headers' numbers add up.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use clap::Parser;
use microshop_limits::{Rate, RateLimiter, Redis, RedisConfig};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    redis: RedisConfig,
}

const REDIS: &str = "redis://127.0.0.1:6379/0";

/// Deletes `keys` (under `prefix`) from Redis: the tests' limits would outlive them.
async fn forget(prefix: &str, keys: &[&str]) {
    let client = redis::Client::open(REDIS).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = keys.iter().map(|key| format!("{prefix}{key}")).collect();
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .unwrap();
}

/// `count` limiters (replicas of one service) on the local Redis under one prefix no other test
/// uses, and that prefix.
async fn replicas(count: usize) -> (Vec<RateLimiter>, String) {
    let prefix = format!("test-{}:", uuid::Uuid::now_v7().simple());
    let mut limiters = Vec::new();
    for _ in 0..count {
        let cli = Cli::try_parse_from([
            "test",
            &format!("--redis-url={REDIS}"),
            &format!("--redis-key-prefix={prefix}"),
        ])
        .unwrap();
        let redis = Redis::connect(&cli.redis).unwrap();
        assert!(redis.wait_connected(Duration::from_secs(5)).await);
        limiters.push(RateLimiter::new(redis, &prometheus::Registry::new()).unwrap());
    }
    (limiters, prefix)
}

#[tokio::test]
async fn replicas_together_allow_the_burst_and_no_more() {
    // A burst of 200 (leases of 20 cells), one more a minute: three replicas taking turns.
    let rate = Rate::per_second(1.0 / 60.0, 200);
    let (limiters, prefix) = replicas(3).await;
    let mut allowed = 0;
    for i in 0..300 {
        let decision = limiters[i % 3]
            .check("ratelimit:all:ip:10.0.0.1", rate)
            .await;
        if decision.allowed {
            allowed += 1;
        } else {
            assert!(decision.retry_after > Duration::ZERO);
            assert_eq!(decision.remaining, 0);
        }
    }
    // Leased cells are counted when granted: never more than the burst, and short of it by at
    // most the cells two replicas still hold.
    assert!(allowed <= 200, "{allowed}");
    assert!(allowed >= 200 - 2 * 19, "{allowed}");
    // Another key has its own burst.
    assert!(
        limiters[0]
            .check("ratelimit:all:ip:10.0.0.2", rate)
            .await
            .allowed
    );
    forget(
        &prefix,
        &["ratelimit:all:ip:10.0.0.1", "ratelimit:all:ip:10.0.0.2"],
    )
    .await;
}

#[tokio::test]
async fn a_small_burst_asks_redis_every_time() {
    // Sign-in: a burst of 10 leases one cell, so two replicas allow exactly 10.
    let rate = Rate::per_minute(1, 10);
    let (limiters, prefix) = replicas(2).await;
    let mut allowed = 0;
    for i in 0..20 {
        if limiters[i % 2]
            .check("ratelimit:login:ip:10.0.0.3", rate)
            .await
            .allowed
        {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
    forget(&prefix, &["ratelimit:login:ip:10.0.0.3"]).await;
}

#[tokio::test]
async fn remaining_counts_down_through_a_lease() {
    let rate = Rate::per_second(1.0 / 60.0, 100); // leases of 10
    let (mut limiters, prefix) = replicas(1).await;
    let limiter = limiters.remove(0);
    let mut remaining = Vec::new();
    for _ in 0..12 {
        let decision = limiter.check("ratelimit:all:user:7", rate).await;
        assert!(decision.allowed);
        remaining.push(decision.remaining);
    }
    assert_eq!(remaining, (88..=99).rev().collect::<Vec<u32>>());
    forget(&prefix, &["ratelimit:all:user:7"]).await;
}
