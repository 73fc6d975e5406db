//! The shop for one test: product and order services in this process.

use std::sync::atomic::{AtomicI64, Ordering};

use clap::Parser;
use microshop_auth::Role;
use microshop_db::Db;
use microshop_events::{Envelope, Event, PaymentSucceeded};
use microshop_messaging::{OutgoingMessage, Publisher};
use microshop_testkit::{
    TestApp, TestBroker, TestDatabase, amqp_url, auth, eventually, eventually_some,
    eventually_within, json, local_args,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// Two services, their databases and a private topology. Buyers are not accounts here: the
/// order service knows a buyer only by the access token, so tests mint tokens for any id.
pub struct Shop {
    pub products: Option<TestApp>,
    /// The user service, when [`Options::with_users`] asked for it (shipping addresses).
    pub users: Option<TestApp>,
    pub orders: TestApp,
    pub order_pool: PgPool,
    pub product_db: TestDatabase,
    /// The user service's database, held so it is dropped after the service.
    #[allow(dead_code)]
    pub user_db: Option<TestDatabase>,
    pub product_port: u16,
    pub broker: TestBroker,
    next_user: AtomicI64,
}

/// What [`Shop::start_with`] changes.
#[derive(Default)]
pub struct Options<'a> {
    /// Extra order-service arguments.
    pub order_args: &'a [&'a str],
    /// Extra product-service arguments.
    pub product_args: &'a [&'a str],
    /// The order service's broker URL (e.g. through a fault proxy).
    pub order_amqp_url: Option<String>,
    /// The order service's pool (e.g. through a fault proxy); the test's database otherwise.
    pub order_db: Option<Db>,
    /// Also run a user service (for orders shipped to an address).
    pub with_users: bool,
}

/// Starts a product service on `port` (0 for any; a port just given up may still be held),
/// consuming from `broker`'s topology.
pub async fn start_products(
    broker: &TestBroker,
    db: &TestDatabase,
    port: u16,
    extra: &[&str],
) -> TestApp {
    let mut args = local_args("product-service", port);
    args.extend(broker.service_args(&amqp_url()));
    args.extend(auth::verifier_args());
    // Its read cache's keys are the test's own, as its topology is.
    args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let config = product_service::Config::try_parse_from(args).unwrap();
    TestApp::start_when_bound(|| product_service::startup::build_with_db(config.clone(), db.db()))
        .await
}

/// A user service on its own database, issuing and verifying the tests' tokens.
async fn start_users(broker: &TestBroker, pool: &PgPool) -> (TestApp, TestDatabase) {
    let db = TestDatabase::create(pool, "users", &user_service::startup::MIGRATOR).await;
    let mut args = local_args("user-service", 0);
    args.extend(auth::issuer_args());
    args.extend(broker.service_args(&amqp_url()));
    args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
    let config = user_service::Config::try_parse_from(args).unwrap();
    let server = user_service::startup::build_with_db(config, db.db())
        .await
        .unwrap();
    (TestApp::start(server), db)
}

