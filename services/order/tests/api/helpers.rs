//! The whole shop for one test: user, product and order services in this process.

use clap::Parser;
use microshop_db::Db;
use microshop_testkit::{
    TestApp, TestBroker, TestDatabase, amqp_url, eventually, eventually_some, json, local_args,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// Three services, their databases and a private topology.
pub struct Shop {
    pub users: Option<TestApp>,
    pub products: TestApp,
    pub orders: TestApp,
    pub order_pool: PgPool,
    pub user_db: TestDatabase,
    pub user_port: u16,
    pub product_db: TestDatabase,
    pub broker: TestBroker,
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
}

/// Starts the user service on `port` (0 for any; a port just given up may still be held).
pub async fn start_users(db: &TestDatabase, port: u16) -> TestApp {
    let mut args = local_args("user-service", port);
    args.extend(microshop_testkit::auth::issuer_args());
    let config = user_service::Config::try_parse_from(args).unwrap();
    TestApp::start_when_bound(|| user_service::startup::build_with_db(config.clone(), db.db()))
        .await
}

impl Shop {
    /// Starts the shop with `order_pool` (from `#[sqlx::test]`) as the order database.
    pub async fn start(order_pool: PgPool) -> Self {
        Self::start_with(order_pool, Options::default()).await
    }

    /// Like [`start`](Self::start) with some parts changed.
    pub async fn start_with(order_pool: PgPool, options: Options<'_>) -> Self {
        let broker = TestBroker::new().await;
        let user_db =
            TestDatabase::create(&order_pool, "users", &user_service::startup::MIGRATOR).await;
        let product_db =
            TestDatabase::create(&order_pool, "products", &product_service::startup::MIGRATOR)
                .await;
        let users = start_users(&user_db, 0).await;
        let user_port = users.port();

        let mut args = local_args("product-service", 0);
        args.extend(broker.service_args(&amqp_url()));
        args.extend(options.product_args.iter().map(|a| (*a).to_owned()));
        let config = product_service::Config::try_parse_from(args).unwrap();
        let products = TestApp::start(
            product_service::startup::build_with_db(config, product_db.db())
                .await
                .unwrap(),
        );

        let mut args = local_args("order-service", 0);
        args.extend([
            "--user-service-url".into(),
            users.client.base_url().to_owned(),
            "--product-service-url".into(),
            products.client.base_url().to_owned(),
        ]);
        let order_amqp_url = options.order_amqp_url.unwrap_or_else(amqp_url);
        args.extend(broker.service_args(&order_amqp_url));
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
            users: Some(users),
            products,
            orders,
            order_pool,
            user_db,
            user_port,
            product_db,
            broker,
        }
    }

    /// Another product-service instance on the same database and topology, consuming (the
    /// worker half of an API/worker split).
    pub async fn start_product_worker(&self) -> TestApp {
        let mut args = local_args("product-service", 0);
        args.extend(self.broker.service_args(&amqp_url()));
        let config = product_service::Config::try_parse_from(args).unwrap();
        TestApp::start(
            product_service::startup::build_with_db(config, self.product_db.db())
                .await
                .unwrap(),
        )
    }

    /// The user service's client (panics while it is stopped).
    pub fn users(&self) -> &TestApp {
        self.users.as_ref().expect("the user service is running")
    }

    /// Registers a user and returns its id.
    pub async fn user(&self, email: &str) -> i64 {
        let body = json!({"email": email, "name": "Test User", "password": "correct horse"});
        let response = self.users().client.post_json("/api/users", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json(response).await["id"].as_i64().unwrap()
    }

    /// Adds a product with `stock` units at 12,999.00 and returns its id.
    pub async fn product(&self, stock: i64) -> i64 {
        let body = json!({"name": "Laptop", "price": 12999.0, "stock": stock});
        let response = self.products.client.post_json("/api/products", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json(response).await["id"].as_i64().unwrap()
    }

    /// `POST /api/orders`.
    pub async fn order(&self, user_id: i64, product_id: i64, quantity: i64) -> reqwest::Response {
        let body = json!({"user_id": user_id, "product_id": product_id, "quantity": quantity});
        self.orders.client.post_json("/api/orders", &body).await
    }

    /// The product's stock as the product service shows it.
    pub async fn stock(&self, product_id: i64) -> i64 {
        json(
            self.products
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
        eventually_some(&format!("order {id} leaves PENDING"), async || {
            let order = json(self.orders.client.get(&format!("/api/orders/{id}")).await).await;
            (order["status"] != "PENDING").then_some(order)
        })
        .await
    }
}
