//! Driving the cart and the catalogue it needs, for the cart's tests and the read model's.

use futures::future::join_all;
use microshop_testkit::{Client, json};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Shop, admin, customer};

/// Adds a product named `name` at `price` with `stock` units; returns its id.
pub async fn product(shop: &Shop, name: &str, price: f64, stock: i64) -> i64 {
    let body = json!({"name": name, "price": price, "stock": stock});
    let response = shop
        .products()
        .client
        .post_json_as("/api/products", &body, &admin())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await["id"].as_i64().unwrap()
}

/// `n` products with 100 units each, added at once.
pub async fn products(shop: &Shop, n: usize) -> Vec<i64> {
    let names: Vec<String> = (0..n).map(|i| format!("Item {i}")).collect();
    join_all(names.iter().map(|name| product(shop, name, 1.5, 100))).await
}

/// Takes product `id` out of the catalogue.
pub async fn archive(shop: &Shop, id: i64) {
    let path = format!("/api/products/{id}");
    let response = shop
        .products()
        .client
        .send_as(Method::DELETE, &path, Some(&admin()), None)
        .await;
    assert!(response.status().is_success(), "{}", response.status());
}

/// `user`'s client of the order service.
pub fn buyer(shop: &Shop, user: i64) -> Client {
    shop.orders.client.authorized(&customer(user))
}

/// `POST /api/cart/items`.
pub async fn add(client: &Client, product_id: i64, quantity: i64) -> Response {
    let body = json!({"product_id": product_id, "quantity": quantity});
    client.post_json("/api/cart/items", &body).await
}

/// `PUT /api/cart/items/{product_id}`.
pub async fn set(client: &Client, product_id: i64, quantity: i64) -> Response {
    let path = format!("/api/cart/items/{product_id}");
    let body = json!({ "quantity": quantity });
    client.send_as(Method::PUT, &path, None, Some(&body)).await
}

/// `DELETE /api/cart/items/{product_id}`.
pub async fn remove(client: &Client, product_id: i64) -> Response {
    let path = format!("/api/cart/items/{product_id}");
    client.send_as(Method::DELETE, &path, None, None).await
}

/// `GET /api/cart`, which must answer 200.
pub async fn cart(client: &Client) -> Value {
    let response = client.get("/api/cart").await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

/// `(product_id, quantity)` of each line, in order.
pub fn lines(cart: &Value) -> Vec<(i64, i64)> {
    cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["product_id"].as_i64().unwrap(),
                line["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// `user`'s cart key in the test's Redis.
pub fn cart_key(shop: &Shop, user: i64) -> String {
    format!("{}cart:{user}", shop.broker.topology.prefix())
}

/// A connection to the test Redis, as the service's default URL names it.
pub async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open("redis://127.0.0.1:6379/0")
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
