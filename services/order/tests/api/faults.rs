//! The order service while its dependencies fail.

use std::time::Duration;

use microshop_testkit::{
    TcpProxy, amqp_url, checks, eventually, eventually_some, eventually_within, json,
};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{Options, Shop, customer};

#[sqlx::test]
async fn with_the_product_service_down_orders_get_503_then_the_breaker_opens_and_recovers(
    pool: PgPool,
) {
    // A one-second cool-down keeps the test short; the default is three.
    let options = Options {
        order_args: &["--breaker-cool-down-ms", "1000"],
        ..Options::default()
    };
    let mut shop = Shop::start_with(pool, options).await;
    let user = shop.user("dora");
    let product = shop.product(50).await;

    shop.stop_products();
    let mut last = None;
    for _ in 0..6 {
        let response = shop.order(user, product, 1).await;
        assert!(response.headers().contains_key("retry-after"));
        last = Some(
            checks::assert_error(
                response,
                StatusCode::SERVICE_UNAVAILABLE,
                "product service down",
            )
            .await,
        );
    }
    assert_eq!(last.unwrap()["error"]["code"], "upstream_unavailable");
    let metrics = shop
        .orders
        .client
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"circuit_breaker_state{upstream="product-service",service="order-service"} 1"#
        ),
        "{metrics}"
    );

    shop.restart_products().await;
    let order = eventually_within(
        "orders succeed again within 5 s of the product service returning",
        Duration::from_secs(5),
        async || {
            let response = shop.order(user, product, 1).await;
            if response.status() == StatusCode::CREATED {
                Some(json(response).await)
            } else {
                None
            }
        },
    )
    .await;
    assert_eq!(
        shop.settled(order["id"].as_i64().unwrap()).await["status"],
        "CONFIRMED"
    );
}

