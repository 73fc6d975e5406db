//! Adding, reading and listing products.

use microshop_testkit::json;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{laptop, spawn_app};

#[sqlx::test]
async fn an_added_product_can_be_read_back(pool: PgPool) {
    let app = spawn_app(pool).await;

    let created = app.client.post_json("/api/products", &laptop()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let id = created["id"].as_i64().expect("id is a number");
    assert_eq!(created["name"], "Laptop");
    assert_eq!(created["stock"], 50);

    let fetched = json(app.client.get(&format!("/api/products/{id}")).await).await;
    assert_eq!(fetched, created);
}

#[sqlx::test]
async fn prices_are_exact_and_shown_as_the_seed_showed_them(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let body = json!({"name": "Pen", "price": 19.99, "stock": 3});
    let response = app
        .client
        .post_raw("/api/products", body.to_string(), "application/json")
        .await;
    let text = response.text().await.unwrap();
    assert!(text.contains(r#""price":19.99"#), "{text}");

    let laptop = app
        .client
        .post_json("/api/products", &laptop())
        .await
        .text()
        .await
        .unwrap();
    assert!(laptop.contains(r#""price":12999.0"#), "{laptop}");

    let cents: Vec<i64> = sqlx::query_scalar("select price_cents from products order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(cents, [1999, 1_299_900]);
}

#[sqlx::test]
async fn description_may_be_left_out(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app
        .client
        .post_json(
            "/api/products",
            &json!({"name": "Mug", "price": 5, "stock": 0}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json(response).await;
    assert_eq!(body["description"], "");
    assert_eq!(body["stock"], 0);
}

#[sqlx::test]
async fn the_seeds_trailing_slash_route_works(pool: PgPool) {
    let app = spawn_app(pool).await;
    let created = app.client.post_json("/api/products/", &laptop()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed = json(app.client.get("/api/products/").await).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[sqlx::test]
async fn products_are_listed_in_pages(pool: PgPool) {
    let app = spawn_app(pool).await;
    for name in ["A", "B", "C"] {
        let body = json!({"name": name, "price": 1.5, "stock": 1});
        assert_eq!(
            app.client.post_json("/api/products", &body).await.status(),
            StatusCode::CREATED
        );
    }

    let all = json(app.client.get("/api/products").await).await;
    let names: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);

    let page = json(app.client.get("/api/products?limit=2&offset=1").await).await;
    let names: Vec<_> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, ["B", "C"]);
}

#[sqlx::test]
async fn an_unknown_product_is_404(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app.client.get("/api/products/77").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], "product_not_found");
    assert_eq!(body["error"]["message"], "product 77 does not exist");
}

#[sqlx::test]
async fn stock_can_never_be_negative_even_bypassing_the_api(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.client.post_json("/api/products", &laptop()).await;

    let result = sqlx::query("update products set stock = -1")
        .execute(&pool)
        .await;
    assert!(result.is_err(), "the database must refuse negative stock");
}

#[sqlx::test]
async fn openapi_describes_every_route(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc = json(app.client.get("/openapi.json").await).await;
    for path in ["/api/products", "/api/products/{id}"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from {doc}");
    }
    assert!(doc["components"]["schemas"]["ProductResponse"].is_object());
}