/// The sum of the order service's series of metric `name` whose labels contain `label`.
pub async fn metric_sum(shop: &Shop, name: &str, label: &str) -> u64 {
    let metrics = shop
        .orders
        .client
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// An error answer's status, `code` and `message`.
pub async fn refusal(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body = json(response).await;
    let text = |field: &str| body["error"][field].as_str().unwrap_or_default().to_owned();
    (status, text("code"), text("message"))
}

/// An admin's access token.
pub fn admin() -> String {
    auth::token(1, Role::Admin)
}

/// `user_id`'s access token, as a customer.
pub fn customer(user_id: i64) -> String {
    auth::token(user_id, Role::Customer)
}

impl Shop {
    /// Starts the shop with `order_pool` (from `#[sqlx::test]`) as the order database.
    pub async fn start(order_pool: PgPool) -> Self {
        Self::start_with(order_pool, Options::default()).await
    }

    /// Like [`start`](Self::start) with some parts changed.
    pub async fn start_with(order_pool: PgPool, options: Options<'_>) -> Self {
        let broker = TestBroker::new().await;
        let product_db =
            TestDatabase::create(&order_pool, "products", &product_service::startup::MIGRATOR)
                .await;
        let products = start_products(&broker, &product_db, 0, options.product_args).await;
        let product_port = products.port();
        let (users, user_db) = if options.with_users {
            let (app, db) = start_users(&broker, &order_pool).await;
            (Some(app), Some(db))
        } else {
            (None, None)
        };

        let mut args = local_args("order-service", 0);
        args.extend([
            "--product-service-url".into(),
            products.client.base_url().to_owned(),
        ]);
        if let Some(users) = &users {
            args.extend([
                "--user-service-url".into(),
                users.client.base_url().to_owned(),
            ]);
        }
        args.extend(auth::verifier_args());
        args.extend(auth::caller_args("order-service"));
        let order_amqp_url = options.order_amqp_url.unwrap_or_else(amqp_url);
        args.extend(broker.service_args(&order_amqp_url));
        // Its carts' keys are the test's own, as its topology is, and expire within the hour
        // (the shared Redis keeps no test's carts for the default 30 days).
        args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
        args.push("--cart-ttl=1h".to_owned());
        args.extend(options.order_args.iter().map(|a| (*a).to_owned()));
        let config = order_service::Config::try_parse_from(args).unwrap();
        let orders = TestApp::start(
            order_service::startup::build_with_db(
                config,
                options
                    .order_db
                    .unwrap_or_else(|| microshop_testkit::db(&order_pool)),
            )
            .await
            .unwrap(),
        );
        Self {
            products: Some(products),
            users,
            orders,
            order_pool,
            product_db,
            user_db,
            product_port,
            broker,
            next_user: AtomicI64::new(100),
        }
    }

    /// Another product-service instance on the same database and topology, consuming (the
    /// worker half of an API/worker split).
    pub async fn start_product_worker(&self) -> TestApp {
        start_products(&self.broker, &self.product_db, 0, &[]).await
    }

    /// The product service's client (panics while it is stopped).
    pub fn products(&self) -> &TestApp {
        self.products
            .as_ref()
            .expect("the product service is running")
    }

    /// Stops the product service (its port is then free, or held by whatever the test binds).
    pub fn stop_products(&mut self) {
        drop(self.products.take());
    }

    /// Starts the product service again, on its old port.
    pub async fn restart_products(&mut self) {
        let products = start_products(&self.broker, &self.product_db, self.product_port, &[]).await;
        self.products = Some(products);
    }

    /// A new buyer's id (`_who` names them in the test, for the reader).
    pub fn user(&self, _who: &str) -> i64 {
        self.next_user.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a product with `stock` units at 12,999.00 and returns its id.
    pub async fn product(&self, stock: i64) -> i64 {
        let body = json!({"name": "Laptop", "price": 12999.0, "stock": stock});
        let response = self
            .products()
            .client
            .post_json_as("/api/products", &body, &admin())
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json(response).await["id"].as_i64().unwrap()
    }

    /// `POST /api/orders` as `user_id`.
    pub async fn order(&self, user_id: i64, product_id: i64, quantity: i64) -> reqwest::Response {
        let body = json!({"product_id": product_id, "quantity": quantity});
        self.orders
            .client
            .post_json_as("/api/orders", &body, &customer(user_id))
            .await
    }

    /// `GET path` of the order service as an admin.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.orders.client.get_as(path, &admin()).await
    }

    /// The product's stock as the product service shows it.
    pub async fn stock(&self, product_id: i64) -> i64 {
        json(
            self.products()
                .client
                .get(&format!("/api/products/{product_id}"))
                .await,
        )
        .await["stock"]
            .as_i64()
            .unwrap()
    }

    /// Waits until no order is `PENDING` and returns the count per status.
    pub async fn settled_statuses(&self) -> Vec<(String, i64)> {
        eventually("no order is PENDING", async || {
            let pending: i64 =
                sqlx::query_scalar("select count(*) from orders where status = 'PENDING'")
                    .fetch_one(&self.order_pool)
                    .await
                    .unwrap();
            pending == 0
        })
        .await;
        sqlx::query_as("select status, count(*) from orders group by status order by status")
            .fetch_all(&self.order_pool)
            .await
            .unwrap()
    }

    /// Waits until order `id` leaves `PENDING` and returns it.
    pub async fn settled(&self, id: i64) -> Value {
        self.settled_within(id, microshop_testkit::PATIENCE).await
    }

    /// Like [`settled`](Self::settled), waiting up to `patience` (after a fault, reconnecting
    /// clients back off for seconds first).
    pub async fn settled_within(&self, id: i64, patience: std::time::Duration) -> Value {
        eventually_within(
            &format!("order {id} leaves PENDING"),
            patience,
            async || {
                let order = json(self.get(&format!("/api/orders/{id}")).await).await;
                (order["status"] != "PENDING").then_some(order)
            },
        )
        .await
    }

    /// Registers a buyer with the user service and gives them an address; returns the buyer's
    /// id and the address id.
    pub async fn buyer_with_address(&self, who: &str) -> (i64, i64) {
        let users = self.users.as_ref().expect("started with_users");
        let email = format!("{who}-{}@example.com", uuid::Uuid::now_v7().simple());
        let body = json!({"email": email, "name": who, "password": "correct horse"});
        let response = users.client.post_json("/api/users", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let user = json(response).await["id"].as_i64().unwrap();
        let address = json!({"name": who, "line1": "Invalidenstraße 116", "city": "Berlin",
                             "postal_code": "10115", "country": "DE"});
        let response = users
            .client
            .post_json_as("/api/users/addresses", &address, &customer(user))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        (user, json(response).await["id"].as_i64().unwrap())
    }

    /// `POST /api/orders` with `items` (`(product, quantity)`) to `address` as `user_id`.
    pub async fn order_items(
        &self,
        user_id: i64,
        items: &[(i64, i64)],
        address: i64,
    ) -> reqwest::Response {
        let items: Vec<Value> = items
            .iter()
            .map(|(product, quantity)| json!({"product_id": product, "quantity": quantity}))
            .collect();
        let body = json!({"items": items, "address_id": address});
        self.orders
            .client
            .post_json_as("/api/orders", &body, &customer(user_id))
            .await
    }

    /// Places an order of `quantity` units of `product` as `user_id` and waits for it to be
    /// `CONFIRMED`; returns its id.
    pub async fn confirmed_order(&self, user_id: i64, product: i64, quantity: i64) -> i64 {
        let response = self.order(user_id, product, quantity).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let id = json(response).await["id"].as_i64().unwrap();
        assert_eq!(self.settled(id).await["status"], "CONFIRMED");
        id
    }

    /// Publishes `payment.succeeded` for `order_id` as the payment service would.
    pub async fn pay(&self, order_id: i64, payment_id: i64, amount_cents: i64) {
        let event = Envelope::new(Event::PaymentSucceeded(PaymentSucceeded {
            payment_id,
            order_id,
            amount_cents,
        }));
        Publisher::new(
            self.broker.broker.clone(),
            self.broker.topology.payment_events(),
        )
        .publish(&[OutgoingMessage::from_envelope(&event)])
        .await
        .unwrap();
    }

    /// Waits until order `id` is `status` and returns it.
    pub async fn reaches(&self, id: i64, status: &str) -> Value {
        eventually_some(&format!("order {id} becomes {status}"), async || {
            let order = json(self.get(&format!("/api/orders/{id}")).await).await;
            (order["status"] == status).then_some(order)
        })
        .await
    }
}
