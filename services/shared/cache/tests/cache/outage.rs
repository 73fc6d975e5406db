//! Redis cut off through a proxy: reads keep answering from the loader, invalidations that
//! cannot reach Redis make the process read around it, and nothing from before is served after.

use std::time::{Duration, Instant};

use microshop_cache::Scope;
use microshop_testkit::{TcpProxy, eventually};

use crate::helpers::{REDIS, Row, cache, delete_keys, prefix, read, requests};

/// Far above the 50 ms bound on a Redis round trip, far below anything that hung.
const PROMPT: Duration = Duration::from_millis(500);

#[tokio::test]
async fn with_redis_cut_off_reads_come_from_the_loader_and_nothing_older_is_served_after() {
    let proxy = TcpProxy::start(REDIS.parse().unwrap()).await.unwrap();
    let prefix = prefix();
    let (a, metrics) = cache(&proxy.addr().to_string(), &prefix, 100).await;
    let (b, _) = cache(REDIS, &prefix, 100).await;
    let (in_a, in_b) = (
        a.space::<u64>("product", Scope::PerKey),
        b.space::<u64>("product", Scope::PerKey),
    );
    let row = Row::default();
    let before = row.write();
    assert_eq!(read(&in_a, "p1", &row).await, before);
    assert_eq!(read(&in_b, "p1", &row).await, before);

    proxy.cut().await;
    eventually("the subscription is lost", async || !a.is_subscribed()).await;
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(read(&in_a, "p1", &row).await, before);
        assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    }
    assert!(requests(&metrics, "product", "error") >= 3);
    let written = row.write();
    let started = Instant::now();
    in_a.invalidate(&["p1"]).await;
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    assert_eq!(read(&in_a, "p1", &row).await, written);
    assert_eq!(requests(&metrics, "product", "bypass"), 1);

    proxy.restore().await;
    let mut reads = 0;
    eventually("reads are served by the cache again", async || {
        assert_eq!(
            read(&in_a, "p1", &row).await,
            written,
            "never the value from before"
        );
        reads += 1;
        requests(&metrics, "product", "local_hit") > 0
    })
    .await;
    assert!(reads >= 2);
    eventually(
        "the other process no longer serves the old value",
        async || read(&in_b, "p1", &row).await == written,
    )
    .await;
    delete_keys(&prefix).await;
}

#[tokio::test]
async fn the_local_layer_is_off_while_the_subscription_is_down_and_starts_afresh() {
    let proxy = TcpProxy::start(REDIS.parse().unwrap()).await.unwrap();
    let prefix = prefix();
    let (a, metrics) = cache(&proxy.addr().to_string(), &prefix, 100).await;
    let (writer, _) = cache(REDIS, &prefix, 0).await;
    let (in_a, in_writer) = (
        a.space::<u64>("product", Scope::PerKey),
        writer.space::<u64>("product", Scope::PerKey),
    );
    let row = Row::default();
    read(&in_a, "p1", &row).await;
    read(&in_a, "p1", &row).await;
    assert_eq!(requests(&metrics, "product", "local_hit"), 1);

    proxy.cut().await;
    eventually("the subscription is lost", async || !a.is_subscribed()).await;
    read(&in_a, "p1", &row).await;
    assert_eq!(
        requests(&metrics, "product", "local_hit"),
        1,
        "the layer is off"
    );
    assert_eq!(row.loads(), 2);
    // Another process writes; this one misses the message.
    let written = row.write();
    in_writer.invalidate(&["p1"]).await;

    proxy.restore().await;
    eventually("subscribed again", async || a.is_subscribed()).await;
    assert_eq!(
        read(&in_a, "p1", &row).await,
        written,
        "old entries died with their session"
    );
    eventually("the layer is used again", async || {
        assert_eq!(read(&in_a, "p1", &row).await, written);
        requests(&metrics, "product", "local_hit") > 1
    })
    .await;
    delete_keys(&prefix).await;
}
