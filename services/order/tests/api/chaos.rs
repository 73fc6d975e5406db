//! Chaos: the order and product services run as real processes, reaching RabbitMQ through a proxy
//! the test owns, while buyers place orders of one to three lines, cancel some, pay some and leave
//! the rest unpaid for the payment timeout. Meanwhile the broker goes away and comes back, and
//! each service is killed with SIGKILL and started again. Afterwards: no order answered 201 is
//! lost, none is doubled, none is left PENDING or CONFIRMED once the timeouts pass, and every
//! product's stock equals its initial stock minus the units of the orders that were paid and not
//! cancelled.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use microshop_testkit::{ServiceProcess, TcpProxy, TestBroker, TestDatabase, eventually_within};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{ConnectOptions, PgPool};
use tokio::sync::Mutex;

use crate::helpers::{admin, customer};

const PRODUCTS: i64 = 5;
const INITIAL_STOCK: i64 = 150;
const BUYERS: i64 = 12;

/// The two services and what they need, restartable.
struct Processes {
    order_db_url: String,
    product_db_url: String,
    amqp_url: String,
    prefix: String,
    products: Option<ServiceProcess>,
    orders: Option<ServiceProcess>,
    users: Option<ServiceProcess>,
    product_url: String,
    order_url: String,
    user_url: String,
}

impl Processes {
    async fn start_products(&mut self, port: u16) {
        let binary = sibling_binary("product-service");
        let port = port.to_string();
        let envs = [
            ("DATABASE_URL", self.product_db_url.as_str()),
            ("AMQP_URL", self.amqp_url.as_str()),
            ("AMQP_TOPOLOGY_PREFIX", self.prefix.as_str()),
            ("HTTP_PORT", port.as_str()),
        ];
        let process = ServiceProcess::spawn(&binary, &envs).await;
        self.product_url = process.base_url();
        self.products = Some(process);
    }

    async fn start_users(&mut self, db_url: &str) {
        let binary = sibling_binary("user-service");
        let envs = [
            ("DATABASE_URL", db_url),
            ("AMQP_URL", self.amqp_url.as_str()),
            ("AMQP_TOPOLOGY_PREFIX", self.prefix.as_str()),
        ];
        let process = ServiceProcess::spawn(&binary, &envs).await;
        self.user_url = process.base_url();
        self.users = Some(process);
    }

    async fn start_orders(&mut self, port: u16) {
        let port = port.to_string();
        let envs = [
            ("DATABASE_URL", self.order_db_url.as_str()),
            ("AMQP_URL", self.amqp_url.as_str()),
            ("AMQP_TOPOLOGY_PREFIX", self.prefix.as_str()),
            ("PRODUCT_SERVICE_URL", self.product_url.as_str()),
            ("USER_SERVICE_URL", self.user_url.as_str()),
            ("ORDER_PAYMENT_TIMEOUT", "2s"),
            ("ORDER_RESERVATION_TIMEOUT", "3s"),
            ("MAX_OPEN_ORDERS_PER_USER", "1000"),
            ("HTTP_PORT", port.as_str()),
        ];
        let process = ServiceProcess::spawn(env!("CARGO_BIN_EXE_order-service"), &envs).await;
        self.order_url = process.base_url();
        self.orders = Some(process);
    }
}

