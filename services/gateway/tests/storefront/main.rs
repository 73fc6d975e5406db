//! The storefront's pages in front of a real user and product service (PostgreSQL, RabbitMQ,
//! Redis), driven like a browser without scripts: pages read, forms posted with the session
//! cookie and the form's CSRF token. The whole shopping journey in a real browser is the
//! Playwright test's (`tests/browser/`).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod catalogue;
mod forms;
mod session;
mod shopping;

use clap::Parser;
use microshop_auth::Role;
use microshop_testkit::{TestApp, TestBroker, TestDatabase, amqp_url, auth, json, local_args};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The storefront secret of the tests' gateways (the cookies of a test can then be read).
pub const SECRET: &str = "storefront-test-secret-0123456789";

/// The password of the tests' accounts.
pub const PASSWORD: &str = "correct horse battery";

/// The e-mail address of the shop's admin (password [`PASSWORD`]).
pub const ADMIN: &str = "admin@example.com";

/// A user, product and order service and the gateway in front of them (the payment and
/// notification services are unreachable).
pub struct Shop {
    /// The gateway.
    pub gateway: TestApp,
    /// The user service.
    pub users: TestApp,
    /// The product service.
    pub products: TestApp,
    /// The order service.
    pub orders: TestApp,
    _databases: [TestDatabase; 3],
    _broker: TestBroker,
}

/// A port nothing listens on, as a URL.
fn nowhere() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

impl Shop {
    /// Starts the services and the gateway on databases cloned from the test's `pool`.
    pub async fn start(pool: &PgPool) -> Self {
        let broker = TestBroker::new().await;
        let prefix = broker.topology.prefix();

        let user_db = TestDatabase::create(pool, "users", &user_service::startup::MIGRATOR).await;
        let mut args = local_args("user-service", 0);
        args.extend(auth::issuer_args());
        args.extend(broker.service_args(&amqp_url()));
        args.push(format!("--redis-key-prefix={prefix}"));
        args.push(format!("--bootstrap-admin-email={ADMIN}"));
        args.push(format!("--bootstrap-admin-password={PASSWORD}"));
        let config = user_service::Config::try_parse_from(args).unwrap();
        let users = TestApp::start(
            user_service::startup::build_with_db(config, user_db.db())
                .await
                .unwrap(),
        );

        let product_db =
            TestDatabase::create(pool, "products", &product_service::startup::MIGRATOR).await;
        let mut args = local_args("product-service", 0);
        args.extend(broker.service_args(&amqp_url()));
        args.extend(auth::verifier_args());
        args.push(format!("--redis-key-prefix={prefix}"));
        let config = product_service::Config::try_parse_from(args).unwrap();
        let products = TestApp::start(
            product_service::startup::build_with_db(config, product_db.db())
                .await
                .unwrap(),
        );

        let order_db =
            TestDatabase::create(pool, "orders", &order_service::startup::MIGRATOR).await;
        let mut args = local_args("order-service", 0);
        args.extend([
            format!("--product-service-url={}", products.client.base_url()),
            format!("--user-service-url={}", users.client.base_url()),
            format!("--payment-service-url={}", nowhere()),
            "--cart-ttl=1h".to_owned(),
            format!("--redis-key-prefix={prefix}"),
        ]);
        args.extend(auth::verifier_args());
        args.extend(auth::caller_args("order-service"));
        args.extend(broker.service_args(&amqp_url()));
        let config = order_service::Config::try_parse_from(args).unwrap();
        let orders = TestApp::start(
            order_service::startup::build_with_db(config, order_db.db())
                .await
                .unwrap(),
        );

        let mut args = local_args("gateway", 0);
        args.extend([
            format!("--user-service-url={}", users.client.base_url()),
            format!("--product-service-url={}", products.client.base_url()),
            format!("--order-service-url={}", orders.client.base_url()),
            format!("--payment-service-url={}", nowhere()),
            format!("--notification-service-url={}", nowhere()),
            "--upstream-timeout=2s".to_owned(),
            format!("--redis-key-prefix=gateway-test-{}:", uuid::Uuid::new_v4()),
            format!("--storefront-secret={SECRET}"),
        ]);
        args.extend(auth::verifier_args());
        let config = gateway::Config::try_parse_from(args).unwrap();
        let gateway = TestApp::start(gateway::startup::build(&config).await.unwrap());
        Self {
            gateway,
            users,
            products,
            orders,
            _databases: [user_db, product_db, order_db],
            _broker: broker,
        }
    }

    /// A browser on the shop, with no cookie yet.
    pub fn browser(&self) -> Browser {
        Browser::new(self.gateway.client.base_url())
    }

    /// Adds a product (as an admin, at the product service); its id.
    pub async fn product(&self, body: Value) -> i64 {
        let admin = auth::token(1, Role::Admin);
        let created = self
            .products
            .client
            .post_json_as("/api/products", &body, &admin)
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        json(created).await["id"].as_i64().unwrap()
    }

    /// Registers `email` at the user service (password [`PASSWORD`]).
    pub async fn account(&self, email: &str, name: &str) {
        let body = json!({"email": email, "name": name, "password": PASSWORD});
        let created = self.users.client.post_json("/api/users", &body).await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }

    /// The reviews of product `id`, as the product service has them.
    pub async fn reviews(&self, id: i64) -> Vec<Value> {
        let reviews = self
            .products
            .client
            .get(&format!("/api/products/{id}/reviews"))
            .await;
        json(reviews).await.as_array().unwrap().clone()
    }
}

/// A page as the browser got it.
pub struct Page {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: header::HeaderMap,
    /// Its HTML.
    pub html: String,
}

impl Page {
    /// Where it redirects to.
    pub fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }

    /// The CSRF token of its forms.
    pub fn csrf(&self) -> String {
        let start = self
            .html
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.html))
            + r#"name="csrf" value=""#.len();
        let end = start + self.html[start..].find('"').unwrap();
        self.html[start..end].to_owned()
    }

    /// Asserts it is an HTML page.
    pub fn assert_html(&self) {
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{}",
            self.html
        );
    }

    /// The `Set-Cookie` of the session, if it sets one.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .find(|value| value.starts_with("microshop_session="))
    }
}

/// A browser that does not follow redirects and keeps the session cookie.
pub struct Browser {
    base_url: String,
    http: reqwest::Client,
    /// The session cookie's value.
    pub cookie: Option<String>,
}

impl Browser {
    fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(header::COOKIE, format!("microshop_session={cookie}")),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let page = Page {
            status,
            headers,
            html: response.text().await.unwrap(),
        };
        if let Some(set) = page.session_cookie() {
            let value = set["microshop_session=".len()..].split(';').next().unwrap();
            self.cookie = (!set.contains("Max-Age=0")).then(|| value.to_owned());
        }
        page
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base_url));
        self.send(request).await
    }

    /// `POST path` with `fields` form-encoded.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .form(fields);
        self.send(request).await
    }

    /// Signs in as `email` through the sign-in form; the page it ends on.
    pub async fn sign_in(&mut self, email: &str, next: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.csrf();
        self.post(
            "/login",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("next", next),
                ("csrf", &csrf),
            ],
        )
        .await
    }
}

/// The session in a cookie value, read with the tests' secret.
pub fn session_of(cookie: &str) -> gateway::storefront::session::Session {
    gateway::storefront::cookie::Cookies::new(SECRET.as_bytes(), false)
        .decode(cookie)
        .expect("a session cookie of the tests' gateway")
}
