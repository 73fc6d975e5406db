//! The cart while Redis is away: every cart route answers 503 `cart_unavailable` with
//! `Retry-After` within its bound, while orders, health and the rest go on; the cart is back
//! as it was when Redis is.

use std::time::{Duration, Instant};

use microshop_testkit::{TcpProxy, checks, eventually_within, json};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::cart::client::{add, buyer, cart, lines, product, remove, set};
use crate::helpers::{Options, Shop, metric_sum};

#[sqlx::test]
async fn with_redis_cut_off_cart_routes_answer_503_while_orders_go_on(pool: PgPool) {
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap())
        .await
        .expect("the proxy starts");
    let redis_url = format!("--redis-url=redis://{}/0", proxy.addr());
    let options = Options {
        order_args: &[redis_url.as_str()],
        ..Options::default()
    };
    let shop = Shop::start_with(pool, options).await;
    let user = shop.user("ann");
    let ann = buyer(&shop, user);
    let mouse = product(&shop, "Mouse", 19.99, 30).await;
    eventually_within(
        "the service reaches Redis",
        Duration::from_secs(10),
        async || {
            let response = add(&ann, mouse, 2).await;
            (response.status() == StatusCode::CREATED).then_some(())
        },
    )
    .await;
    let before = cart(&ann).await;
    let unavailable_before = unavailable(&shop).await;

    proxy.cut().await;
    let started = Instant::now();
    let body = json!({"product_id": mouse, "quantity": 1});
    let quantity = json!({"quantity": 1});
    let path = format!("/api/cart/items/{mouse}");
    let calls = [
        ann.send_as(Method::GET, "/api/cart", None, None).await,
        ann.send_as(Method::POST, "/api/cart/items", None, Some(&body))
            .await,
        ann.send_as(Method::PUT, &path, None, Some(&quantity)).await,
        ann.send_as(Method::DELETE, &path, None, None).await,
        ann.send_as(Method::DELETE, "/api/cart", None, None).await,
    ];
    for response in calls {
        let case = format!("{} {}", response.status(), response.url().path());
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("1"),
            "{case}"
        );
        let error = checks::assert_error(response, StatusCode::SERVICE_UNAVAILABLE, &case).await;
        assert_eq!(error["error"]["code"], "cart_unavailable", "{case}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "each Redis call is bounded: {:?}",
        started.elapsed()
    );

    // Everything else is unaffected.
    let order = shop.order(user, mouse, 1).await;
    assert_eq!(order.status(), StatusCode::CREATED);
    let ready = shop.orders.client.get("/health/ready").await;
    assert_eq!(
        ready.status(),
        StatusCode::OK,
        "Redis does not fail readiness"
    );
    assert_eq!(
        unavailable(&shop).await - unavailable_before,
        5,
        "each refused call is counted"
    );

    proxy.restore().await;
    let back = eventually_within(
        "the cart answers again",
        Duration::from_secs(15),
        async || {
            let response = ann.get("/api/cart").await;
            if response.status() == StatusCode::OK {
                Some(json(response).await)
            } else {
                None
            }
        },
    )
    .await;
    // As it was (the order took a unit of stock meanwhile, which the line shows).
    assert_eq!(lines(&back), lines(&before));
    assert_eq!(back["updated_at"], before["updated_at"]);
    assert_eq!(set(&ann, mouse, 5).await.status(), StatusCode::OK);
    assert_eq!(lines(&cart(&ann).await), [(mouse, 5)]);
    assert_eq!(remove(&ann, mouse).await.status(), StatusCode::OK);
}

#[sqlx::test]
async fn the_order_service_starts_and_is_ready_without_redis(pool: PgPool) {
    // Nothing listens there: the service must start, be ready, take orders, and answer 503
    // on the cart routes only.
    let options = Options {
        order_args: &["--redis-url=redis://127.0.0.1:1/0"],
        ..Options::default()
    };
    let shop = Shop::start_with(pool, options).await;
    let user = shop.user("ann");
    let mouse = product(&shop, "Mouse", 19.99, 30).await;
    let ready = shop.orders.client.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        shop.order(user, mouse, 1).await.status(),
        StatusCode::CREATED
    );
    let response = buyer(&shop, user).get("/api/cart").await;
    assert!(response.headers().contains_key("retry-after"));
    let error = checks::assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "no Redis").await;
    assert_eq!(error["error"]["code"], "cart_unavailable");
}

/// `cart_requests_total{outcome="unavailable"}` summed over the operations.
async fn unavailable(shop: &Shop) -> u64 {
    metric_sum(shop, "cart_requests_total", "outcome=\"unavailable\"").await
}
