//! The shop for one test: every service but the gateway, each on its own database, a private
//! topology, and an SMTP sink the test owns.

use clap::Parser;
use microshop_auth::Role;
use microshop_testkit::SmtpSink;
use microshop_testkit::{
    TestApp, TestBroker, TestDatabase, amqp_url, auth, eventually_some, json, local_args,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// What [`Shop::start_with`] changes.
#[derive(Default)]
pub struct Options<'a> {
    /// Extra notification-service arguments.
    pub notification_args: &'a [&'a str],
}

/// The services, the sink and the topology they share.
pub struct Shop {
    pub users: TestApp,
    pub products: TestApp,
    pub orders: TestApp,
    /// Held: the payment service of the pay step.
    pub _payments: TestApp,
    pub sandbox: TestApp,
    pub notifications: Option<TestApp>,
    pub notification_pool: PgPool,
    pub notification_port: u16,
    pub smtp: SmtpSink,
    pub broker: TestBroker,
    notification_args: Vec<String>,
    _dbs: Vec<TestDatabase>,
}

/// An admin's access token.
pub fn admin() -> String {
    auth::token(1, Role::Admin)
}

/// `user_id`'s access token, as a customer.
pub fn customer(user_id: i64) -> String {
    auth::token(user_id, Role::Customer)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// The user service (issuing the tests' tokens) and the product service.
async fn start_users_and_products(
    broker: &TestBroker,
    pool: &PgPool,
    dbs: &mut Vec<TestDatabase>,
) -> (TestApp, TestApp) {
    let prefix = format!("--redis-key-prefix={}", broker.topology.prefix());
    let db = TestDatabase::create(pool, "users", &user_service::startup::MIGRATOR).await;
    let mut args = local_args("user-service", 0);
    args.extend(auth::issuer_args());
    args.extend(broker.service_args(&amqp_url()));
    args.push(prefix.clone());
    let config = user_service::Config::try_parse_from(args).unwrap();
    let users = TestApp::start(
        user_service::startup::build_with_db(config, db.db())
            .await
            .unwrap(),
    );
    dbs.push(db);

    let db = TestDatabase::create(pool, "products", &product_service::startup::MIGRATOR).await;
    let mut args = local_args("product-service", 0);
    args.extend(broker.service_args(&amqp_url()));
    args.extend(auth::verifier_args());
    args.push(prefix.clone());
    let config = product_service::Config::try_parse_from(args).unwrap();
    let products = TestApp::start(
        product_service::startup::build_with_db(config, db.db())
            .await
            .unwrap(),
    );
    dbs.push(db);

    (users, products)
}

impl Shop {
    /// Starts the shop with `pool` (from `#[sqlx::test]`) as the notification database.
    pub async fn start(pool: PgPool) -> Self {
        Self::start_with(pool, Options::default()).await
    }

    /// Like [`start`](Self::start) with some parts changed.
    pub async fn start_with(pool: PgPool, options: Options<'_>) -> Self {
        let broker = TestBroker::new().await;
        let smtp = SmtpSink::start().await;
        let mut dbs = Vec::new();
        let prefix = format!("--redis-key-prefix={}", broker.topology.prefix());

        let (users, products) = start_users_and_products(&broker, &pool, &mut dbs).await;

        let (payment_port, sandbox_port) = (free_port(), free_port());
        let payments_url = format!("http://127.0.0.1:{payment_port}");
        let mut args = local_args("payment-sandbox", sandbox_port);
        args.extend([
            format!("--public-url=http://127.0.0.1:{sandbox_port}"),
            format!("--webhook-url={payments_url}/api/payments/callback"),
            format!("--webhook-secret={}", auth::WEBHOOK_SECRET),
            format!("--api-key={}", auth::PROVIDER_API_KEY),
        ]);
        let config = payment_sandbox::Config::try_parse_from(args).unwrap();
        let sandbox =
            TestApp::start_when_bound(|| payment_sandbox::startup::build(config.clone())).await;

        let db = TestDatabase::create(&pool, "orders", &order_service::startup::MIGRATOR).await;
        let mut args = local_args("order-service", 0);
        args.extend([
            format!("--product-service-url={}", products.client.base_url()),
            format!("--payment-service-url={payments_url}"),
        ]);
        args.extend(auth::verifier_args());
        args.extend(auth::caller_args("order-service"));
        args.extend(broker.service_args(&amqp_url()));
        args.push(prefix.clone());
        args.push("--cart-ttl=1h".to_owned());
        let config = order_service::Config::try_parse_from(args).unwrap();
        let orders = TestApp::start(
            order_service::startup::build_with_db(config, db.db())
                .await
                .unwrap(),
        );
        dbs.push(db);

        let db = TestDatabase::create(&pool, "payments", &payment_service::startup::MIGRATOR).await;
        let mut args = local_args("payment-service", payment_port);
        args.extend([
            format!("--order-service-url={}", orders.client.base_url()),
            format!("--provider-url={}", sandbox.client.base_url()),
            format!("--provider-api-key={}", auth::PROVIDER_API_KEY),
            format!("--webhook-secrets={}", auth::WEBHOOK_SECRET),
        ]);
        args.extend(auth::verifier_args());
        args.extend(auth::caller_args("payment-service"));
        args.extend(broker.service_args(&amqp_url()));
        let config = payment_service::Config::try_parse_from(args).unwrap();
        let payment_db = db.db();
        let payments = TestApp::start_when_bound(|| {
            payment_service::startup::build_with_db(config.clone(), payment_db.clone())
        })
        .await;
        dbs.push(db);

        // The test's own arguments win over these (fast retries, unless it asks otherwise).
        let defaults = [
            format!("--smtp-url={}", smtp.url()),
            "--mail-from=Microshop <shop@example.com>".to_owned(),
            "--shop-url=http://shop.test".to_owned(),
            "--notification-retry-base=100ms".to_owned(),
            "--notification-retry-max=1s".to_owned(),
            "--notification-send-timeout=5s".to_owned(),
        ];
        let flag = |arg: &str| arg.split('=').next().unwrap_or_default().to_owned();
        let mut notification_args: Vec<String> = defaults
            .into_iter()
            .filter(|arg| {
                !options
                    .notification_args
                    .iter()
                    .any(|own| flag(own) == flag(arg))
            })
            .collect();
        notification_args.extend(auth::verifier_args());
        notification_args.extend(broker.service_args(&amqp_url()));
        notification_args.extend(options.notification_args.iter().map(|a| (*a).to_owned()));
        let mut shop = Self {
            users,
            products,
            orders,
            _payments: payments,
            sandbox,
            notifications: None,
            notification_pool: pool,
            notification_port: free_port(),
            smtp,
            broker,
            notification_args,
            _dbs: dbs,
        };
        shop.start_notifications().await;
        shop
    }

    /// Starts the notification service (again) on its port.
    pub async fn start_notifications(&mut self) {
        let mut args = local_args("notification-service", self.notification_port);
        args.extend(self.notification_args.iter().cloned());
        let config = notification_service::Config::try_parse_from(args).unwrap();
        let db = microshop_testkit::db(&self.notification_pool);
        let app = TestApp::start_when_bound(|| {
            notification_service::startup::build_with_db(config.clone(), db.clone())
        })
        .await;
        self.notifications = Some(app);
    }

    /// Stops the notification service.
    pub fn stop_notifications(&mut self) {
        drop(self.notifications.take());
    }

    /// The notification service (panics while it is stopped).
    pub fn notifications(&self) -> &TestApp {
        self.notifications
            .as_ref()
            .expect("the notification service runs")
    }

    /// Registers a customer; their id and e-mail address.
    pub async fn register(&self, name: &str) -> (i64, String) {
        let email = format!(
            "{}-{}@example.com",
            name.to_lowercase(),
            uuid::Uuid::now_v7().simple()
        );
        let body = json!({"email": email, "name": name, "password": "correct horse"});
        let response = self.users.client.post_json("/api/users", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        (json(response).await["id"].as_i64().unwrap(), email)
    }

    /// A product with stock at 12.99.
    pub async fn product(&self) -> i64 {
        let body = json!({"name": "Mug", "price": 12.99, "stock": 100});
        let response = self
            .products
            .client
            .post_json_as("/api/products", &body, &admin())
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json(response).await["id"].as_i64().unwrap()
    }

    /// Order `id` as an admin sees it, once it is `status`.
    pub async fn order_reaches(&self, id: i64, status: &str) -> Value {
        eventually_some(&format!("order {id} becomes {status}"), async || {
            let order = json(
                self.orders
                    .client
                    .get_as(&format!("/api/orders/{id}"), &admin())
                    .await,
            )
            .await;
            (order["status"] == status).then_some(order)
        })
        .await
    }

    /// A count from `notifications_db`.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.notification_pool)
            .await
            .unwrap()
    }

    /// Waits until every notification is sent or given up.
    pub async fn all_settled(&self) {
        microshop_testkit::eventually("every notification is sent or given up", async || {
            self.count("select count(*) from notifications where status in ('QUEUED', 'SENDING')")
                .await
                == 0
        })
        .await;
    }
}
