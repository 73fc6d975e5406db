//! The catalogue and the product page show what the product service has.

use microshop_auth::Role;
use microshop_testkit::{auth, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::Shop;

#[sqlx::test]
async fn the_catalogue_and_the_product_page_show_the_product_service_s_products(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    let admin = auth::token(1, Role::Admin);
    let kitchen = shop
        .products
        .client
        .post_json_as(
            "/api/products/categories",
            &json!({"name": "Kitchen"}),
            &admin,
        )
        .await;
    assert_eq!(kitchen.status(), StatusCode::CREATED);
    let kitchen = json(kitchen).await["id"].as_i64().unwrap();
    let kettle = shop
        .product(
            json!({"name": "Kettle", "description": "Boils water.", "price": 39.5,
                        "stock": 12, "category_id": kitchen}),
        )
        .await;
    let lamp = shop
        .product(json!({"name": "Desk lamp", "price": 25, "stock": 0}))
        .await;
    let mut browser = shop.browser();

    let page = browser.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_html();
    let html = &page.html;
    assert!(html.contains(r#"<html lang="en">"#) && html.contains(r#"name="viewport""#));
    assert!(html.contains(r#"<form role="search""#) && html.contains(r#"name="q""#));
    assert!(html.contains(r#"href="/static/shop.css""#));
    assert!(
        html.contains(&format!(
            r#"data-testid="product-card" href="/products/{kettle}""#
        )),
        "{html}"
    );
    assert!(html.contains("Kettle") && html.contains("$39.50") && html.contains("Desk lamp"));
    assert!(
        html.contains(r#"data-testid="category" href="/?category=kitchen""#),
        "{html}"
    );

    let found = browser.get("/?q=kettle").await;
    assert!(found.html.contains("Kettle") && !found.html.contains("Desk lamp"));
    assert!(
        found.html.contains(r#"value="kettle""#),
        "the search stays in the box"
    );
    let in_kitchen = browser.get("/?category=kitchen").await;
    assert!(in_kitchen.html.contains("Kettle") && !in_kitchen.html.contains("Desk lamp"));

    let product = browser.get(&format!("/products/{kettle}")).await;
    assert_eq!(product.status, StatusCode::OK);
    assert!(product.html.contains("<h1>Kettle</h1>"), "{}", product.html);
    assert!(product.html.contains(r#"data-testid="price">$39.50<"#));
    assert!(
        product
            .html
            .contains(r#"data-testid="stock">In stock: 12<"#)
    );
    assert!(product.html.contains("Boils water.") && product.html.contains("Add to cart"));
    assert!(product.html.contains("No reviews yet"));
    let sold_out = browser.get(&format!("/products/{lamp}")).await;
    assert!(
        sold_out
            .html
            .contains(r#"data-testid="stock">Out of stock<"#)
    );
    assert!(!sold_out.html.contains("Add to cart"));

    for missing in ["/products/999999", "/products/kettle", "/no/such/page"] {
        let page = browser.get(missing).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{missing}");
        page.assert_html();
        assert!(
            page.html.contains("Page not found"),
            "{missing}: {}",
            page.html
        );
    }

    let css = shop.gateway.client.get("/static/shop.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[sqlx::test]
async fn the_catalogue_shows_twelve_products_a_page(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    for n in 1..=13 {
        shop.product(json!({"name": format!("Item {n:02}"), "price": 1, "stock": 1}))
            .await;
    }
    let mut browser = shop.browser();
    let cards = |html: &str| html.matches(r#"data-testid="product-card""#).count();

    let first = browser.get("/").await;
    assert_eq!(cards(&first.html), 12);
    assert!(
        first.html.contains(r#"href="/?page=2" rel="next""#),
        "{}",
        first.html
    );
    assert!(!first.html.contains(r#"rel="prev""#));
    let second = browser.get("/?page=2").await;
    assert_eq!(cards(&second.html), 1);
    assert!(
        second.html.contains(r#"href="/" rel="prev""#) && !second.html.contains(r#"rel="next""#)
    );
    // A page number that is not one is the first page.
    assert_eq!(cards(&browser.get("/?page=abc").await.html), 12);
}
