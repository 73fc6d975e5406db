//! Listing and searching the catalogue: words with stemming and typos, categories with their
//! sub-categories, price ranges, availability, every order, stable pages.

use microshop_testkit::{TestApp, checks, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::categories::{category, product_in};
use crate::helpers::{admin, spawn_app};

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.client.get(&format!("/api/products{query}")).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    json(response)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A small shop: two laptops under Computers > Laptops, a lamp and a chair under Office.
async fn shop(app: &TestApp) -> (i64, i64, i64) {
    let computers = category(app, "Computers", None).await;
    let laptops = category(app, "Laptops", Some(computers)).await;
    let office = category(app, "Office", None).await;
    product_in(app, "Laptop Pro 14", 1999.0, Some(laptops)).await;
    product_in(app, "Gaming Laptop 17", 2499.99, Some(laptops)).await;
    product_in(app, "Desk Lamp", 39.5, Some(office)).await;
    let chair = product_in(app, "Office Chair", 249.0, Some(office)).await;
    let body = json!({"name": "Standing desk", "description": "An adjustable desk for laptops",
                      "price": 499.0, "stock": 0, "category_id": office});
    admin(app).post_json("/api/products", &body).await;
    (computers, office, chair)
}

#[sqlx::test]
async fn words_match_names_and_descriptions_stemmed_and_with_typos(pool: PgPool) {
    let app = spawn_app(pool).await;
    shop(&app).await;

    let found = names(&app, "/search?q=labtop").await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|n| n.contains("Laptop")), "{found:?}");
    // Stemmed: "laptops" finds "Laptop" in names and "laptops" in a description; names rank
    // above descriptions.
    let found = names(&app, "/search?q=laptops").await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[2], "Standing desk");
    assert_eq!(names(&app, "?q=chair").await, ["Office Chair"]);
    assert!(names(&app, "/search?q=xylophone").await.is_empty());
    // Without words a search is the listing, and relevance falls back to its order.
    let all = names(&app, "").await;
    assert_eq!(names(&app, "/search").await, all);
    assert_eq!(names(&app, "/search?q=%20%20&sort=relevance").await, all);
}

#[sqlx::test]
async fn filters_combine_and_a_category_includes_its_sub_categories(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (computers, office, _) = shop(&app).await;

    let in_computers = names(&app, &format!("?category={computers}")).await;
    assert_eq!(in_computers, ["Laptop Pro 14", "Gaming Laptop 17"]);
    assert_eq!(names(&app, "?category=computers").await, in_computers);
    assert_eq!(
        names(&app, &format!("?category={office}&max_price=100")).await,
        ["Desk Lamp"]
    );
    assert_eq!(
        names(&app, "?min_price=249&max_price=1999&sort=price").await,
        ["Office Chair", "Standing desk", "Laptop Pro 14"]
    );
    assert_eq!(
        names(&app, "?category=office&in_stock=false").await,
        ["Standing desk"]
    );
    assert_eq!(names(&app, "?category=office&in_stock=true").await.len(), 2);
    assert!(names(&app, "?min_price=10&max_price=5").await.is_empty());

    let unknown = app.client.get("/api/products?category=nothing").await;
    let body = checks::assert_error(unknown, StatusCode::NOT_FOUND, "unknown category").await;
    assert_eq!(body["error"]["code"], "category_not_found");
}

#[sqlx::test]
async fn every_order_is_total_and_pages_never_overlap(pool: PgPool) {
    let app = spawn_app(pool).await;
    shop(&app).await;

    assert_eq!(
        names(&app, "?sort=price").await,
        [
            "Desk Lamp",
            "Office Chair",
            "Standing desk",
            "Laptop Pro 14",
            "Gaming Laptop 17"
        ]
    );
    assert_eq!(
        names(&app, "?sort=-price").await,
        [
            "Gaming Laptop 17",
            "Laptop Pro 14",
            "Standing desk",
            "Office Chair",
            "Desk Lamp"
        ]
    );
    assert_eq!(
        names(&app, "?sort=name").await,
        [
            "Desk Lamp",
            "Gaming Laptop 17",
            "Laptop Pro 14",
            "Office Chair",
            "Standing desk"
        ]
    );
    assert_eq!(names(&app, "?sort=newest").await[0], "Standing desk");
    assert_eq!(names(&app, "").await[0], "Laptop Pro 14");

    for sort in ["price", "-price", "name", "newest", "rating", "oldest"] {
        let all = names(&app, &format!("?sort={sort}")).await;
        let mut paged = Vec::new();
        for offset in (0..6).step_by(2) {
            paged.extend(names(&app, &format!("?sort={sort}&limit=2&offset={offset}")).await);
        }
        assert_eq!(paged, all, "{sort}");
    }
}

#[sqlx::test]
async fn archived_products_leave_listings_and_search(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, _, chair) = shop(&app).await;
    let deleted = admin(&app)
        .send_as(
            Method::DELETE,
            &format!("/api/products/{chair}"),
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(names(&app, "/search?q=chair").await.is_empty());
    assert!(!names(&app, "").await.contains(&"Office Chair".to_owned()));
    let still = json(app.client.get(&format!("/api/products/{chair}")).await).await;
    assert_eq!(still["archived"], true);
}

#[sqlx::test]
async fn bad_queries_are_422_or_400_with_the_reason(pool: PgPool) {
    let app = spawn_app(pool).await;
    let long = format!("/search?q={}", "x".repeat(201));
    for (query, status) in [
        (long.as_str(), StatusCode::UNPROCESSABLE_ENTITY),
        ("/search?q=a%01b", StatusCode::UNPROCESSABLE_ENTITY),
        ("?sort=cheapest", StatusCode::UNPROCESSABLE_ENTITY),
        ("?min_price=-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("?max_price=0.001", StatusCode::UNPROCESSABLE_ENTITY),
        ("?min_price=abc", StatusCode::BAD_REQUEST),
        ("?in_stock=maybe", StatusCode::BAD_REQUEST),
        ("?limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("?limit=101", StatusCode::UNPROCESSABLE_ENTITY),
        ("?offset=10001", StatusCode::UNPROCESSABLE_ENTITY),
        ("?colour=red", StatusCode::BAD_REQUEST),
    ] {
        let response = app.client.get(&format!("/api/products{query}")).await;
        let body: Value = checks::assert_error(response, status, query).await;
        assert!(body["error"]["message"].as_str().is_some(), "{query}");
    }
}
