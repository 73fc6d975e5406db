//! The gateway in front of a real product service (PostgreSQL, RabbitMQ): requests reach their
//! owner and come back as the service answered them; paths nobody owns, internal routes and an
//! unreachable service get clear JSON errors.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use clap::Parser;
use microshop_auth::Role;
use microshop_testkit::{TestApp, TestBroker, TestDatabase, amqp_url, auth, json, local_args};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

mod details;
mod edge;
mod faults;
mod limits;

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// `http://127.0.0.1:<a closed port>`.
pub fn nowhere() -> String {
    format!("http://127.0.0.1:{}", closed_port())
}

/// A gateway whose upstreams are at `urls` (user, product, order, payment, notification; a
/// closed port where `None`), with `extra` arguments, its Redis keys under a prefix of its own.
pub async fn gateway(urls: [Option<String>; 5], extra: &[String]) -> TestApp {
    let [users, products, orders, payments, notifications] =
        urls.map(|u| u.unwrap_or_else(nowhere));
    let mut args = local_args("gateway", 0);
    args.extend([
        format!("--user-service-url={users}"),
        format!("--product-service-url={products}"),
        format!("--order-service-url={orders}"),
        format!("--payment-service-url={payments}"),
        format!("--notification-service-url={notifications}"),
        format!("--redis-key-prefix=gateway-test-{}:", uuid::Uuid::new_v4()),
    ]);
    if !extra
        .iter()
        .any(|arg| arg.starts_with("--upstream-timeout"))
    {
        args.push("--upstream-timeout=2s".to_owned());
    }
    args.extend(auth::verifier_args());
    args.extend(extra.iter().cloned());
    let config = gateway::Config::try_parse_from(args).unwrap();
    TestApp::start(gateway::startup::build(&config).await.unwrap())
}

/// A product service on the database and broker of this test.
pub async fn product_service(pool: &PgPool) -> (TestApp, TestDatabase, TestBroker) {
    let broker = TestBroker::new().await;
    let db = TestDatabase::create(pool, "products", &product_service::startup::MIGRATOR).await;
    let mut args = local_args("product-service", 0);
    args.extend(broker.service_args(&amqp_url()));
    args.extend(auth::verifier_args());
    args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
    let config = product_service::Config::try_parse_from(args).unwrap();
    let products = TestApp::start(
        product_service::startup::build_with_db(config, db.db())
            .await
            .unwrap(),
    );
    (products, db, broker)
}

/// A product service and the gateway in front of it; the other services are unreachable.
async fn start(pool: &PgPool) -> (TestApp, TestApp, TestDatabase, TestBroker) {
    let (products, db, broker) = product_service(pool).await;
    let urls = [
        None,
        Some(products.client.base_url().to_owned()),
        None,
        None,
        None,
    ];
    let gateway = gateway(urls, &[]).await;
    (gateway, products, db, broker)
}

