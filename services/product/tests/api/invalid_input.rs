//! Every kind of bad input gets a clear 4xx with the standard error body and writes nothing.

use microshop_testkit::{checks, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{admin, laptop, product_count, spawn_app};

/// `laptop()` with `field` replaced by the raw JSON text `value`.
fn with_raw(field: &str, value: &str) -> String {
    let mut body = laptop();
    body[field] = json!("__RAW__");
    body.to_string().replace(r#""__RAW__""#, value)
}

#[sqlx::test]
async fn malformed_products_are_4xx_and_store_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let huge = format!("\"{}\"", "x".repeat(1024 * 1024));
    let long = format!("\"{}\"", "x".repeat(201));
    let without_name = {
        let mut body = laptop();
        body.as_object_mut().unwrap().remove("name");
        body.to_string()
    };
    let cases: Vec<(&str, String, StatusCode)> = vec![
        ("empty body", String::new(), StatusCode::BAD_REQUEST),
        (
            "invalid JSON",
            r#"{"name": "Laptop""#.into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bare NaN",
            with_raw("price", "NaN"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "price 1e309",
            with_raw("price", "1e309"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "boolean stock",
            with_raw("stock", "true"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "string price",
            with_raw("price", r#""12.5""#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "string NaN price",
            with_raw("price", r#""NaN""#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "string stock",
            with_raw("stock", r#""5""#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "fractional stock",
            with_raw("stock", "1.5"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "null name",
            with_raw("name", "null"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "missing name",
            without_name,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown field",
            with_raw("colour", r#""red""#),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "name of 201 characters",
            with_raw("name", &long),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "name of 1 MB",
            with_raw("name", &huge),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "negative price",
            with_raw("price", "-1"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "zero price",
            with_raw("price", "0"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "price above the limit",
            with_raw("price", "1000000.01"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "fractional cents",
            with_raw("price", "19.999"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "stock -1",
            with_raw("stock", "-1"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "stock above the limit",
            with_raw("stock", "1000000001"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "stock beyond 64 bits",
            with_raw("stock", "99999999999999999999"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];

    for (case, body, expected) in cases {
        let response = admin(&app)
            .post_raw("/api/products", body, "application/json")
            .await;
        checks::assert_error(response, expected, case).await;
    }
    assert_eq!(
        product_count(&pool).await,
        0,
        "a rejected request must write nothing"
    );
}

#[sqlx::test]
async fn field_errors_name_the_field_and_the_limit(pool: PgPool) {
    let app = spawn_app(pool).await;
    let cases = [
        (
            with_raw("stock", "-1"),
            "stock must be between 0 and 1000000000, got -1",
        ),
        (
            with_raw("price", "-1"),
            "price must be between 0.01 and 1000000, got -1",
        ),
        (
            with_raw("price", "19.999"),
            "price must have at most two decimal places, got 19.999",
        ),
    ];
    for (body, message) in cases {
        let response = admin(&app)
            .post_raw("/api/products", body, "application/json")
            .await;
        let error = json(response).await;
        assert_eq!(error["error"]["code"], "validation_failed");
        assert_eq!(error["error"]["message"], message);
    }
}

#[sqlx::test]
async fn product_ids_that_are_not_positive_64_bit_integers_are_400(pool: PgPool) {
    let app = spawn_app(pool).await;
    checks::assert_bad_ids_rejected(&app.client, "/api/products").await;
}

#[sqlx::test]
async fn out_of_range_product_paging_is_rejected(pool: PgPool) {
    let app = spawn_app(pool).await;
    checks::assert_bad_paging_rejected(&app.client, "/api/products").await;
}

#[sqlx::test]
async fn unknown_product_routes_and_methods_get_the_standard_error_body(pool: PgPool) {
    let app = spawn_app(pool).await;
    checks::assert_unknown_routes_rejected(&app.client, "/api/products/search").await;
}
