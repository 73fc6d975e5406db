//! What the load generator requests, the reference hello-world server, and seeding.

use axum::Router;
use axum::routing::get;
use rand::Rng;
use serde_json::{Value, json};

/// The request each iteration sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `GET <url>/api/products/{random id}`.
    Product,
    /// `POST <url>/api/orders` for a random product, quantity 1.
    Order,
}

/// The target of a run.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// What to send.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Base URL of the service.
    #[arg(long)]
    pub url: String,
    /// First product id of the seeded range.
    #[arg(long, default_value_t = 1)]
    pub first_product: i64,
    /// How many consecutive product ids to pick from.
    #[arg(long, default_value_t = 1000)]
    pub products: i64,
    /// The ordering user.
    #[arg(long, default_value_t = 1)]
    pub user: i64,
}

impl Target {
    /// The next request.
    pub fn request(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let product = self.first_product + rand::rng().random_range(0..self.products.max(1));
        match self.scenario {
            Scenario::Product => client.get(format!("{}/api/products/{product}", self.url)),
            Scenario::Order => client
                .post(format!("{}/api/orders", self.url))
                .json(&json!({"user_id": self.user, "product_id": product, "quantity": 1})),
        }
    }
}

/// Serves the hello-world reference on 127.0.0.1:`port` until killed.
pub async fn serve_hello(port: u16) -> anyhow::Result<()> {
    let app = Router::new().route("/", get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Creates one user and `count` products; returns `{"user": id, "first_product": id, "products": n}`.
pub async fn seed(users: &str, products: &str, count: u32, stock: u64) -> anyhow::Result<Value> {
    let client = reqwest::Client::new();
    let nonce: u64 = rand::rng().random();
    let user: Value = client
        .post(format!("{users}/api/users"))
        .json(&json!({"email": format!("bench-{nonce}@example.com"), "name": "Bench", "password": "benchmark password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut first = None;
    for i in 0..count {
        let product: Value = client
            .post(format!("{products}/api/products"))
            .json(&json!({"name": format!("Bench product {i}"), "price": 19.99, "stock": stock}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        first.get_or_insert(product["id"].clone());
    }
    Ok(json!({"user": user["id"], "first_product": first, "products": count}))
}
