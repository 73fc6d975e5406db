//! A write is never followed by a stale read: not from the writing process, not from Redis, and
//! from another process's in-process layer only until the invalidation message reaches it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use microshop_cache::Scope;
use microshop_testkit::eventually;
use tokio::sync::oneshot;

use crate::helpers::{REDIS, Row, cache_with_timeout, delete_keys, prefix, read, requests};

#[tokio::test]
async fn a_reader_that_loaded_before_a_write_does_not_store_its_old_value() {
    let prefix = prefix();
    let (cache, _) = cache_with_timeout(REDIS, &prefix, 100, 2_000).await;
    let (other, _) = cache_with_timeout(REDIS, &prefix, 0, 2_000).await;
    let products = cache.space::<u64>("product", Scope::PerKey);
    let row = Row::default();
    let (loaded, has_loaded) = oneshot::channel();
    let (finish, may_finish) = oneshot::channel::<()>();
    let slow = tokio::spawn({
        let (products, row) = (products.clone(), row.clone());
        async move {
            let value = products
                .get_or_load("p1", || async move {
                    let old = row.load().await;
                    loaded.send(()).unwrap();
                    may_finish.await.unwrap();
                    old
                })
                .await;
            *value.unwrap().unwrap()
        }
    });
    has_loaded.await.unwrap();

    let written = row.write();
    products.invalidate(&["p1"]).await;
    finish.send(()).unwrap();

    assert_eq!(
        slow.await.unwrap(),
        0,
        "the slow reader answers what it loaded"
    );
    assert_eq!(read(&products, "p1", &row).await, written);
    let in_other = other.space::<u64>("product", Scope::PerKey);
    assert_eq!(read(&in_other, "p1", &row).await, written);
    assert_eq!(
        row.loads(),
        2,
        "the old value was not stored, the new one was"
    );
    delete_keys(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_read_that_starts_after_an_invalidation_returned_sees_an_older_value() {
    let prefix = prefix();
    // The writing process, another with an in-process layer, another reading Redis only.
    let (a, a_metrics) = cache_with_timeout(REDIS, &prefix, 1_000, 2_000).await;
    let (b, _) = cache_with_timeout(REDIS, &prefix, 1_000, 2_000).await;
    let (c, c_metrics) = cache_with_timeout(REDIS, &prefix, 0, 2_000).await;
    let spaces = [&a, &b, &c].map(|cache| cache.space::<u64>("product", Scope::PerKey));
    let row = Row::default();
    // The newest value whose invalidation has returned.
    let floor = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (space, row, floor) = (spaces[0].clone(), row.clone(), Arc::clone(&floor));
            tokio::spawn(async move {
                for _ in 0..150 {
                    let written = row.write();
                    space.invalidate(&["p"]).await;
                    floor.fetch_max(written, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..12)
        .map(|reader| {
            let space = spaces[reader % 3].clone();
            let strict = reader % 3 != 1; // b's layer learns of writes by pub/sub
            let (row, floor, done) = (row.clone(), Arc::clone(&floor), Arc::clone(&done));
            tokio::spawn(async move {
                let mut reads = 0_u64;
                while !done.load(Ordering::SeqCst) {
                    let before = floor.load(Ordering::SeqCst);
                    let got = *space
                        .get_or_load("p", || row.load_slowly())
                        .await
                        .unwrap()
                        .unwrap();
                    assert!(
                        !strict || got >= before,
                        "read {got} after {before} was invalidated"
                    );
                    reads += 1;
                    // A local hit never waits: let the writers run.
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }

    let last = floor.load(Ordering::SeqCst);
    assert_eq!(last, 300);
    eventually(
        "the other process's layer has dropped old values",
        async || read(&spaces[1], "p", &row).await == last,
    )
    .await;
    assert_eq!(read(&spaces[2], "p", &row).await, last);
    assert!(
        requests(&a_metrics, "product", "local_hit") > 0,
        "the layer was used"
    );
    assert!(requests(&c_metrics, "product", "hit") > 0, "Redis was used");
    delete_keys(&prefix).await;
}
