//! The shop for one test: product, order and payment services and the payment sandbox, each on
//! its own database (the sandbox in memory), on a private topology.

use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, Ordering};

use clap::Parser;
use microshop_auth::Role;
use microshop_testkit::{
    TestApp, TestBroker, TestDatabase, amqp_url, auth, eventually_some, json, local_args,
};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;

pub use microshop_testkit::auth::{PROVIDER_API_KEY as API_KEY, WEBHOOK_SECRET};

/// Test cards.
pub const CARD_OK: &str = "4242 4242 4242 4242";
pub const CARD_DECLINED: &str = "4000 0000 0000 0002";
pub const CARD_NO_FUNDS: &str = "4000 0000 0000 9995";

/// The shop's address the payment service is given (`SHOP_URL`): the provider's page links
/// back to the order there.
pub const SHOP_URL: &str = "https://shop.example";

/// Four services and the broker topology they share.
pub struct Shop {
    pub products: TestApp,
    pub orders: TestApp,
    pub payments: Option<TestApp>,
    pub sandbox: TestApp,
    pub payment_pool: PgPool,
    pub payment_port: u16,
    pub broker: TestBroker,
    pub payment_amqp_url: String,
    /// Held so they are dropped after the services.
    _dbs: (TestDatabase, TestDatabase),
    next_user: AtomicI64,
}

/// What [`Shop::start_with`] changes.
#[derive(Default)]
pub struct Options<'a> {
    /// Extra order-service arguments.
    pub order_args: &'a [&'a str],
    /// The payment service's broker URL (e.g. through a fault proxy).
    pub payment_amqp_url: Option<String>,
}

/// A loopback port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `user_id`'s access token, as a customer.
pub fn customer(user_id: i64) -> String {
    auth::token(user_id, Role::Customer)
}

/// An admin's access token.
pub fn admin() -> String {
    auth::token(1, Role::Admin)
}

impl Shop {
    /// Starts the shop with `payment_pool` (from `#[sqlx::test]`) as the payment database.
    pub async fn start(payment_pool: PgPool) -> Self {
        Self::start_with(payment_pool, Options::default()).await
    }

    /// Like [`start`](Self::start) with some parts changed.
    pub async fn start_with(payment_pool: PgPool, options: Options<'_>) -> Self {
        let broker = TestBroker::new().await;
        let product_db = TestDatabase::create(
            &payment_pool,
            "products",
            &product_service::startup::MIGRATOR,
        )
        .await;
        let order_db =
            TestDatabase::create(&payment_pool, "orders", &order_service::startup::MIGRATOR).await;
        let (payment_port, sandbox_port) = (free_port(), free_port());
        let payments_url = format!("http://127.0.0.1:{payment_port}");

        let mut args = local_args("product-service", 0);
        args.extend(broker.service_args(&amqp_url()));
        args.extend(auth::verifier_args());
        args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
        let config = product_service::Config::try_parse_from(args).unwrap();
        let products = TestApp::start(
            product_service::startup::build_with_db(config, product_db.db())
                .await
                .unwrap(),
        );

        let mut args = local_args("payment-sandbox", sandbox_port);
        args.extend([
            format!("--public-url=http://127.0.0.1:{sandbox_port}"),
            format!("--webhook-url={payments_url}/api/payments/callback"),
            format!("--webhook-secret={WEBHOOK_SECRET}"),
            format!("--api-key={API_KEY}"),
            "--webhook-retry-base-ms=100".to_owned(),
            "--webhook-retry-max-ms=500".to_owned(),
        ]);
        let config = payment_sandbox::Config::try_parse_from(args).unwrap();
        let sandbox =
            TestApp::start_when_bound(|| payment_sandbox::startup::build(config.clone())).await;

        let mut args = local_args("order-service", 0);
        args.extend([
            format!("--product-service-url={}", products.client.base_url()),
            format!("--payment-service-url={payments_url}"),
        ]);
        args.extend(auth::verifier_args());
        args.extend(auth::caller_args("order-service"));
        args.extend(broker.service_args(&amqp_url()));
        args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
        args.push("--cart-ttl=1h".to_owned());
        args.extend(options.order_args.iter().map(|a| (*a).to_owned()));
        let config = order_service::Config::try_parse_from(args).unwrap();
        let orders = TestApp::start(
            order_service::startup::build_with_db(config, order_db.db())
                .await
                .unwrap(),
        );

        let payment_amqp_url = options.payment_amqp_url.unwrap_or_else(amqp_url);
        let mut shop = Self {
            products,
            orders,
            payments: None,
            sandbox,
            payment_pool,
            payment_port,
            broker,
            payment_amqp_url,
            _dbs: (product_db, order_db),
            next_user: AtomicI64::new(100),
        };
        shop.start_payments().await;
        shop
    }

    /// Starts the payment service (again) on its port.
    pub async fn start_payments(&mut self) {
        let mut args = local_args("payment-service", self.payment_port);
        args.extend([
            format!("--order-service-url={}", self.orders.client.base_url()),
            format!("--provider-url={}", self.sandbox.client.base_url()),
            format!("--provider-api-key={API_KEY}"),
            format!("--webhook-secrets={WEBHOOK_SECRET}"),
            "--refund-retry-interval=200ms".to_owned(),
            format!("--shop-url={SHOP_URL}"),
        ]);
        args.extend(auth::verifier_args());
        args.extend(auth::caller_args("payment-service"));
        args.extend(self.broker.service_args(&self.payment_amqp_url));
        let config = payment_service::Config::try_parse_from(args).unwrap();
        let db = microshop_testkit::db(&self.payment_pool);
        let app = TestApp::start_when_bound(|| {
            payment_service::startup::build_with_db(config.clone(), db.clone())
        })
        .await;
        self.payments = Some(app);
    }

