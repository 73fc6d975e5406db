//! The provider API's sessions: the API key, creating, looking up, idempotency, validation,
//! and the OpenAPI document.

use microshop_testkit::checks::assert_error;
use microshop_testkit::{Client, json};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{API_KEY, PUBLIC_URL, Sandbox};

#[tokio::test]
async fn every_provider_and_test_route_needs_the_api_key() {
    let sandbox = Sandbox::start().await;
    let session = sandbox.session("42").await;
    let id = session["id"].as_str().unwrap();
    let body = json!({"amount_cents": 1, "currency": "USD", "reference": "1"});
    let routes = [
        (Method::POST, "/v1/checkout/sessions".to_owned()),
        (Method::GET, format!("/v1/checkout/sessions/{id}")),
        (Method::POST, "/v1/refunds".to_owned()),
        (Method::PUT, "/v1/test/settings".to_owned()),
        (Method::POST, "/v1/test/release".to_owned()),
        (Method::GET, "/v1/test/deliveries".to_owned()),
    ];
    let wrong = format!("{API_KEY}x");
    for (method, path) in routes {
        for token in [None, Some(wrong.as_str()), Some("")] {
            let response = sandbox
                .browser()
                .send_as(method.clone(), &path, token, Some(&body))
                .await;
            let case = format!("{method} {path} with {token:?}");
            let error = assert_error(response, StatusCode::UNAUTHORIZED, &case).await;
            assert_eq!(error["error"]["code"], "api_key_invalid", "{case}");
        }
    }
}

#[tokio::test]
async fn a_created_session_is_open_and_can_be_looked_up() {
    let sandbox = Sandbox::start().await;
    let response = sandbox
        .create(
            &json!({"amount_cents": 1299, "currency": "USD", "reference": "42",
                        "description": "Order 17", "return_url": "http://shop.test/orders/17"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session = json(response).await;
    let id = session["id"].as_str().unwrap();
    assert!(id.starts_with("cs_") && id.len() == 35, "{id}");
    assert_eq!(session["url"], format!("{PUBLIC_URL}/checkout/{id}"));
    assert_eq!(session["status"], "open");
    assert_eq!(session["amount_cents"], 1299);
    assert_eq!(session["currency"], "USD");
    assert_eq!(session["reference"], "42");
    assert_eq!(session["refunded_cents"], 0);
    assert!(session.get("failure_code").is_none());

    assert_eq!(sandbox.get_session(id).await, session);
    let missing = sandbox
        .api
        .get("/v1/checkout/sessions/cs_00000000000000000000000000000000")
        .await;
    let error = assert_error(missing, StatusCode::NOT_FOUND, "unknown session").await;
    assert_eq!(error["error"]["code"], "session_not_found");
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_session() {
    let sandbox = Sandbox::start().await;
    let body = json!({"amount_cents": 500, "currency": "USD", "reference": "7"});
    let create = |key: &'static str| {
        let api = sandbox.api.clone();
        let body = body.clone();
        async move {
            api.http()
                .post(format!("{}/v1/checkout/sessions", api.base_url()))
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = create("payment-7").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json(first).await;

    let again = create("payment-7").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json(again).await["id"], first["id"]);

    let other = create("payment-8").await;
    assert_eq!(other.status(), StatusCode::CREATED);
    assert_ne!(json(other).await["id"], first["id"]);
}

#[tokio::test]
async fn a_session_breaking_a_rule_is_refused_with_422() {
    let sandbox = Sandbox::start().await;
    for (body, code) in [
        (
            json!({"amount_cents": 0, "currency": "USD", "reference": "1"}),
            "validation_failed",
        ),
        (
            json!({"amount_cents": 1.5, "currency": "USD", "reference": "1"}),
            "invalid_body",
        ),
        (
            json!({"amount_cents": 100, "currency": "dollars", "reference": "1"}),
            "validation_failed",
        ),
        (
            json!({"amount_cents": 100, "currency": "USD", "reference": " "}),
            "validation_failed",
        ),
        (
            json!({"amount_cents": 100, "currency": "USD"}),
            "invalid_body",
        ),
        (
            json!({"amount_cents": 100, "currency": "USD", "reference": "1", "colour": "red"}),
            "invalid_body",
        ),
        (
            json!({"amount_cents": 100, "currency": "USD", "reference": "1",
                "return_url": "javascript:alert(1)"}),
            "validation_failed",
        ),
    ] {
        let response = sandbox.create(&body).await;
        let error = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            &body.to_string(),
        )
        .await;
        assert_eq!(error["error"]["code"], code, "{body}");
    }
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_status() {
    let sandbox = Sandbox::start().await;
    let doc = json(sandbox.browser().get("/openapi.json").await).await;
    let paths = &doc["paths"];
    for (path, method, statuses) in [
        (
            "/v1/checkout/sessions",
            "post",
            &["200", "201", "401", "422"][..],
        ),
        ("/v1/checkout/sessions/{id}", "get", &["200", "401", "404"]),
        (
            "/v1/refunds",
            "post",
            &["200", "201", "401", "404", "409", "422"],
        ),
        ("/checkout/{session}", "get", &["200", "404"]),
        (
            "/checkout/{session}",
            "post",
            &["200", "404", "409", "415", "422"],
        ),
        ("/v1/test/settings", "put", &["200", "401", "422"]),
        ("/v1/test/release", "post", &["200", "401"]),
        ("/v1/test/deliveries", "get", &["200", "401"]),
    ] {
        let responses = &paths[path][method]["responses"];
        for status in statuses {
            assert!(
                responses.get(status).is_some(),
                "{method} {path} documents {status}"
            );
        }
    }
    let page = &paths["/checkout/{session}"]["get"]["responses"]["200"]["content"];
    assert!(page.get("text/html").is_some(), "{page}");
    let pay = &paths["/checkout/{session}"]["post"];
    assert!(
        pay["requestBody"]["content"]
            .get("application/x-www-form-urlencoded")
            .is_some()
    );
    assert!(
        doc["components"]["securitySchemes"]
            .get("providerApiKey")
            .is_some()
    );
}

#[tokio::test]
async fn health_and_metrics_are_served() {
    let sandbox = Sandbox::start().await;
    let client: &Client = sandbox.browser();
    for path in ["/health", "/health/live", "/health/ready"] {
        assert_eq!(client.get(path).await.status(), StatusCode::OK, "{path}");
    }
    let metrics = client.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("sandbox_webhook_deliveries_total"));
    assert!(metrics.contains("sandbox_checkouts_total"));
}