/// Another service's binary, built beside this one (`make test` builds every binary).
fn sibling_binary(name: &str) -> String {
    let path = Path::new(env!("CARGO_BIN_EXE_order-service")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --bins` (make test does) before this test",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// What a buyer does with an order once it is placed.
#[derive(Debug, Clone, Copy)]
enum Fate {
    Pay,
    Cancel,
    LeaveUnpaid,
}

/// Orders answered 201, with the lines asked for.
type Placed = Arc<Mutex<HashMap<i64, Vec<(i64, i64)>>>>;

#[sqlx::test]
async fn orders_survive_broker_outages_and_killed_services_with_nothing_lost_doubled_or_stuck(
    pool: PgPool,
) {
    let broker = TestBroker::new().await;
    let amqp_upstream = "127.0.0.1:5672".parse().unwrap();
    let amqp_proxy = TcpProxy::start(amqp_upstream).await.unwrap();
    let product_db =
        TestDatabase::create(&pool, "products", &product_service::startup::MIGRATOR).await;
    let mut processes = Processes {
        order_db_url: pool.connect_options().to_url_lossy().to_string(),
        product_db_url: product_db.url(),
        amqp_url: format!("amqp://guest:guest@{}/%2f", amqp_proxy.addr()),
        prefix: broker.topology.prefix().to_owned(),
        products: None,
        orders: None,
        users: None,
        product_url: String::new(),
        order_url: String::new(),
        user_url: String::new(),
    };
    let user_db = TestDatabase::create(&pool, "users", &user_service::startup::MIGRATOR).await;
    processes.start_users(&user_db.url()).await;
    processes.start_products(0).await;
    processes.start_orders(0).await;
    let product_port = port_of(&processes.product_url);
    let order_port = port_of(&processes.order_url);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let mut products = Vec::new();
    for (n, price) in [10.0, 11.0, 12.0, 13.0, 14.0].into_iter().enumerate() {
        let body = json!({"name": format!("Chaos {n}"), "price": price, "stock": INITIAL_STOCK});
        let response = http
            .post(format!("{}/api/products", processes.product_url))
            .bearer_auth(admin())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        products.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap(),
        );
    }

    let mut accounts = Vec::new();
    for n in 0..BUYERS {
        accounts.push(buyer_with_address(&http, &processes.user_url, n).await);
    }

    let placed: Placed = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let order_url = format!("http://127.0.0.1:{order_port}");
    let mut buyers = Vec::new();
    for (buyer, account) in (1..=BUYERS).zip(accounts) {
        let (http, placed, stop, products, url) = (
            http.clone(),
            Arc::clone(&placed),
            Arc::clone(&stop),
            products.clone(),
            order_url.clone(),
        );
        let broker_url = microshop_testkit::amqp_url();
        let prefix = broker.topology.prefix().to_owned();
        buyers.push(tokio::spawn(async move {
            let payer = microshop_messaging::Broker::new(
                secrecy::SecretString::from(broker_url),
                "chaos-payments",
            );
            let topology = microshop_events::Topology::temporary(prefix);
            let mut n = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let lines: Vec<(i64, i64)> = (0..=(n + buyer) % 3)
                    .map(|k| {
                        let product =
                            products[usize::try_from((buyer + n + k) % PRODUCTS).unwrap()];
                        (product, 1 + (n + k) % 3)
                    })
                    .collect();
                let fate = match (n + buyer) % 3 {
                    0 => Fate::Pay,
                    1 => Fate::Cancel,
                    _ => Fate::LeaveUnpaid,
                };
                let key = format!("chaos-{buyer}-{n}");
                let Some(id) = place(&http, &url, account, &lines, &key).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                placed.lock().await.insert(id, lines);
                settle(&http, &url, account.0, id, fate, &payer, &topology).await;
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
        }));
    }

    // Faults while the buyers buy.
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    amqp_proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    amqp_proxy.restore().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    processes.products.as_mut().unwrap().kill().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    processes.start_products(product_port).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    processes.orders.as_mut().unwrap().kill().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    processes.start_orders(order_port).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);
    for buyer in buyers {
        buyer.await.unwrap();
    }
    let placed = placed.lock().await.clone();
    assert!(
        placed.len() > 50,
        "the buyers placed only {} orders in {:?}",
        placed.len(),
        started.elapsed()
    );

    // Every order ends once the timeouts pass (payment 2 s, reservation 2 × 3 s).
    eventually_within(
        "no order is left PENDING or CONFIRMED",
        Duration::from_secs(60),
        async || {
            let open: i64 = sqlx::query_scalar(
                "select count(*) from orders where status in ('PENDING', 'CONFIRMED')",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            (open == 0).then_some(())
        },
    )
    .await;

    // Nothing lost, nothing doubled: every 201 is one order, and no order was made twice.
    let stored: Vec<(i64, String)> = sqlx::query_as("select id, status from orders")
        .fetch_all(&pool)
        .await
        .unwrap();
    let statuses: HashMap<i64, String> = stored.iter().cloned().collect();
    for id in placed.keys() {
        assert!(
            statuses.contains_key(id),
            "order {id} was answered 201 but is gone"
        );
    }
    let keys: i64 = sqlx::query_scalar("select count(*) from idempotency_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        keys,
        i64::try_from(stored.len()).unwrap(),
        "one order per idempotency key: a retry never made a second one"
    );

    // Stock: initial minus the units of the orders that were paid and not cancelled.
    let kept: Vec<(i64, i64)> = sqlx::query_as(
        "select i.product_id, sum(i.quantity)::bigint from order_items i
         join orders o on o.id = i.order_id where o.status = 'PAID' group by i.product_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let kept: HashMap<i64, i64> = kept.into_iter().collect();
    let product_pool = PgPool::connect(&product_db.url()).await.unwrap();
    eventually_within(
        "every product's stock matches the orders that stand",
        Duration::from_secs(30),
        async || {
            for &product in &products {
                let stock: i64 = sqlx::query_scalar("select stock from products where id = $1")
                    .bind(product)
                    .fetch_one(&product_pool)
                    .await
                    .unwrap();
                let expected = INITIAL_STOCK - kept.get(&product).copied().unwrap_or(0);
                if stock != expected {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    let mut by_status: HashMap<&str, usize> = HashMap::new();
    for status in statuses.values() {
        *by_status.entry(status.as_str()).or_default() += 1;
    }
    for status in ["PAID", "CANCELLED"] {
        assert!(
            by_status.get(status).copied().unwrap_or(0) > 0,
            "some orders end {status}: {by_status:?}"
        );
    }
    product_pool.close().await;
    drop(processes);
    drop(user_db);
}

/// Registers a buyer with the user service and gives them an address: (user id, address id).
async fn buyer_with_address(http: &reqwest::Client, users: &str, n: i64) -> (i64, i64) {
    let email = format!("chaos-{n}-{}@example.com", uuid::Uuid::now_v7().simple());
    let body = json!({"email": email, "name": "Chaos Buyer", "password": "correct horse"});
    let response = http
        .post(format!("{users}/api/users"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let user = response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let address = json!({"name": "Chaos Buyer", "line1": "Main Street 1", "city": "Berlin",
                         "postal_code": "10115", "country": "DE"});
    let response = http
        .post(format!("{users}/api/users/addresses"))
        .bearer_auth(customer(user))
        .json(&address)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    (
        user,
        response.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap(),
    )
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// Places an order (retrying with the same key while the service is away): one line in the
/// seed's shape, several as `items` shipped to the buyer's address. Its id, or `None` when it
/// was refused (stock) or the service stayed away too long.
async fn place(
    http: &reqwest::Client,
    url: &str,
    buyer: (i64, i64),
    lines: &[(i64, i64)],
    key: &str,
) -> Option<i64> {
    let body = if let [(product, quantity)] = lines {
        json!({"product_id": product, "quantity": quantity})
    } else {
        let items: Vec<Value> = lines
            .iter()
            .map(|(p, q)| json!({"product_id": p, "quantity": q}))
            .collect();
        json!({"items": items, "address_id": buyer.1})
    };
    send_until_answered(http, url, buyer.0, &body, key).await
}

async fn send_until_answered(
    http: &reqwest::Client,
    url: &str,
    buyer: i64,
    body: &Value,
    key: &str,
) -> Option<i64> {
    for _ in 0..30 {
        let sent = http
            .post(format!("{url}/api/orders"))
            .bearer_auth(customer(buyer))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status() == StatusCode::CREATED => {
                let order: Value = response.json().await.ok()?;
                return order["id"].as_i64();
            }
            Ok(response) if response.status().is_client_error() => return None,
            // The service is away (killed) or cannot answer yet: the same key again.
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    None
}

/// Pays, cancels or leaves the order once it is confirmed.
async fn settle(
    http: &reqwest::Client,
    url: &str,
    buyer: i64,
    id: i64,
    fate: Fate,
    payer: &microshop_messaging::Broker,
    topology: &microshop_events::Topology,
) {
    if let Fate::LeaveUnpaid = fate {
        return;
    }
    // Wait a little for CONFIRMED; under faults it may take longer, and then the fate is
    // decided against whatever the order is by then.
    for _ in 0..10 {
        let order = http
            .get(format!("{url}/api/orders/{id}"))
            .bearer_auth(customer(buyer))
            .send()
            .await;
        if let Ok(order) = order {
            if let Ok(order) = order.json::<Value>().await {
                if order["status"] != "PENDING" {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match fate {
        Fate::Cancel => {
            let _ = http
                .post(format!("{url}/api/orders/{id}/cancel"))
                .bearer_auth(customer(buyer))
                .send()
                .await;
        }
        Fate::Pay => {
            let event = microshop_events::Envelope::new(microshop_events::Event::PaymentSucceeded(
                microshop_events::PaymentSucceeded {
                    payment_id: id,
                    order_id: id,
                    amount_cents: 1,
                },
            ));
            let _ = microshop_messaging::Publisher::new(payer.clone(), topology.payment_events())
                .publish(&[microshop_messaging::OutgoingMessage::from_envelope(&event)])
                .await;
        }
        Fate::LeaveUnpaid => {}
    }
}
