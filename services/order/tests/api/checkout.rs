//! Checkout: the cart becomes one order of several lines shipped to the buyer's address, and the
//! lines ordered leave the cart only once the order is accepted; a retry with the same key gets
//! the same order; a refused checkout leaves the cart as it was.

use microshop_testkit::{Client, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::cart::client::{add, buyer, cart, lines, product, set};
use crate::helpers::{Options, Shop, refusal};

async fn shop(pool: PgPool) -> Shop {
    Shop::start_with(
        pool,
        Options {
            with_users: true,
            ..Options::default()
        },
    )
    .await
}

async fn checkout(client: &Client, address: i64, key: &str) -> reqwest::Response {
    client
        .http()
        .request(
            Method::POST,
            format!("{}/api/orders/checkout", client.base_url()),
        )
        .header("Idempotency-Key", key)
        .json(&json!({"address_id": address}))
        .send()
        .await
        .unwrap()
}

#[sqlx::test]
async fn checkout_turns_the_cart_into_one_order_and_empties_it_only_then(pool: PgPool) {
    let shop = shop(pool).await;
    let (user, address) = shop.buyer_with_address("ann").await;
    let ann = buyer(&shop, user);
    let laptop = product(&shop, "Laptop", 12999.0, 10).await;
    let mouse = product(&shop, "Mouse", 19.99, 10).await;
    let cable = product(&shop, "Cable", 4.5, 10).await;
    for (product, quantity) in [(laptop, 1), (mouse, 2), (cable, 3)] {
        assert!(add(&ann, product, quantity).await.status().is_success());
    }

    let response = checkout(&ann, address, "checkout-1").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = json(response).await;
    let items: Vec<(i64, i64)> = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["product_id"].as_i64().unwrap(),
                i["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [(laptop, 1), (mouse, 2), (cable, 3)],
        "in the cart's order"
    );
    assert_eq!(order["total_price"], 13052.48);
    assert_eq!(order["shipping_address"]["postal_code"], "10115");
    assert!(lines(&cart(&ann).await).is_empty(), "the cart is empty");
    let id = order["id"].as_i64().unwrap();
    assert_eq!(shop.settled(id).await["status"], "CONFIRMED");

    // A retry (the answer was lost) gets the same order, though the cart is empty now.
    let again = checkout(&ann, address, "checkout-1").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await["id"], id);
    let count: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&shop.order_pool)
        .await
        .unwrap();
    assert_eq!(count, 1);

    // Nothing left to check out.
    let (status, code, _) = refusal(checkout(&ann, address, "checkout-2").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "cart_empty")
    );
}

#[sqlx::test]
async fn a_refused_checkout_leaves_the_cart_as_it_was(pool: PgPool) {
    let shop = shop(pool).await;
    let (user, address) = shop.buyer_with_address("bob").await;
    let (_, someone_elses) = shop.buyer_with_address("carol").await;
    let bob = buyer(&shop, user);
    let scarce = product(&shop, "Scarce", 10.0, 2).await;
    let plenty = product(&shop, "Plenty", 1.0, 100).await;
    assert!(add(&bob, plenty, 5).await.status().is_success());
    assert!(add(&bob, scarce, 2).await.status().is_success());

    let (status, code, _) = refusal(checkout(&bob, someone_elses, "c-1").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "address_not_found")
    );
    assert!(
        set(&bob, scarce, 3).await.status().is_success(),
        "a cart may ask for more than there is"
    );
    let (status, code, _) = refusal(checkout(&bob, address, "c-2").await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "out_of_stock")
    );
    assert_eq!(lines(&cart(&bob).await), [(plenty, 5), (scarce, 3)]);
    let orders: i64 = sqlx::query_scalar("select count(*) from orders")
        .fetch_one(&shop.order_pool)
        .await
        .unwrap();
    assert_eq!(orders, 0, "nothing was ordered");
}
