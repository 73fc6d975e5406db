//! Registering, reading, listing and logging in.

use futures::future::join_all;
use microshop_auth::Role;
use microshop_testkit::{auth, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{admin_token, ann, spawn_app, user_count};

#[sqlx::test]
async fn a_registered_user_can_be_read_back_without_any_password(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;

    let created = app.client.post_json("/api/users", &ann()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let id = created["id"].as_i64().expect("id is a number");

    let fetched = json(
        app.client
            .get_as(
                &format!("/api/users/{id}"),
                &auth::token(id, Role::Customer),
            )
            .await,
    )
    .await;
    assert_eq!(fetched, created);
    assert_eq!(fetched["email"], "ann@example.com");
    assert_eq!(fetched["name"], "Ann Example");
    for body in [&created, &fetched] {
        let text = body.to_string();
        assert!(
            !text.contains("password") && !text.contains("argon2"),
            "{text}"
        );
    }
}

#[sqlx::test]
async fn passwords_are_stored_as_argon2id_hashes(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.client.post_json("/api/users", &ann()).await;

    let hash: String = sqlx::query_scalar("select password_hash from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
}

#[sqlx::test]
async fn the_trailing_slash_collection_route_works_too(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let created = app.client.post_json("/api/users/", &ann()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed = json(app.client.get_as("/api/users/", &admin_token()).await).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[sqlx::test]
async fn users_are_listed_in_pages(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    for i in 0..3 {
        let body = json!({"email": format!("u{i}@example.com"), "name": format!("U{i}"), "password": "password{i}"});
        assert_eq!(
            app.client.post_json("/api/users", &body).await.status(),
            StatusCode::CREATED
        );
    }

    let admin = admin_token();
    let all = json(app.client.get_as("/api/users", &admin).await).await;
    let emails: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].clone())
        .collect();
    assert_eq!(
        emails,
        ["u0@example.com", "u1@example.com", "u2@example.com"]
    );

    let page = json(
        app.client
            .get_as("/api/users?limit=1&offset=1", &admin)
            .await,
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["email"], "u1@example.com");
}

#[sqlx::test]
async fn an_unknown_user_is_404(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app.client.get_as("/api/users/4242", &admin_token()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(response).await["error"]["code"], "user_not_found");
}

#[sqlx::test]
async fn login_accepts_the_right_password_in_any_email_case(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.client.post_json("/api/users", &ann()).await;

    let response = app
        .client
        .post_json(
            "/api/users/login",
            &json!({"email": "ANN@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["user"]["email"], "ann@example.com");
}

#[sqlx::test]
async fn login_refuses_a_wrong_password_and_an_unknown_email_alike(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.client.post_json("/api/users", &ann()).await;

    for body in [
        json!({"email": "ann@example.com", "password": "wrong horse"}),
        json!({"email": "nobody@example.com", "password": "correct horse"}),
        json!({"email": "ann@example.com", "password": "x".repeat(500)}),
    ] {
        let response = app.client.post_json("/api/users/login", &body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = json(response).await;
        assert_eq!(body["error"]["code"], "invalid_credentials");
        assert_eq!(
            body["error"]["message"],
            "e-mail address or password is wrong"
        );
    }
}

#[sqlx::test]
async fn a_duplicate_email_is_409_whatever_its_case(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.client.post_json("/api/users", &ann()).await;

    let again = json!({"email": "Ann@Example.com", "name": "Other Ann", "password": "another one"});
    let response = app.client.post_json("/api/users", &again).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(json(response).await["error"]["code"], "email_taken");
    assert_eq!(user_count(&pool).await, 1);
}

#[sqlx::test]
async fn twenty_concurrent_registrations_of_one_email_create_exactly_one_user(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;

    let body = ann();
    let responses = join_all((0..20).map(|_| app.client.post_json("/api/users", &body))).await;

    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses[0], 201, "{statuses:?}");
    assert!(statuses[1..].iter().all(|s| *s == 409), "{statuses:?}");
    assert_eq!(user_count(&pool).await, 1);
}

#[sqlx::test]
async fn openapi_describes_every_route(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc = json(app.client.get("/openapi.json").await).await;
    for path in [
        "/api/users",
        "/api/users/register",
        "/api/users/{id}",
        "/api/users/{id}/role",
        "/api/users/login",
        "/api/users/addresses",
        "/api/users/addresses/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from {doc}");
    }
    assert!(doc["components"]["schemas"]["CreateUserRequest"].is_object());
    // Who may call what: registration is public, everything else names the bearer scheme, and
    // the admin routes say they answer 403.
    let operation = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method) in [("/api/users", "post"), ("/api/users/register", "post")] {
        assert!(
            operation(path, method)["security"].is_null(),
            "{method} {path}"
        );
        assert!(operation(path, method)["responses"]["201"].is_object());
    }
    for (path, method, statuses) in [
        ("/api/users", "get", &["200", "401", "403"][..]),
        ("/api/users/{id}", "get", &["200", "401", "404"]),
        (
            "/api/users/{id}/role",
            "put",
            &["200", "401", "403", "404", "409", "422"],
        ),
        ("/api/users/addresses", "get", &["200", "401"]),
        (
            "/api/users/addresses",
            "post",
            &["201", "401", "409", "422"],
        ),
        (
            "/api/users/addresses/{id}",
            "put",
            &["200", "401", "404", "409", "422"],
        ),
        (
            "/api/users/addresses/{id}",
            "delete",
            &["204", "401", "404"],
        ),
    ] {
        let operation = operation(path, method);
        assert_eq!(
            operation["security"],
            json!([{"bearer": []}]),
            "{method} {path}"
        );
        for status in statuses {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} does not declare {status}"
            );
        }
    }
    let country = &doc["components"]["schemas"]["AddressRequest"]["properties"]["country"];
    assert_eq!(
        country["enum"].as_array().map(Vec::len),
        Some(249),
        "{country}"
    );
}

#[sqlx::test]
async fn metrics_count_requests_by_route_template(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.client.post_json("/api/users", &ann()).await;
    let token = auth::token(1, Role::Customer);
    app.client.get_as("/api/users/1", &token).await;
    app.client.get_as("/api/users/2", &token).await;

    let metrics = app.client.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(
        r#"http_requests_total{method="POST",route="/api/users",status="201",service="user-service"} 1"#
    ), "{metrics}");
    assert!(metrics.contains(
        r#"http_requests_total{method="GET",route="/api/users/{id}",status="200",service="user-service"} 1"#
    ));
    assert!(metrics.contains(
        r#"http_requests_total{method="GET",route="/api/users/{id}",status="404",service="user-service"} 1"#
    ));
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("process_resident_memory_bytes"));
}
