//! What the load generator requests, and the reference hello-world server.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use rand::Rng;
use serde_json::{Value, json};

use crate::catalog;

/// Lines of a [`Scenario::Lines`] order or a [`Scenario::Checkout`] cart.
pub const LINES: usize = 3;

/// The request each iteration sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `GET <url>/api/products/{random id}`.
    Product,
    /// `POST <url>/api/orders` for a random product, quantity 1.
    Order,
    /// `POST <url>/api/orders` with `items`: [`LINES`] different random products, one unit
    /// each, shipped to the buyer's address.
    Lines,
    /// A customer's checkout: [`LINES`] × `POST <url>/api/cart/items` (random products), then
    /// `POST <url>/api/orders/checkout` to the buyer's address; one iteration is the four
    /// requests, each buyer's carts filled one at a time.
    Checkout,
    /// `GET <url>/api/products/search?q=<words>`, words of [`catalog::SEARCH_WORDS`] at random.
    Search,
    /// `GET <url>/api/products?category=<slug>&sort=price`, a category of the shop at random.
    Listing,
    /// A customer browsing through the gateway, the four requests in turn: a catalogue page
    /// (`GET <url>/api/products?limit=20&offset=<random page>` of the seeded range), a search
    /// for the number of a seeded product's name (`?q=517` finds "Bench product 517" and the
    /// names trigram-similar to it; [`crate::seed::PRODUCT_NAME`] says why), a random product,
    /// and a random buyer's cart (`GET <url>/api/cart` with their token).
    Browse,
}

/// Products on one catalogue page of [`Scenario::Browse`].
const PAGE: i64 = 20;

/// The target of a run.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// What to send.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Base URL of the service (or of the gateway, which fronts them all).
    #[arg(long)]
    pub url: String,
    /// First product id of the seeded range.
    #[arg(long, default_value_t = 1)]
    pub first_product: i64,
    /// How many consecutive product ids to pick from.
    #[arg(long, default_value_t = 1000)]
    pub products: i64,
    /// The buyers, one `<user id> <access token> <address id>` per line (`seed --buyers-file`
    /// writes it); each order is placed, each cart read, by one of them at random. Many buyers,
    /// as in a shop: one buyer's orders are placed one at a time (the per-buyer limit of open
    /// orders counts them).
    #[arg(long, default_value = "")]
    pub buyers: String,
}

/// A buyer: user id, access token and the id of their address.
#[derive(Debug, Clone)]
pub struct Buyer {
    /// The user id.
    pub id: i64,
    /// Their access token.
    pub token: String,
    /// Their (default) shipping address, for orders with items and checkouts.
    pub address: Option<i64>,
}

/// What a run's requests pick from: the buyers who order, the categories listed.
#[derive(Debug)]
pub struct Inputs {
    /// Buyers, for the scenarios that order.
    pub buyers: Vec<Buyer>,
    /// Buyers not filling a cart right now (indexes into `buyers`), for [`Scenario::Checkout`]:
    /// a cart is per buyer, so two checkouts of one buyer at once would mix their lines.
    idle: std::sync::Mutex<Vec<usize>>,
    /// Counts the idle buyers.
    free: tokio::sync::Semaphore,
    /// Category slugs, for [`Scenario::Listing`].
    pub categories: Vec<String>,
    /// Requests of [`Scenario::Browse`] sent so far: which of its four comes next.
    turns: AtomicUsize,
}

impl Inputs {
    /// What `target`'s scenario needs: its buyers file read, or the shop's categories fetched.
    pub async fn load(target: &Target, client: &reqwest::Client) -> anyhow::Result<Self> {
        Ok(match target.scenario {
            Scenario::Order | Scenario::Lines | Scenario::Checkout | Scenario::Browse => {
                let buyers = read_buyers(&target.buyers)?;
                if matches!(target.scenario, Scenario::Lines | Scenario::Checkout) {
                    anyhow::ensure!(
                        buyers.iter().all(|b| b.address.is_some()),
                        "the buyers file {:?} has buyers without an address id (seed it again)",
                        target.buyers
                    );
                }
                Self::new(buyers, Vec::new())
            }
            Scenario::Listing => Self::new(
                Vec::new(),
                catalog::category_slugs(client, &target.url).await?,
            ),
            Scenario::Product | Scenario::Search => Self::new(Vec::new(), Vec::new()),
        })
    }

