//! Rate limits in Redis: per user when signed in, per client address otherwise, a small
//! allowance for signing in; 429 with `Retry-After` and the `RateLimit` headers; with Redis cut
//! off (through a TCP proxy), an in-process limiter holds the limits.

use microshop_auth::Role;
use microshop_testkit::{TcpProxy, auth, json};
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::{gateway, sample};

fn refused(answer: &Response) -> bool {
    answer.status() == StatusCode::TOO_MANY_REQUESTS
}

#[tokio::test]
async fn signing_in_has_its_own_small_allowance() {
    let gateway = gateway(
        [None, None, None, None, None],
        &[
            "--rate-limit-sensitive-per-minute=1".to_owned(),
            "--rate-limit-sensitive-burst=2".to_owned(),
        ],
    )
    .await;
    let login = json!({"email": "a@example.com", "password": "wrong password"});
    // The user service is down: the first two get its 503, the third is limited.
    for attempt in 0..2 {
        let answer = gateway.client.post_json("/api/users/login", &login).await;
        assert!(!refused(&answer), "attempt {attempt}");
        assert_eq!(answer.headers()["ratelimit-policy"], "\"login\";q=2;w=120");
    }
    let answer = gateway.client.post_json("/api/v1/login", &login).await;
    assert!(refused(&answer), "{}", answer.status());
    let wait: u64 = answer.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(answer.headers()["ratelimit-policy"], "\"login\";q=2;w=120");
    let state = answer.headers()["ratelimit"].to_str().unwrap().to_owned();
    assert!(state.starts_with("\"login\";r=0;t="), "{state}");
    let body = json(answer).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    // Signing up and everything else have their own allowances.
    let register = json!({"email": "b@example.com", "name": "B", "password": "long enough pw"});
    let answer = gateway
        .client
        .post_json("/api/users/register", &register)
        .await;
    assert!(!refused(&answer));
    assert!(!refused(&gateway.client.get("/api/products").await));

    let metrics = gateway.client.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        sample(&metrics, "rate_limited_total", &["route=\"login\""]),
        Some(1),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "rate_limited_total", &["route=\"api\""]),
        Some(0)
    );
}

#[tokio::test]
async fn each_user_and_each_anonymous_address_has_its_own_allowance() {
    let gateway = gateway(
        [None, None, None, None, None],
        &[
            // One a minute once the burst is spent: the test never waits one out by accident.
            "--rate-limit-per-second=0.0166".to_owned(),
            "--rate-limit-burst=3".to_owned(),
        ],
    )
    .await;
    let alice = auth::token(31, Role::Customer);
    let bob = auth::token(32, Role::Customer);
    for _ in 0..3 {
        assert!(!refused(
            &gateway.client.get_as("/api/orders", &alice).await
        ));
    }
    let answer = gateway.client.get_as("/api/orders", &alice).await;
    assert!(refused(&answer));
    assert!(answer.headers().contains_key("retry-after"));
    // Bob is not Alice; an anonymous caller is its address.
    assert!(!refused(&gateway.client.get_as("/api/orders", &bob).await));
    for _ in 0..3 {
        assert!(!refused(&gateway.client.get("/api/products").await));
    }
    assert!(refused(&gateway.client.get("/api/products").await));
    // Storefront pages count against the same allowance as the API.
    assert!(refused(&gateway.client.get("/").await));
    // Alice may try again in about a minute, one request a minute.
    let wait: u64 = answer.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((50..=61).contains(&wait), "{wait}");
}

#[tokio::test]
async fn with_redis_cut_off_the_limits_hold_in_process() {
    let redis = TcpProxy::start("127.0.0.1:6379".parse().unwrap())
        .await
        .unwrap();
    let gateway = gateway(
        [None, None, None, None, None],
        &[
            "--rate-limit-per-second=0.0166".to_owned(),
            "--rate-limit-burst=3".to_owned(),
            format!("--redis-url=redis://{}/0", redis.addr()),
        ],
    )
    .await;
    let token = |id| auth::token(id, Role::Customer);
    let fallbacks = async || {
        let metrics = gateway.client.get("/metrics").await.text().await.unwrap();
        sample(&metrics, "rate_limiter_fallback_total", &[]).unwrap()
    };
    // Once connected, Redis counts: a check adds nothing to the fallback counter.
    let counted_in_redis = async |id| {
        let before = fallbacks().await;
        gateway.client.get_as("/api/orders", &token(id)).await;
        fallbacks().await == before
    };
    microshop_testkit::eventually("the gateway counts in Redis", async || {
        counted_in_redis(41).await
    })
    .await;

    redis.cut().await;
    let before = fallbacks().await;
    for _ in 0..3 {
        assert!(!refused(
            &gateway.client.get_as("/api/orders", &token(42)).await
        ));
    }
    assert!(
        refused(&gateway.client.get_as("/api/orders", &token(42)).await),
        "the in-process limiter holds the limit"
    );
    assert!(fallbacks().await >= before + 4);

    // Back: Redis counts again.
    redis.restore().await;
    microshop_testkit::eventually("Redis counts again", async || counted_in_redis(43).await).await;
}