#[sqlx::test]
async fn a_probe_whose_client_gives_up_does_not_keep_the_breaker_shut(pool: PgPool) {
    let options = Options {
        order_args: &["--breaker-cool-down-ms", "1000"],
        ..Options::default()
    };
    let mut shop = Shop::start_with(pool, options).await;
    let user = shop.user("probe");
    let product = shop.product(50).await;
    shop.stop_products();
    for _ in 0..6 {
        shop.order(user, product, 1).await;
    }
    // Where the product service was, something that accepts connections and never answers.
    let hole = eventually_some("the product service's port is free", async || {
        tokio::net::TcpListener::bind(("127.0.0.1", shop.product_port))
            .await
            .ok()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    // After the cool-down this order is the breaker's probe; its client gives up and leaves.
    let url = format!("{}/api/orders", shop.orders.client.base_url());
    let body = serde_json::json!({"product_id": product, "quantity": 1});
    let gave_up = shop
        .orders
        .client
        .http()
        .post(&url)
        .bearer_auth(customer(user))
        .json(&body)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(gave_up.is_err(), "the probe hangs: {gave_up:?}");

    drop(hole);
    shop.restart_products().await;
    // The abandoned probe freed its slot: the next order probes, and succeeds.
    let response = shop.order(user, product, 1).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        json(response).await
    );
}

#[sqlx::test]
async fn orders_taken_while_the_broker_is_unreachable_are_all_confirmed_when_it_returns(
    pool: PgPool,
) {
    let proxy = TcpProxy::start(rabbitmq_addr()).await.unwrap();
    let proxied = amqp_url().replace("127.0.0.1:5672", &proxy.addr().to_string());
    let options = Options {
        order_amqp_url: Some(proxied),
        ..Options::default()
    };
    let shop = Shop::start_with(pool, options).await;
    let user = shop.user("offline");
    let product = shop.product(20).await;
    proxy.cut().await;

    let mut ids = Vec::new();
    for _ in 0..8 {
        let response = shop.order(user, product, 1).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "orders are accepted without the broker"
        );
        ids.push(json(response).await["id"].as_i64().unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        let order = json(shop.get(&format!("/api/orders/{id}")).await).await;
        assert_eq!(
            order["status"], "PENDING",
            "nothing can be confirmed while the broker is away"
        );
    }

    proxy.restore().await;
    // The relay and the consumer reconnect with a backoff of up to seconds each.
    for id in ids {
        let settled = shop.settled_within(id, Duration::from_secs(30)).await;
        assert_eq!(settled["status"], "CONFIRMED");
    }
    assert_eq!(
        shop.stock(product).await,
        12,
        "each order took its unit once"
    );
}

#[sqlx::test]
async fn orders_posted_while_their_queue_is_gone_wait_in_the_outbox_and_are_all_confirmed(
    pool: PgPool,
) {
    // No product consumer yet: nothing but the order service's relay can bring the queue back.
    let options = Options {
        order_args: &["--order-reservation-timeout", "2s"],
        product_args: &["--amqp-consume", "false"],
        ..Options::default()
    };
    let shop = Shop::start_with(pool, options).await;
    let user = shop.user("gap");
    let product = shop.product(10).await;
    let queue = shop.broker.topology.product_order_events();
    let first = json(shop.order(user, product, 1).await).await["id"]
        .as_i64()
        .unwrap();
    eventually("the first order's event is queued", async || {
        shop.broker.depth(&queue).await == 1
    })
    .await;

    // The queue goes, and the first order's event with it; so does the payment service's queue
    // of order events, the other one bound to order.events (else the events stay routable).
    shop.broker
        .delete_queues_bound_to(&shop.broker.topology.order_events())
        .await;
    let mut ids = vec![first];
    for _ in 0..5 {
        let response = shop.order(user, product, 1).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(json(response).await["id"].as_i64().unwrap());
    }

    // Their publish came back unroutable and kept the rows; the relay's next channel declared
    // the queue again, and the rows went out.
    eventually("the returned events are counted", async || {
        shop.orders
            .client
            .get("/metrics")
            .await
            .text()
            .await
            .unwrap()
            .lines()
            .any(|line| {
                line.starts_with("outbox_undelivered_total{reason=\"unroutable\"")
                    && !line.ends_with(" 0")
            })
    })
    .await;
    eventually("every kept event reaches the queue", async || {
        shop.broker.depth_if_declared(&queue).await == Some(5)
    })
    .await;
    let _worker = shop.start_product_worker().await;
    // The first order's event was lost with the queue: it is sent again after the timeout.
    for id in ids {
        assert_eq!(shop.settled(id).await["status"], "CONFIRMED", "order {id}");
    }
    assert_eq!(
        shop.stock(product).await,
        4,
        "each order took its unit once"
    );
    let outbox: i64 = sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(&shop.order_pool)
        .await
        .unwrap();
    assert_eq!(outbox, 0);
}

#[sqlx::test]
async fn orders_wait_while_no_product_consumer_runs_for_over_a_minute_then_all_apply(pool: PgPool) {
    let options = Options {
        product_args: &["--amqp-consume", "false"],
        ..Options::default()
    };
    let shop = Shop::start_with(pool, options).await;
    let user = shop.user("patient");
    let product = shop.product(5).await;

    let mut ids = Vec::new();
    for _ in 0..7 {
        let response = shop.order(user, product, 1).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(json(response).await["id"].as_i64().unwrap());
    }
    // Longer than a minute with nobody consuming: nothing may expire or be dropped.
    tokio::time::sleep(Duration::from_secs(65)).await;
    let pending: i64 = sqlx::query_scalar("select count(*) from orders where status = 'PENDING'")
        .fetch_one(&shop.order_pool)
        .await
        .unwrap();
    assert_eq!(pending, 7);

    let _worker = shop.start_product_worker().await;
    let statuses = shop.settled_statuses().await;
    assert_eq!(
        statuses,
        [("CONFIRMED".to_owned(), 5), ("REJECTED".to_owned(), 2)]
    );
    assert_eq!(shop.stock(product).await, 0);
}

fn rabbitmq_addr() -> std::net::SocketAddr {
    "127.0.0.1:5672".parse().unwrap()
}

#[sqlx::test]
async fn the_order_service_binary_works_over_tls_to_its_database_and_rabbitmq(pool: PgPool) {
    let rabbitmq = microshop_testkit::tls::TlsProxy::start(rabbitmq_addr()).await;
    microshop_testkit::scenarios::assert_works_over_tls(
        env!("CARGO_BIN_EXE_order-service"),
        &pool,
        Some(&rabbitmq),
    )
    .await;
}