    fn new(buyers: Vec<Buyer>, categories: Vec<String>) -> Self {
        Self {
            idle: std::sync::Mutex::new((0..buyers.len()).collect()),
            free: tokio::sync::Semaphore::new(buyers.len()),
            buyers,
            categories,
            turns: AtomicUsize::new(0),
        }
    }
}

/// The buyers of a `--buyers` file.
pub fn read_buyers(path: &str) -> anyhow::Result<Vec<Buyer>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the buyers file {path:?}: {e}"))?;
    let buyers: Vec<Buyer> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some(Buyer {
                id: fields.next()?.parse().ok()?,
                token: fields.next()?.to_owned(),
                address: fields.next().and_then(|a| a.parse().ok()),
            })
        })
        .collect();
    anyhow::ensure!(
        !buyers.is_empty(),
        "the buyers file {path:?} names no buyer"
    );
    Ok(buyers)
}

impl Target {
    /// One iteration of the scenario, picked from `inputs`: whether every request of it was
    /// answered 2xx (it stops at the first that was not).
    pub async fn iteration(
        &self,
        client: &reqwest::Client,
        inputs: &Inputs,
    ) -> Result<bool, reqwest::Error> {
        if self.scenario == Scenario::Checkout {
            return self.checkout(client, inputs).await;
        }
        let request = self.request(client, inputs);
        answered(request).await
    }

    fn product(&self, rng: &mut impl Rng) -> i64 {
        self.first_product + rng.random_range(0..self.products.max(1))
    }

    /// [`LINES`] different products (fewer when the range is smaller).
    fn products(&self, rng: &mut impl Rng) -> Vec<i64> {
        let mut picked = Vec::with_capacity(LINES);
        while picked.len() < LINES.min(usize::try_from(self.products.max(1)).unwrap_or(1)) {
            let product = self.product(rng);
            if !picked.contains(&product) {
                picked.push(product);
            }
        }
        picked
    }

    /// The request of a one-request scenario.
    fn request(&self, client: &reqwest::Client, inputs: &Inputs) -> reqwest::RequestBuilder {
        let mut rng = rand::rng();
        let product = self.product(&mut rng);
        let buyer = || &inputs.buyers[rand::rng().random_range(0..inputs.buyers.len())];
        match self.scenario {
            Scenario::Product => client.get(format!("{}/api/products/{product}", self.url)),
            Scenario::Browse => self.browse(client, inputs, &mut rng),
            Scenario::Search => client
                .get(format!("{}/api/products/search", self.url))
                .query(&[("q", catalog::search_words(&mut rng))]),
            Scenario::Listing => {
                let category = &inputs.categories[rng.random_range(0..inputs.categories.len())];
                client
                    .get(format!("{}/api/products", self.url))
                    .query(&[("category", category.as_str()), ("sort", "price")])
            }
            Scenario::Order => {
                let buyer = buyer();
                client
                    .post(format!("{}/api/orders", self.url))
                    .bearer_auth(&buyer.token)
                    .json(&json!({"user_id": buyer.id, "product_id": product, "quantity": 1}))
            }
            Scenario::Lines | Scenario::Checkout => {
                let buyer = buyer();
                let items: Vec<Value> = self
                    .products(&mut rng)
                    .into_iter()
                    .map(|id| json!({"product_id": id, "quantity": 1}))
                    .collect();
                client
                    .post(format!("{}/api/orders", self.url))
                    .bearer_auth(&buyer.token)
                    .json(&json!({"items": items, "address_id": buyer.address}))
            }
        }
    }

    /// The next request of [`Scenario::Browse`]: page, search, product, cart, in turn.
    fn browse(
        &self,
        client: &reqwest::Client,
        inputs: &Inputs,
        rng: &mut impl Rng,
    ) -> reqwest::RequestBuilder {
        match inputs.turns.fetch_add(1, Ordering::Relaxed) % 4 {
            0 => {
                // The listing takes offsets up to 10,000.
                let pages = (self.products / PAGE).clamp(1, 10_000 / PAGE + 1);
                let offset = PAGE * rng.random_range(0..pages);
                client
                    .get(format!("{}/api/products", self.url))
                    .query(&[("limit", PAGE), ("offset", offset)])
            }
            1 => client
                .get(format!("{}/api/products/search", self.url))
                .query(&[("q", rng.random_range(0..self.products.max(1)))]),
            2 => client.get(format!("{}/api/products/{}", self.url, self.product(rng))),
            _ => {
                let buyer = &inputs.buyers[rng.random_range(0..inputs.buyers.len())];
                client
                    .get(format!("{}/api/cart", self.url))
                    .bearer_auth(&buyer.token)
            }
        }
    }