    /// Stops the payment service (its port is then free).
    pub fn stop_payments(&mut self) {
        drop(self.payments.take());
    }

    /// The payment service (panics while it is stopped).
    pub fn payments(&self) -> &TestApp {
        self.payments.as_ref().expect("the payment service runs")
    }

    /// A new buyer's id.
    pub fn user(&self) -> i64 {
        self.next_user.fetch_add(1, Ordering::Relaxed)
    }

    /// Places an order of `quantity` units of a new product at 12.99 as `buyer` and waits for
    /// it to be `CONFIRMED`; returns its id.
    pub async fn confirmed_order(&self, buyer: i64, quantity: i64) -> i64 {
        let body = json!({"name": "Mug", "price": 12.99, "stock": 100});
        let response = self
            .products
            .client
            .post_json_as("/api/products", &body, &admin())
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let product = json(response).await["id"].as_i64().unwrap();
        let body = json!({"product_id": product, "quantity": quantity});
        let response = self
            .orders
            .client
            .post_json_as("/api/orders", &body, &customer(buyer))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let id = json(response).await["id"].as_i64().unwrap();
        self.order_reaches(id, "CONFIRMED").await;
        id
    }

    /// Order `id` as an admin sees it.
    pub async fn order(&self, id: i64) -> Value {
        json(
            self.orders
                .client
                .get_as(&format!("/api/orders/{id}"), &admin())
                .await,
        )
        .await
    }

    /// Waits until order `id` is `status` and returns it.
    pub async fn order_reaches(&self, id: i64, status: &str) -> Value {
        eventually_some(&format!("order {id} becomes {status}"), async || {
            let order = self.order(id).await;
            (order["status"] == status).then_some(order)
        })
        .await
    }

    /// `POST /api/orders/{id}/pay` as `buyer`: the payment, with its checkout URL.
    pub async fn pay_order(&self, buyer: i64, order: i64) -> Value {
        let response = self
            .orders
            .client
            .post_json_as(
                &format!("/api/orders/{order}/pay"),
                &json!(null),
                &customer(buyer),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await
    }

    /// `POST /api/payments {order_id}` as `buyer`.
    pub async fn create_payment(&self, buyer: i64, order: i64) -> reqwest::Response {
        self.payments()
            .client
            .post_json_as(
                "/api/payments",
                &json!({"order_id": order}),
                &customer(buyer),
            )
            .await
    }

    /// Payment `id` as an admin sees it.
    pub async fn payment(&self, id: i64) -> Value {
        json(
            self.payments()
                .client
                .get_as(&format!("/api/payments/{id}"), &admin())
                .await,
        )
        .await
    }

    /// Waits until payment `id` is `status` and returns it.
    pub async fn payment_reaches(&self, id: i64, status: &str) -> Value {
        eventually_some(&format!("payment {id} becomes {status}"), async || {
            let payment = self.payment(id).await;
            (payment["status"] == status).then_some(payment)
        })
        .await
    }

    /// Enters `card` on the checkout page of `payment` (its `checkout_url`), as a script does.
    pub async fn enter_card(&self, payment: &Value, card: &str) -> reqwest::Response {
        let url = payment["checkout_url"].as_str().expect("a checkout URL");
        self.sandbox
            .client
            .http()
            .post(url)
            .json(&json!({"card_number": card}))
            .send()
            .await
            .unwrap()
    }

    /// Changes the sandbox's test settings.
    pub async fn sandbox_settings(&self, settings: Value) {
        let response = self
            .sandbox
            .client
            .send_as(
                reqwest::Method::PUT,
                "/v1/test/settings",
                Some(API_KEY),
                Some(&settings),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            json(response).await
        );
    }

    /// Sends the sandbox's held events, in `order` (`sent` or `reversed`).
    pub async fn release(&self, order: &str) -> i64 {
        let response = self
            .sandbox
            .client
            .send_as(
                reqwest::Method::POST,
                "/v1/test/release",
                Some(API_KEY),
                Some(&json!({"order": order})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await["released"].as_i64().unwrap()
    }

    /// Delivers `event` to the payment service's webhook, signed at `timestamp` with `secret`
    /// (as the provider would with the right ones).
    pub async fn deliver(&self, event: &Value, secret: &str, timestamp: u64) -> reqwest::Response {
        let body = serde_json::to_vec(event).unwrap();
        let signature =
            microshop_webhook::sign(&SecretString::from(secret.to_owned()), timestamp, &body);
        self.payments()
            .client
            .http()
            .post(format!(
                "{}/api/payments/callback",
                self.payments().client.base_url()
            ))
            .header("content-type", "application/json")
            .header("microshop-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// A count from `payments_db`.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.payment_pool)
            .await
            .unwrap()
    }

    /// The sum of the payment service's series of metric `name` whose labels contain `label`.
    pub async fn metric(&self, name: &str, label: &str) -> u64 {
        let text = self
            .payments()
            .client
            .get("/metrics")
            .await
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

/// Now, in unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A provider event as the contract defines it.
pub fn provider_event(kind: &str, payment: &Value, extra: &Value) -> Value {
    let session = payment["checkout_url"]
        .as_str()
        .and_then(|url| url.rsplit('/').next())
        .unwrap_or("cs_unknown");
    let mut data = json!({
        "session_id": session,
        "reference": payment["id"].as_i64().map_or_else(|| "0".to_owned(), |id| id.to_string()),
        "amount_cents": payment["amount_cents"],
        "currency": payment["currency"],
    });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    json!({"id": format!("evt_{}", uuid::Uuid::now_v7().simple()), "type": kind,
           "created": now(), "data": data})
}
