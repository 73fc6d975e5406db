//! Seeding: the buyers (signed in, each with an address) and the products the load runs
//! against, created through the services' APIs.

use std::fmt::Write as _;

use rand::Rng;
use serde_json::{Value, json};

/// What `seed` names its products, followed by their number from 0 ("Bench product 17"). The
/// searches of [`crate::target::Scenario::Browse`] ask for the number: the words all 1,000 names
/// share would make each search rank the whole catalogue (5-6 ms of PostgreSQL at 1,000
/// products), so that a thousand requests a second measured search on two cores, not the gateway.
pub const PRODUCT_NAME: &str = "Bench product";

/// Where seeding signs in and what it creates.
pub struct Seed<'a> {
    /// User service base URL.
    pub users: &'a str,
    /// Product service base URL.
    pub products: &'a str,
    /// The admin who creates the products.
    pub admin: (&'a str, &'a str),
    /// How many products.
    pub count: u32,
    /// Stock of each.
    pub stock: u64,
    /// How many buyers to register and sign in.
    pub buyers: u32,
    /// Where to write them (`<user id> <access token> <address id>` lines).
    pub buyers_file: &'a str,
}

/// Registers and signs in `buyers` customers, each with an address (written to `buyers_file`)
/// and, as the admin,
/// creates `count` products; returns `{"buyers": n, "first_product": id, "products": n}`.
pub async fn seed(seed: &Seed<'_>) -> anyhow::Result<Value> {
    let Seed {
        users,
        products,
        admin: (admin_email, admin_password),
        count,
        stock,
        buyers,
        buyers_file,
    } = *seed;
    let client = reqwest::Client::new();
    let nonce: u64 = rand::rng().random();
    let password = "benchmark password";
    let mut lines = String::new();
    for i in 0..buyers.max(1) {
        let email = format!("bench-{nonce}-{i}@example.com");
        let user: Value = client
            .post(format!("{users}/api/users"))
            .json(&json!({"email": email, "name": "Bench", "password": password}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = log_in(&client, users, &email, password).await?;
        let address: Value = client
            .post(format!("{users}/api/users/addresses"))
            .bearer_auth(&token)
            .json(
                &json!({"name": "Bench Buyer", "line1": format!("Benchmark Street {i}"),
                "city": "Berlin", "postal_code": "10115", "country": "DE"}),
            )
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        writeln!(lines, "{} {token} {}", user["id"], address["id"])?;
    }
    std::fs::write(buyers_file, lines)?;
    let admin_token = log_in(&client, users, admin_email, admin_password).await?;
    let mut first = None;
    for i in 0..count {
        let product: Value = client
            .post(format!("{products}/api/products"))
            .bearer_auth(&admin_token)
            .json(&json!({"name": format!("{PRODUCT_NAME} {i}"), "price": 19.99, "stock": stock}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        first.get_or_insert(product["id"].clone());
    }
    Ok(json!({"buyers": buyers.max(1), "first_product": first, "products": count}))
}

/// An access token for `email`.
async fn log_in(
    client: &reqwest::Client,
    users: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let session: Value = client
        .post(format!("{users}/api/users/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    session["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the log-in of {email} answered no access_token"))
}
