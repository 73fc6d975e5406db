//! Starting the product service for a test.

use clap::Parser;
use microshop_auth::Role;
use microshop_db::Db;
use microshop_events::Envelope;
use microshop_testkit::{Client, TestApp, TestBroker, amqp_url, auth, local_args};
use product_service::{Config, startup};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The service's configuration for tests: loopback, free port, the test's own topology and
/// Redis keys, then `extra` arguments.
pub fn test_config_with(broker: &TestBroker, extra: &[String]) -> Config {
    let mut args = local_args("product-service", 0);
    args.extend(broker.service_args(&amqp_url()));
    args.extend(auth::verifier_args());
    // The test's own Redis keys (its topology prefix is unique), expiring within minutes.
    args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
    args.push("--cache-ttl-s=120".to_owned());
    args.extend(extra.iter().cloned());
    Config::try_parse_from(args).expect("test configuration parses")
}

/// The service's configuration for tests: loopback, free port, the test's own topology.
pub fn test_config(broker: &TestBroker) -> Config {
    test_config_with(broker, &[])
}

/// One more product service (a replica) on `db` and `broker`'s topology, with `extra`
/// arguments (e.g. another `--redis-url`); the caller keeps `broker` alive longer.
pub async fn spawn_replica(db: Db, broker: &TestBroker, extra: &[String]) -> TestApp {
    let server = startup::build_with_db(test_config_with(broker, extra), db)
        .await
        .expect("product service starts");
    TestApp::start(server)
}

/// The product service on a free port, using `pool` (already migrated by `#[sqlx::test]`); its
/// private topology is deleted after the service stops.
pub async fn spawn_app(pool: PgPool) -> TestApp {
    let (broker, app) = spawn_app_with_broker(pool).await;
    app.holding(broker)
}

/// The product service on a free port, using `db` (e.g. one behind a fault proxy).
pub async fn spawn_app_on(db: Db) -> TestApp {
    let (broker, app) = spawn_on(db).await;
    app.holding(broker)
}

/// The test's handle on the service's private RabbitMQ topology, and the service. Bind them in
/// this order (`let (broker, app)`): the service then stops before the topology is deleted, and
/// cannot declare it again.
pub async fn spawn_app_with_broker(pool: PgPool) -> (TestBroker, TestApp) {
    spawn_on(microshop_testkit::db(&pool)).await
}

async fn spawn_on(db: Db) -> (TestBroker, TestApp) {
    let broker = TestBroker::new().await;
    let server = startup::build_with_db(test_config(&broker), db)
        .await
        .expect("product service starts");
    (broker, TestApp::start(server))
}

/// `app`'s client as an admin (product writes are for admins).
pub fn admin(app: &TestApp) -> Client {
    app.client.authorized(&auth::token(1, Role::Admin))
}

/// A valid product body, as in the seed walkthrough.
pub fn laptop() -> Value {
    json!({"name": "Laptop", "description": "14-inch, 16 GB", "price": 12999.0, "stock": 50})
}

/// How many products are stored.
pub async fn product_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from products")
        .fetch_one(pool)
        .await
        .expect("count products")
}

/// The events of type `wanted` the service published to `product.events` (read from the order
/// service's queue of the test's topology), waiting until `count` arrived; other types are
/// skipped. Fails if more than `count` arrive.
pub async fn published(broker: &TestBroker, wanted: &str, count: usize) -> Vec<Envelope> {
    let mut events = Vec::new();
    microshop_testkit::eventually(&format!("{count} {wanted} events"), async || {
        drain(broker, wanted, &mut events).await;
        events.len() >= count
    })
    .await;
    // Anything more would be published by now too: the relay sends in commit order.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drain(broker, wanted, &mut events).await;
    assert_eq!(events.len(), count, "{wanted}: {events:?}");
    events
}

async fn drain(broker: &TestBroker, wanted: &str, events: &mut Vec<Envelope>) {
    let queue = broker.topology.order_product_events();
    while let Some(message) = broker.take(&queue).await {
        let envelope =
            Envelope::from_json(&message.delivery.data).expect("the service publishes events");
        if envelope.event.type_name() == wanted {
            events.push(envelope);
        }
    }
}

/// `app`'s client as customer `user_id`.
pub fn customer(app: &TestApp, user_id: i64) -> Client {
    app.client.authorized(&auth::token(user_id, Role::Customer))
}

/// How many reviews are stored.
pub async fn review_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from reviews")
        .fetch_one(pool)
        .await
        .expect("count reviews")
}

/// Product `id`'s rating totals: `(rating_sum, rating_count, rating_average as text)`.
pub async fn rating_totals(pool: &PgPool, id: i64) -> (i64, i64, Option<String>) {
    sqlx::query_as(
        "select rating_sum, rating_count, rating_average::text from products where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("read rating totals")
}

/// The value of the counter sample of `/metrics` whose line starts with `name` and holds every
/// one of `labels` (e.g. `outcome="fulfilled"`); 0 when there is none.
pub async fn metric(app: &TestApp, name: &str, labels: &[&str]) -> u64 {
    let text = app
        .client
        .get("/metrics")
        .await
        .text()
        .await
        .expect("metrics arrive");
    text.lines()
        .filter(|line| line.starts_with(name) && labels.iter().all(|l| line.contains(l)))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// `method path` (with `body` as JSON, if any) as the order service, with its service key.
pub async fn as_service(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .http()
        .request(method, format!("{}{path}", app.client.base_url()))
        .header(
            "X-Service-Key",
            microshop_testkit::auth::service_key("order-service"),
        );
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("service under test answers")
}

/// A product with `stock` available units and a low-stock `threshold`.
pub async fn product_with_threshold(pool: &PgPool, stock: i64, threshold: i64) -> i64 {
    sqlx::query_scalar(
        "insert into products (name, price_cents, stock, low_stock_threshold)
         values ('Gadget', 1000, $1, $2) returning id",
    )
    .bind(stock)
    .bind(threshold)
    .fetch_one(pool)
    .await
    .expect("insert a product")
}

/// How many manual stock moves are stored.
pub async fn move_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from inventory_moves")
        .fetch_one(pool)
        .await
        .expect("count moves")
}