    /// Fills an idle buyer's cart with [`LINES`] products and checks it out.
    async fn checkout(
        &self,
        client: &reqwest::Client,
        inputs: &Inputs,
    ) -> Result<bool, reqwest::Error> {
        let buyer = inputs.idle_buyer().await;
        let products = self.products(&mut rand::rng());
        for product in products {
            let add = client
                .post(format!("{}/api/cart/items", self.url))
                .bearer_auth(&buyer.token)
                .json(&json!({"product_id": product, "quantity": 1}));
            if !answered(add).await? {
                return Ok(false);
            }
        }
        let checkout = client
            .post(format!("{}/api/orders/checkout", self.url))
            .bearer_auth(&buyer.token)
            .json(&json!({"address_id": buyer.address}));
        answered(checkout).await
    }
}

/// A buyer taken from the idle ones; back among them when dropped, whatever became of the
/// checkout (an error or a panic included), so permits and idle buyers never disagree.
struct IdleBuyer<'a> {
    inputs: &'a Inputs,
    index: usize,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl std::ops::Deref for IdleBuyer<'_> {
    type Target = Buyer;

    fn deref(&self) -> &Buyer {
        &self.inputs.buyers[self.index]
    }
}

impl Drop for IdleBuyer<'_> {
    fn drop(&mut self) {
        // Before the permit (a field) is released: the next taker finds the buyer there.
        self.inputs
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(self.index);
    }
}

impl Inputs {
    /// Waits for a buyer no checkout is using.
    async fn idle_buyer(&self) -> IdleBuyer<'_> {
        let permit = self
            .free
            .acquire()
            .await
            .expect("the semaphore of idle buyers is never closed");
        let index = self
            .idle
            .lock()
            .expect("idle buyers lock")
            .pop()
            .expect("a permit stands for an idle buyer");
        IdleBuyer {
            inputs: self,
            index,
            _permit: permit,
        }
    }
}

/// Sends `request` and reads the whole answer (so the connection is reused): whether it was 2xx.
async fn answered(request: reqwest::RequestBuilder) -> Result<bool, reqwest::Error> {
    let response = request.send().await?;
    let ok = response.status().is_success();
    response.bytes().await?;
    Ok(ok)
}

/// Serves the hello-world reference on 127.0.0.1:`port` until killed.
pub async fn serve_hello(port: u16) -> anyhow::Result<()> {
    let app = Router::new().route("/", get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsing_asks_for_a_page_a_search_a_product_and_a_cart_in_turn() {
        let target = Target {
            scenario: Scenario::Browse,
            url: "http://shop".to_owned(),
            first_product: 101,
            products: 1000,
            buyers: String::new(),
        };
        let buyer = Buyer {
            id: 7,
            token: "token-7".to_owned(),
            address: None,
        };
        let inputs = Inputs::new(vec![buyer], Vec::new());
        let client = reqwest::Client::new();
        for _ in 0..3 {
            let [page, search, product, cart] = [(); 4].map(|()| {
                target
                    .request(&client, &inputs)
                    .build()
                    .expect("a valid request")
            });
            let query = |request: &reqwest::Request, name: &str| -> i64 {
                let (_, value) = request
                    .url()
                    .query_pairs()
                    .find(|(key, _)| key == name)
                    .expect("the parameter is there");
                value.parse().expect("a number")
            };
            assert_eq!(page.url().path(), "/api/products");
            assert_eq!(query(&page, "limit"), 20);
            let offset = query(&page, "offset");
            assert!(offset % 20 == 0 && (0..1000).contains(&offset), "{offset}");
            assert_eq!(search.url().path(), "/api/products/search");
            assert!((0..1000).contains(&query(&search, "q")));
            let id: i64 = product
                .url()
                .path()
                .strip_prefix("/api/products/")
                .and_then(|id| id.parse().ok())
                .expect("a product's path");
            assert!((101..1101).contains(&id), "{id}");
            assert_eq!(cart.url().path(), "/api/cart");
            assert_eq!(cart.headers()["authorization"], "Bearer token-7");
        }
    }
}