/// The value of the sample of `metrics` whose line starts with `name` and contains every one of
/// `labels`.
pub fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<i64> {
    metrics
        .lines()
        .filter(|line| line.starts_with(name) && labels.iter().all(|l| line.contains(l)))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

#[sqlx::test]
async fn requests_reach_their_owner_and_come_back_as_it_answered(pool: PgPool) {
    let (gateway, products, _db, _broker) = start(&pool).await;
    let admin = auth::token(1, Role::Admin);

    // A write with a body and a token, through the gateway.
    let body = json!({"name": "Kettle", "price": 39.5, "stock": 12});
    let created = gateway
        .client
        .post_json_as("/api/products", &body, &admin)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = json(created).await["id"].as_i64().unwrap();

    // A read with a query: the same answer as the service gives directly.
    let path = format!("/api/products/{id}");
    let direct = json(products.client.get(&path).await).await;
    let through = gateway.client.get(&path).await;
    assert_eq!(through.status(), StatusCode::OK);
    assert_eq!(json(through).await, direct);
    let listed = json(gateway.client.get("/api/products?q=kettle&limit=5").await).await;
    assert_eq!(listed[0]["id"], id, "{listed}");

    // The seed's /api/v1 paths reach the same routes.
    let v1 = gateway.client.get(&format!("/api/v1/products/{id}")).await;
    assert_eq!(v1.status(), StatusCode::OK);
    assert_eq!(json(v1).await, direct);
    let v1_list = json(gateway.client.get("/api/v1/products?limit=5").await).await;
    assert_eq!(v1_list[0]["id"], id, "{v1_list}");

    // The service's refusals pass through unchanged (401 without a token, 404 for no product).
    let refused = gateway.client.post_json("/api/products", &body).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let missing = gateway.client.get("/api/products/999999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(missing).await["error"]["code"], "product_not_found");

    // The caller's request id travels to the service and back.
    let answer = gateway
        .client
        .http()
        .get(format!("{}{path}", gateway.client.base_url()))
        .header("x-request-id", "gateway-test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "gateway-test-42");
}

#[sqlx::test]
async fn paths_nobody_owns_internal_routes_and_a_down_service_are_clear_errors(pool: PgPool) {
    let (gateway, _products, _db, _broker) = start(&pool).await;
    let admin = auth::token(1, Role::Admin);
    for path in ["/api/nothing", "/api/productsX", "/api/v1/nothing"] {
        let answer = gateway.client.get_as(path, &admin).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(json(answer).await["error"]["code"].is_string(), "{path}");
    }
    // The services' internal routes are not the gateway's: a browser gets the storefront's
    // "not found" page.
    for path in ["/internal/products/1", "/nowhere"] {
        let answer = gateway.client.get_as(path, &admin).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The order service is not running: 503 with Retry-After, never a bare error.
    let answer = gateway
        .client
        .get_as("/api/orders", &auth::token(7, Role::Customer))
        .await;
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers()["retry-after"], "1");
    let body = json(answer).await;
    assert_eq!(body["error"]["code"], "upstream_unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("order-service")
    );
    let metrics = gateway.client.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("upstream_requests_total")
                && l.contains("order-service")
                && l.contains("unavailable")
                && l.ends_with(" 1")),
        "{metrics}"
    );
}

#[sqlx::test]
async fn public_reads_are_kept_for_a_second_and_nothing_personal_is(pool: PgPool) {
    let (gateway, _products, _db, _broker) = start(&pool).await;
    let admin = auth::token(1, Role::Admin);
    let body = json!({"name": "Vase", "price": 15, "stock": 4});
    let created = gateway
        .client
        .post_json_as("/api/products", &body, &admin)
        .await;
    let id = json(created).await["id"].as_i64().unwrap();
    let path = format!("/api/products/{id}");
    let get = |request_id: &'static str| {
        gateway
            .client
            .http()
            .get(format!("{}{path}", gateway.client.base_url()))
            .header("x-request-id", request_id)
            .send()
    };
    let hits = async || {
        let metrics = gateway.client.get("/metrics").await.text().await.unwrap();
        sample(
            &metrics,
            "cache_requests_total",
            &["gateway", "outcome=\"hit\""],
        )
        .unwrap()
    };
    let first = get("first").await.unwrap();
    assert_eq!(first.headers()["cache-control"], "public, max-age=1");
    assert!(!first.headers().contains_key("age"));
    let stock = json(first).await["stock"].clone();
    // Within the second: from the gateway's memory, with this request's own id.
    let second = get("second").await.unwrap();
    assert!(
        second.headers().contains_key("age"),
        "{:?}",
        second.headers()
    );
    assert_eq!(second.headers()["x-request-id"], "second");
    assert_eq!(json(second).await["stock"], stock);
    assert_eq!(hits().await, 1);

    // An admin's change is seen at once by the admin (signed in: never from the cache) and by
    // everyone within the second.
    let changed = gateway
        .client
        .http()
        .patch(format!("{}{path}", gateway.client.base_url()))
        .bearer_auth(&admin)
        .json(&json!({"stock": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let mine = json(gateway.client.get_as(&path, &admin).await).await;
    assert_eq!(mine["stock"], 9);
    assert_eq!(
        hits().await,
        1,
        "a signed-in read is never answered from the cache"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let anyone = json(get("third").await.unwrap()).await;
    assert_eq!(anyone["stock"], 9);
}
