//! The pages of shopping against the real services: cart, checkout (one order however often
//! the form is sent), the order page, cancelling, and the admin's lists and restock.

use microshop_auth::Role;
use microshop_testkit::{auth, eventually, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{ADMIN, Page, Shop};

/// The value of the form field `name` on `page`.
fn field(page: &Page, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page
        .html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {}", page.html))
        + marker.len();
    let end = start + page.html[start..].find('"').unwrap();
    page.html[start..end].to_owned()
}

#[sqlx::test]
async fn a_customer_orders_the_cart_and_an_admin_sees_the_order(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    let kettle = shop
        .product(json!({"name": "Kettle", "price": 39.5, "stock": 5}))
        .await;
    shop.account("ann@example.com", "Ann").await;
    let mut ann = shop.browser();
    ann.sign_in("ann@example.com", "/").await;

    // Into the cart, then one more.
    let product = ann.get(&format!("/products/{kettle}")).await;
    let id = kettle.to_string();
    let added = ann
        .post(
            "/cart/items",
            &[
                ("product_id", &id),
                ("quantity", "2"),
                ("csrf", &product.csrf()),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    assert_eq!(added.location(), "/cart");
    let cart = ann.get("/cart").await;
    assert_eq!(cart.status, StatusCode::OK, "{}", cart.html);
    assert_eq!(cart.html.matches(r#"data-testid="cart-line""#).count(), 1);
    assert!(
        cart.html.contains(r#"data-testid="cart-total">$79.00<"#),
        "{}",
        cart.html
    );
    let path = format!("/cart/items/{kettle}");
    ann.post(&path, &[("quantity", "3"), ("csrf", &cart.csrf())])
        .await;
    let cart = ann.get("/cart").await;
    assert!(
        cart.html.contains(r#"data-testid="cart-total">$118.50<"#),
        "{}",
        cart.html
    );

    // Checkout to a new address; the same form sent twice is one order.
    let checkout = ann.get("/checkout").await;
    assert_eq!(checkout.status, StatusCode::OK, "{}", checkout.html);
    let key = field(&checkout, "idempotency_key");
    let csrf = checkout.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("name", "Ann Example"),
        ("line1", "Invalidenstraße 116"),
        ("line2", ""),
        ("city", "Berlin"),
        ("postal_code", "10115"),
        ("country", "de"),
        ("phone", ""),
    ];
    let placed = ann.post("/checkout", &form).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.html);
    let order_page = placed.location().to_owned();
    assert!(order_page.starts_with("/orders/"), "{order_page}");
    let again = ann.post("/checkout", &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.html);
    assert_eq!(again.location(), order_page);
    let orders = ann.get("/orders").await;
    assert_eq!(orders.html.matches(r#"data-testid="order-row""#).count(), 1);
    assert!(orders.html.contains(&format!(r#"href="{order_page}""#)));
    let account = ann.get("/account").await;
    assert_eq!(account.html.matches(r#"data-testid="address""#).count(), 1);
    assert!(ann.get("/cart").await.html.contains("Your cart is empty"));

    // The stock is reserved, the order confirmed; it can be paid or cancelled.
    let mut page = ann.get(&order_page).await;
    eventually("the order is confirmed", async || {
        page = ann.get(&order_page).await;
        page.html
            .contains(r#"data-testid="order-status" class="status">CONFIRMED<"#)
    })
    .await;
    assert!(
        page.html.matches(r#"data-testid="timeline-entry""#).count() >= 2,
        "{}",
        page.html
    );
    assert!(page.html.contains("Kettle") && page.html.contains("$118.50"));
    assert!(page.html.contains("10115 Berlin") && page.html.contains("Pay now"));
    assert!(
        page.html
            .contains(r#"data-testid="payment-status">Unknown for now"#)
    );
    // The payment service of this shop is not running.
    let pay = ann
        .post(&format!("{order_page}/pay"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(pay.status, StatusCode::SERVICE_UNAVAILABLE, "{}", pay.html);

    // The admin finds it among all orders, by status.
    let mut admin = shop.browser();
    admin.sign_in(ADMIN, "/").await;
    let order_id = order_page.trim_start_matches("/orders/");
    let admin_row = format!(r#"data-testid="order-row" href="/admin/orders/{order_id}""#);
    let all = admin.get("/admin/orders").await;
    assert!(all.html.contains(&admin_row), "{}", all.html);
    assert!(
        admin
            .get("/admin/orders?status=CONFIRMED")
            .await
            .html
            .contains(&admin_row)
    );
    assert!(
        !admin
            .get("/admin/orders?status=SHIPPED")
            .await
            .html
            .contains(&admin_row)
    );
    let seen = admin.get(&format!("/admin/orders/{order_id}")).await;
    assert!(
        seen.html
            .contains(r#"data-testid="order-status" class="status">CONFIRMED<"#)
    );
    assert!(
        !seen.html.contains("Mark shipped"),
        "only a paid order ships"
    );

    // The buyer cancels.
    let cancelled = ann
        .post(&format!("{order_page}/cancel"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.html
    );
    let page = ann.get(&order_page).await;
    assert!(
        page.html
            .contains(r#"data-testid="order-status" class="status">CANCELLED<"#)
    );
    assert!(!page.html.contains("Cancel order") && !page.html.contains("Pay now"));

    // The admin restocks.
    let inventory = admin.get("/admin/inventory").await;
    assert_eq!(
        inventory
            .html
            .matches(r#"data-testid="inventory-row""#)
            .count(),
        1
    );
    let restocked = admin
        .post(
            &format!("/admin/inventory/{kettle}"),
            &[("stock", "40"), ("csrf", &inventory.csrf())],
        )
        .await;
    assert_eq!(
        restocked.status,
        StatusCode::SEE_OTHER,
        "{}",
        restocked.html
    );
    assert_eq!(restocked.location(), "/admin/inventory");
    let level = shop
        .products
        .client
        .get_as(
            &format!("/api/inventory/{kettle}"),
            &auth::token(1, Role::Admin),
        )
        .await;
    assert_eq!(json(level).await["stock"], 40);
}
