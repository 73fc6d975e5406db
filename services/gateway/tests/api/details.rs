//! `GET /api/v1/orders/{id}/details` over real product, order and payment services, each behind
//! a TCP proxy the test cuts in turn: the answer stays 200 and names what it could not fetch; a
//! silent service is left out at the part deadline; ownership and tokens are the services'.

use std::time::{Duration, Instant};

use clap::Parser;
use microshop_auth::Role;
use microshop_testkit::{
    TcpProxy, TestApp, TestDatabase, amqp_url, auth, eventually_some, json, local_args,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::{gateway, nowhere, product_service};

fn url_of(proxy: &TcpProxy) -> String {
    format!("http://{}", proxy.addr())
}

async fn proxy_to(app: &TestApp) -> TcpProxy {
    let addr = app
        .client
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    TcpProxy::start(addr).await.unwrap()
}

#[sqlx::test]
async fn an_order_with_its_parts_and_each_missing_part_named(pool: PgPool) {
    let (products, _product_db, broker) = product_service(&pool).await;
    let order_db = TestDatabase::create(&pool, "orders", &order_service::startup::MIGRATOR).await;
    let payment_db =
        TestDatabase::create(&pool, "payments", &payment_service::startup::MIGRATOR).await;
    let payments_port = crate::closed_port();
    let payments_url = format!("http://127.0.0.1:{payments_port}");

    let mut args = local_args("order-service", 0);
    args.extend([
        format!("--product-service-url={}", products.client.base_url()),
        format!("--payment-service-url={payments_url}"),
    ]);
    args.extend(auth::verifier_args());
    args.extend(auth::caller_args("order-service"));
    args.extend(broker.service_args(&amqp_url()));
    args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
    let config = order_service::Config::try_parse_from(args).unwrap();
    let orders = TestApp::start(
        order_service::startup::build_with_db(config, order_db.db())
            .await
            .unwrap(),
    );
    let mut args = local_args("payment-service", payments_port);
    args.extend([
        format!("--order-service-url={}", orders.client.base_url()),
        format!("--provider-url={}", nowhere()),
        format!("--provider-api-key={}", auth::PROVIDER_API_KEY),
        format!("--webhook-secrets={}", auth::WEBHOOK_SECRET),
    ]);
    args.extend(auth::verifier_args());
    args.extend(auth::caller_args("payment-service"));
    args.extend(broker.service_args(&amqp_url()));
    let config = payment_service::Config::try_parse_from(args).unwrap();
    let payments = TestApp::start(
        payment_service::startup::build_with_db(config, payment_db.db())
            .await
            .unwrap(),
    );

    let (product_proxy, order_proxy, payment_proxy) = (
        proxy_to(&products).await,
        proxy_to(&orders).await,
        proxy_to(&payments).await,
    );
    let gateway = gateway(
        [
            None,
            Some(url_of(&product_proxy)),
            Some(url_of(&order_proxy)),
            Some(url_of(&payment_proxy)),
            None,
        ],
        &["--details-part-timeout=500ms".to_owned()],
    )
    .await;

    // A confirmed order (the seed's shape: one product, no address).
    let admin = auth::token(1, Role::Admin);
    let body = json!({"name": "Teapot", "price": 10, "stock": 10});
    let created = gateway
        .client
        .post_json_as("/api/products", &body, &admin)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let product = json(created).await["id"].as_i64().unwrap();
    let buyer = auth::token(501, Role::Customer);
    let body = json!({"product_id": product, "quantity": 2});
    let placed = gateway
        .client
        .post_json_as("/api/orders", &body, &buyer)
        .await;
    assert_eq!(
        placed.status(),
        StatusCode::CREATED,
        "{}",
        json(placed).await
    );
    let order = json(placed).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/orders/{order}/details");
    let details = async || json(gateway.client.get_as(&path, &buyer).await).await;
    let whole = eventually_some("the order is confirmed", async || {
        let details = details().await;
        (details["order"]["status"] == "CONFIRMED").then_some(details)
    })
    .await;
    assert_eq!(whole["degraded"], json!([]), "{whole}");
    assert_eq!(whole["order"]["id"], order);
    let names: Vec<&Value> = whole["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, [&json!("Teapot")]);
    assert_eq!(
        whole["payment"],
        Value::Null,
        "not paid yet: no payment, not degraded"
    );
    assert!(
        whole["timeline"].as_array().is_some_and(|t| !t.is_empty()),
        "{whole}"
    );

    // Each service cut in turn: 200, its parts null and named.
    let cases: [(&TcpProxy, &[&str]); 3] = [
        (&payment_proxy, &["payment"]),
        (&product_proxy, &["products"]),
        (&order_proxy, &["order", "timeline", "products"]),
    ];
    for (proxy, parts) in cases {
        proxy.cut().await;
        let answer = gateway.client.get_as(&path, &buyer).await;
        assert_eq!(answer.status(), StatusCode::OK);
        let body = json(answer).await;
        let mut degraded: Vec<&str> = body["degraded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        degraded.sort_unstable();
        let mut expected = parts.to_vec();
        expected.sort_unstable();
        assert_eq!(degraded, expected, "{body}");
        for part in parts {
            let key = if *part == "products" && !parts.contains(&"order") {
                // The order is there: each line's product is null.
                assert!(
                    body["products"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(Value::is_null)
                );
                continue;
            } else {
                part
            };
            assert_eq!(body[key], Value::Null, "{part}: {body}");
        }
        proxy.restore().await;
    }

    // Another customer's order, and no token: the services' and the edge's answers.
    let stranger = auth::token(502, Role::Customer);
    let answer = gateway.client.get_as(&path, &stranger).await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        gateway.client.get(&path).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let answer = gateway
        .client
        .get_as("/api/v1/orders/abc/details", &buyer)
        .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    drop((orders, payments));
}

#[tokio::test]
async fn a_silent_part_is_left_out_at_the_part_deadline() {
    // A "payment service" that accepts and never answers, and no order service: every part is
    // missing, and the answer comes at the part deadline, not the upstream's.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let gateway = gateway(
        [None, None, None, Some(silent), None],
        &["--details-part-timeout=300ms".to_owned()],
    )
    .await;
    let started = Instant::now();
    let answer = gateway
        .client
        .get_as("/api/v1/orders/5/details", &auth::token(7, Role::Customer))
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer.status(), StatusCode::OK);
    let body = json(answer).await;
    assert_eq!(body["order"], Value::Null);
    let degraded = body["degraded"].as_array().unwrap();
    for part in ["order", "timeline", "payment", "products"] {
        assert!(degraded.contains(&json!(part)), "{body}");
    }
}
