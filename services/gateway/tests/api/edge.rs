//! Authentication at the edge: protected routes are refused before any service is called;
//! public routes and the services' own verdicts pass; the answers carry the security headers.

use microshop_auth::Role;
use microshop_testkit::{auth, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{gateway, start};

#[tokio::test]
async fn protected_routes_without_a_valid_token_never_reach_a_service() {
    // Every service is unreachable: a request that went out would be a 503, so a 401 proves it
    // was refused at the edge.
    let gateway = gateway([None, None, None, None, None], &[]).await;
    let routes = [
        ("GET", "/api/orders"),
        ("GET", "/api/cart"),
        ("POST", "/api/orders/1/pay"),
        ("GET", "/api/users/profile"),
        ("GET", "/api/users"),
        ("POST", "/api/products"),
        ("GET", "/api/products/1/reviews/mine"),
        ("GET", "/api/payments?order_id=1"),
        ("GET", "/api/notifications"),
        ("GET", "/api/inventory/1"),
        ("GET", "/api/v1/orders"),
        ("GET", "/api/v1/profile"),
        ("GET", "/api/v1/orders/1/details"),
    ];
    let mut tokens: Vec<(&str, Option<String>)> = vec![("no token", None)];
    tokens.extend(
        auth::bad_tokens(7, Role::Customer)
            .into_iter()
            .map(|(case, token)| (case, Some(token))),
    );
    for (method, path) in routes {
        for (case, token) in &tokens {
            let mut request = gateway.client.http().request(
                method.parse().unwrap(),
                format!("{}{path}", gateway.client.base_url()),
            );
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let answer = request.send().await.unwrap();
            assert_eq!(
                answer.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {case}"
            );
            assert!(answer.headers().contains_key("www-authenticate"));
            let body = json(answer).await;
            assert!(body["error"]["code"].is_string(), "{body}");
        }
    }
    let metrics = gateway.client.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        crate::sample(&metrics, "upstream_requests_total", &["outcome=\"ok\""]).unwrap_or(0),
        0,
        "no request went out: {metrics}"
    );
    assert!(
        crate::sample(&metrics, "auth_failures_total", &[]).unwrap_or(0) > 0,
        "{metrics}"
    );
}

#[sqlx::test]
async fn public_routes_need_no_token_and_valid_tokens_pass(pool: PgPool) {
    let (gateway, _products, _db, _broker) = start(&pool).await;
    let admin = auth::token(1, Role::Admin);
    let created = gateway
        .client
        .post_json_as(
            "/api/products",
            &json!({"name": "Lamp", "price": 20, "stock": 3}),
            &admin,
        )
        .await;
    let status = created.status();
    let created = json(created).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    for path in [
        format!("/api/products/{id}"),
        "/api/products?limit=3".to_owned(),
        format!("/api/products/{id}/reviews"),
        "/api/products/categories".to_owned(),
        format!("/api/v1/products/{id}"),
    ] {
        assert_eq!(
            gateway.client.get(&path).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    // An expired token on a public read: the catalogue answers anyway.
    let expired = auth::token_with(7, Role::Customer, |claims| claims.exp = 1);
    let answer = gateway
        .client
        .get_as(&format!("/api/products/{id}"), &expired)
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    // A customer's valid token passes the edge; the service's own rule (admins only) answers.
    let refused = gateway
        .client
        .post_json_as(
            "/api/products",
            &json!({"name": "Lamp", "price": 20, "stock": 3}),
            &auth::token(7, Role::Customer),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let gateway = gateway([None, None, None, None, None], &[]).await;
    for path in ["/api/orders", "/api/nothing"] {
        let answer = gateway.client.get(path).await;
        let headers = answer.headers();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
    }
}

#[tokio::test]
async fn cors_answers_only_the_allowed_origins() {
    let gateway = gateway(
        [None, None, None, None, None],
        &["--cors-allowed-origins=https://admin.example".to_owned()],
    )
    .await;
    let preflight = |origin: &'static str| {
        gateway
            .client
            .http()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/orders", gateway.client.base_url()),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://admin.example").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://admin.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn oversized_bodies_and_heads_are_refused_before_any_service() {
    let gateway = gateway([None, None, None, None, None], &[]).await;
    let token = auth::token(7, Role::Customer);
    let big = "x".repeat(microshop_web::server::BODY_LIMIT_BYTES + 1);
    let answer = gateway
        .client
        .http()
        .post(format!("{}/api/orders", gateway.client.base_url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let answer = gateway
        .client
        .http()
        .get(format!("{}/api/products", gateway.client.base_url()))
        .header("x-padding", "y".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}
