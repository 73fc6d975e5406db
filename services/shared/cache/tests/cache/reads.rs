//! Reads: what is cached where, what each invalidation drops, what a local hit costs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use microshop_cache::Scope;

use crate::helpers::{REDIS, Row, cache, delete_keys, invalidations, prefix, read, requests};

#[tokio::test]
async fn a_value_is_loaded_once_then_served_by_the_process_and_by_redis() {
    let prefix = prefix();
    let (a, a_metrics) = cache(REDIS, &prefix, 100).await;
    let (b, b_metrics) = cache(REDIS, &prefix, 0).await;
    let (in_a, in_b) = (
        a.space::<u64>("product", Scope::PerKey),
        b.space::<u64>("product", Scope::PerKey),
    );
    let row = Row::default();
    row.write();

    for _ in 0..3 {
        assert_eq!(read(&in_a, "p1", &row).await, 1);
    }
    assert_eq!(read(&in_b, "p1", &row).await, 1);

    assert_eq!(row.loads(), 1, "loaded once, for both processes");
    assert_eq!(requests(&a_metrics, "product", "miss"), 1);
    assert_eq!(requests(&a_metrics, "product", "local_hit"), 2);
    assert_eq!(requests(&b_metrics, "product", "hit"), 1);
    assert_eq!(requests(&b_metrics, "product", "local_hit"), 0);
    delete_keys(&prefix).await;
}

#[tokio::test]
async fn absent_values_and_loader_errors_are_not_cached() {
    let prefix = prefix();
    let (cache, metrics) = cache(REDIS, &prefix, 100).await;
    let products = cache.space::<u64>("product", Scope::PerKey);
    let loads = AtomicU64::new(0);

    for _ in 0..2 {
        let absent = products
            .get_or_load("missing", || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(None)
            })
            .await;
        assert_eq!(absent, Ok(None));
        let failed = products
            .get_or_load("broken", || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Err("the database is away".to_owned())
            })
            .await;
        assert_eq!(failed, Err("the database is away".to_owned()));
    }

    assert_eq!(loads.load(Ordering::SeqCst), 4);
    assert_eq!(requests(&metrics, "product", "miss"), 4);
    delete_keys(&prefix).await;
}

#[tokio::test]
async fn invalidating_a_key_reloads_it_and_leaves_other_keys_cached() {
    let prefix = prefix();
    let (cache, metrics) = cache(REDIS, &prefix, 100).await;
    let products = cache.space::<u64>("product", Scope::PerKey);
    let (one, two) = (Row::default(), Row::default());
    read(&products, "p1", &one).await;
    read(&products, "p2", &two).await;

    let written = one.write();
    products.invalidate(&["p1"]).await;

    assert_eq!(read(&products, "p1", &one).await, written);
    assert_eq!(read(&products, "p2", &two).await, 0);
    assert_eq!((one.loads(), two.loads()), (2, 1));
    assert_eq!(invalidations(&metrics, "product"), 1);
    delete_keys(&prefix).await;
}

#[tokio::test]
async fn any_invalidation_of_a_whole_space_reloads_all_its_keys() {
    let prefix = prefix();
    let (cache, metrics) = cache(REDIS, &prefix, 100).await;
    let listings = cache.space::<u64>("listing", Scope::Whole);
    let products = cache.space::<u64>("product", Scope::PerKey);
    let (newest, cheapest, product) = (Row::default(), Row::default(), Row::default());
    read(&listings, "newest:1", &newest).await;
    read(&listings, "cheapest:1", &cheapest).await;
    read(&products, "p1", &product).await;

    // One product write: the product and every listing, in one round trip.
    cache
        .invalidate_many(&[products.keys(&["p1"]), listings.keys(&["whatever"])])
        .await;

    read(&listings, "newest:1", &newest).await;
    read(&listings, "cheapest:1", &cheapest).await;
    read(&products, "p1", &product).await;
    assert_eq!(
        (newest.loads(), cheapest.loads(), product.loads()),
        (2, 2, 2)
    );
    assert_eq!(invalidations(&metrics, "listing"), 1);
    listings.invalidate_all().await;
    read(&listings, "newest:1", &newest).await;
    assert_eq!(newest.loads(), 3);
    delete_keys(&prefix).await;
}

#[tokio::test]
async fn local_hits_are_timed_for_the_record() {
    let prefix = prefix();
    let (cache, metrics) = cache(REDIS, &prefix, 100).await;
    let products = cache.space::<u64>("product", Scope::PerKey);
    let row = Row::default();
    read(&products, "p1", &row).await;

    let rounds = 100_000_u32;
    let started = Instant::now();
    for _ in 0..rounds {
        read(&products, "p1", &row).await;
    }
    let per_read = started.elapsed() / rounds;

    println!(
        "a local hit takes {} ns (this build's profile)",
        per_read.as_nanos()
    );
    assert_eq!(
        requests(&metrics, "product", "local_hit"),
        u64::from(rounds)
    );
    delete_keys(&prefix).await;
}
