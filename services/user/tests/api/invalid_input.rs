//! Every kind of bad input gets a clear 4xx with the standard error body and writes nothing.

use microshop_testkit::{checks, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{admin_token, spawn_app, user_count};

const JSON: &str = "application/json";

#[sqlx::test]
async fn malformed_registrations_are_4xx_and_store_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let long_name = "x".repeat(201);
    let huge_name = "x".repeat(1024 * 1024);
    let cases: Vec<(&str, String, &str, StatusCode)> = vec![
        ("empty body", String::new(), JSON, StatusCode::BAD_REQUEST),
        ("invalid JSON", r#"{"email": "a@b.c","#.into(), JSON, StatusCode::BAD_REQUEST),
        ("JSON that is not an object", "[1, 2]".into(), JSON, StatusCode::UNPROCESSABLE_ENTITY),
        ("no JSON content type", ann_text(), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "wrong type",
            json!({"email": true, "name": "A", "password": "password1"}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "number for a string",
            json!({"email": "a@b.c", "name": 5, "password": "password1"}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "missing field",
            json!({"email": "a@b.c", "name": "A"}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown field",
            json!({"email": "a@b.c", "name": "A", "password": "password1", "admin": true})
                .to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "name of 201 characters",
            json!({"email": "a@b.c", "name": long_name, "password": "password1"}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "name of 1 MB",
            json!({"email": "a@b.c", "name": huge_name, "password": "password1"}).to_string(),
            JSON,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "blank name",
            json!({"email": "a@b.c", "name": "   ", "password": "password1"}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "email without @",
            json!({"email": "ann.example.com", "name": "A", "password": "password1"}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "email of 255 characters",
            json!({"email": format!("{}@example.com", "a".repeat(243)), "name": "A", "password": "password1"})
                .to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "password too short",
            json!({"email": "a@b.c", "name": "A", "password": "short"}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "password too long",
            json!({"email": "a@b.c", "name": "A", "password": "p".repeat(129)}).to_string(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];

    for (case, body, content_type, expected) in cases {
        let response = app.client.post_raw("/api/users", body, content_type).await;
        checks::assert_error(response, expected, case).await;
    }
    assert_eq!(
        user_count(&pool).await,
        0,
        "a rejected request must write nothing"
    );
}

#[sqlx::test]
async fn field_errors_name_the_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let body = json!({"email": "a@b.c", "name": "x".repeat(201), "password": "password1"});
    let error = json(app.client.post_json("/api/users", &body).await).await;
    assert_eq!(error["error"]["code"], "validation_failed");
    assert_eq!(
        error["error"]["message"],
        "name must be at most 200 characters, got 201"
    );

    let body = json!({"email": "a@b.c", "name": "A", "password": "password1", "role": "admin"});
    let error = json(app.client.post_json("/api/users", &body).await).await;
    assert_eq!(error["error"]["code"], "invalid_body");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("unknown field `role`"), "{message}");
}

#[sqlx::test]
async fn ids_that_are_not_positive_64_bit_integers_are_400(pool: PgPool) {
    let app = spawn_app(pool).await;
    checks::assert_bad_ids_rejected(&app.client.authorized(&admin_token()), "/api/users").await;
}

#[sqlx::test]
async fn out_of_range_paging_is_rejected(pool: PgPool) {
    let app = spawn_app(pool).await;
    checks::assert_bad_paging_rejected(&app.client.authorized(&admin_token()), "/api/users").await;
}

#[sqlx::test]
async fn unknown_routes_and_methods_get_the_standard_error_body(pool: PgPool) {
    let app = spawn_app(pool).await;
    checks::assert_unknown_routes_rejected(&app.client, "/api/users/1").await;
}

fn ann_text() -> String {
    crate::helpers::ann().to_string()
}
