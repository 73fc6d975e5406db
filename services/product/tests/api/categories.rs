//! The category tree: admins shape it, everyone reads it with product counts.

use microshop_testkit::{TestApp, checks, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{admin, spawn_app};

/// Adds a category as an admin; its id.
pub async fn category(app: &TestApp, name: &str, parent_id: Option<i64>) -> i64 {
    let response = admin(app)
        .post_json(
            "/api/products/categories",
            &json!({"name": name, "parent_id": parent_id}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{name}");
    json(response).await["id"].as_i64().unwrap()
}

/// Adds a product in `category_id` as an admin; its id.
pub async fn product_in(app: &TestApp, name: &str, price: f64, category_id: Option<i64>) -> i64 {
    let body = json!({"name": name, "price": price, "stock": 5, "category_id": category_id});
    let response = admin(app).post_json("/api/products", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{name}");
    json(response).await["id"].as_i64().unwrap()
}

fn find<'a>(nodes: &'a Value, slug: &str) -> Option<&'a Value> {
    nodes.as_array()?.iter().find_map(|node| {
        if node["slug"] == slug {
            Some(node)
        } else {
            find(&node["children"], slug)
        }
    })
}

#[sqlx::test]
async fn the_tree_counts_the_products_of_every_category_below(pool: PgPool) {
    let app = spawn_app(pool).await;
    let computers = category(&app, "Computers", None).await;
    let laptops = category(&app, "Laptops", Some(computers)).await;
    let gaming = category(&app, "Gaming laptops", Some(laptops)).await;
    let _empty = category(&app, "Garden", None).await;
    product_in(&app, "Desktop", 900.0, Some(computers)).await;
    product_in(&app, "Ultrabook", 1200.0, Some(laptops)).await;
    product_in(&app, "Gamer 17", 2000.0, Some(gaming)).await;
    let archived = product_in(&app, "Old laptop", 100.0, Some(laptops)).await;
    let deleted = admin(&app)
        .send_as(
            Method::DELETE,
            &format!("/api/products/{archived}"),
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let tree = json(app.client.get("/api/products/categories").await).await;
    let top: Vec<&str> = tree
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["computers", "garden"]);
    assert_eq!(find(&tree, "computers").unwrap()["product_count"], 3);
    assert_eq!(find(&tree, "laptops").unwrap()["product_count"], 2);
    assert_eq!(find(&tree, "gaming-laptops").unwrap()["product_count"], 1);
    assert_eq!(find(&tree, "garden").unwrap()["product_count"], 0);
    assert_eq!(find(&tree, "laptops").unwrap()["parent_id"], computers);
}

#[sqlx::test]
async fn category_writes_are_for_admins_only(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let body = json!({"name": "Books"});
    checks::assert_needs_a_valid_token(
        &app.client,
        Method::POST,
        "/api/products/categories",
        Some(&body),
    )
    .await;
    checks::assert_admin_only(
        &app.client,
        Method::POST,
        "/api/products/categories",
        Some(&body),
    )
    .await;
    let id = category(&app, "Books", None).await;
    checks::assert_admin_only(
        &app.client,
        Method::PUT,
        &format!("/api/products/categories/{id}"),
        Some(&body),
    )
    .await;
    checks::assert_admin_only(
        &app.client,
        Method::DELETE,
        &format!("/api/products/categories/{id}"),
        None,
    )
    .await;
    let count: i64 = sqlx::query_scalar("select count(*) from categories")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test]
async fn a_category_with_products_or_sub_categories_cannot_be_deleted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let computers = category(&app, "Computers", None).await;
    let laptops = category(&app, "Laptops", Some(computers)).await;
    let product = product_in(&app, "Ultrabook", 1200.0, Some(laptops)).await;

    let path = |id: i64| format!("/api/products/categories/{id}");
    let delete = |id: i64| {
        let client = admin(&app);
        let path = path(id);
        async move { client.send_as(Method::DELETE, &path, None, None).await }
    };
    let refused = delete(computers).await;
    let body = checks::assert_error(refused, StatusCode::CONFLICT, "has a child").await;
    assert_eq!(body["error"]["code"], "category_not_empty");
    let refused = delete(laptops).await;
    checks::assert_error(refused, StatusCode::CONFLICT, "has a product").await;

    // An archived product still refers to its category.
    admin(&app)
        .send_as(
            Method::DELETE,
            &format!("/api/products/{product}"),
            None,
            None,
        )
        .await;
    let refused = delete(laptops).await;
    checks::assert_error(refused, StatusCode::CONFLICT, "has an archived product").await;

    let garden = category(&app, "Garden", None).await;
    assert_eq!(delete(garden).await.status(), StatusCode::NO_CONTENT);
    let gone = delete(garden).await;
    checks::assert_error(gone, StatusCode::NOT_FOUND, "deleted twice").await;
}

#[sqlx::test]
async fn slugs_are_unique_and_the_tree_has_no_cycles(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = category(&app, "Home office", None).await;
    let b = category(&app, "Desks", Some(a)).await;
    let c = category(&app, "Standing desks", Some(b)).await;

    let taken = admin(&app)
        .post_json(
            "/api/products/categories",
            &json!({"name": "Other", "slug": "home-office"}),
        )
        .await;
    let body = checks::assert_error(taken, StatusCode::CONFLICT, "slug taken").await;
    assert_eq!(body["error"]["code"], "slug_taken");

    let path = format!("/api/products/categories/{a}");
    for parent in [a, c] {
        let moved = admin(&app)
            .send_as(
                Method::PUT,
                &path,
                None,
                Some(&json!({"name": "Home office", "parent_id": parent})),
            )
            .await;
        let body = checks::assert_error(moved, StatusCode::UNPROCESSABLE_ENTITY, "cycle").await;
        assert_eq!(body["error"]["code"], "category_cycle");
    }
    let unknown = admin(&app)
        .post_json(
            "/api/products/categories",
            &json!({"name": "Lost", "parent_id": 999_999}),
        )
        .await;
    let body = checks::assert_error(unknown, StatusCode::UNPROCESSABLE_ENTITY, "no parent").await;
    assert_eq!(body["error"]["code"], "category_not_found");

    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "Shoes", "slug": "Shoes!"}),
        json!({"name": "Shoes", "parent_id": 0}),
        json!({"name": "Shoes", "colour": "red"}),
    ] {
        let response = admin(&app)
            .post_json("/api/products/categories", &bad)
            .await;
        assert!(
            response.status().is_client_error(),
            "{bad}: {}",
            response.status()
        );
    }

    // Renaming and moving to the top level work.
    let moved = admin(&app)
        .send_as(
            Method::PUT,
            &format!("/api/products/categories/{c}"),
            None,
            Some(&json!({"name": "Standing desks", "slug": "standing"})),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let moved = json(moved).await;
    assert_eq!(moved["slug"], "standing");
    assert_eq!(moved["parent_id"], Value::Null);
}
