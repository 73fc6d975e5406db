//! Input-validation checks every service must pass, written once.

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::{Client, json};

/// Asserts `response` is `expected` with the standard error body and a message that explains
/// something; returns the body. `case` names the input in failure messages.
pub async fn assert_error(response: Response, expected: StatusCode, case: &str) -> Value {
    assert_eq!(response.status(), expected, "{case}");
    let body = json(response).await;
    assert!(body["error"]["code"].is_string(), "{case}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.len() > 10,
        "{case}: the message should explain: {body}"
    );
    body
}

/// `GET <collection>/<id>` with ids that are not positive 64-bit integers: each is
/// `400 invalid_path` and the message quotes the bad id.
pub async fn assert_bad_ids_rejected(client: &Client, collection: &str) {
    for id in ["0", "-1", "99999999999999999999", "abc", "1.5"] {
        let response = client.get(&format!("{collection}/{id}")).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, id).await;
        assert_eq!(body["error"]["code"], "invalid_path", "id {id}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(id),
            "the message should quote {id}: {body}"
        );
    }
}

/// `GET <collection>?...` with paging out of range (422) or not parseable (400): each is
/// `invalid_query`.
pub async fn assert_bad_paging_rejected(client: &Client, collection: &str) {
    for (query, expected) in [
        ("limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("limit=101", StatusCode::UNPROCESSABLE_ENTITY),
        ("offset=-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("limit=ten", StatusCode::BAD_REQUEST),
        ("colour=red", StatusCode::BAD_REQUEST),
    ] {
        let response = client.get(&format!("{collection}?{query}")).await;
        let body = assert_error(response, expected, query).await;
        assert_eq!(body["error"]["code"], "invalid_query", "{query}");
    }
}

/// An unknown route is `404 not_found` and a wrong method `405 method_not_allowed`, both with
/// the standard body.
pub async fn assert_unknown_routes_rejected(client: &Client, item_path: &str) {
    let missing = client.get("/api/nothing-here").await;
    let body = assert_error(missing, StatusCode::NOT_FOUND, "unknown route").await;
    assert_eq!(body["error"]["code"], "not_found");

    let wrong_method = client
        .http()
        .delete(format!("{}{item_path}", client.base_url()))
        .send()
        .await
        .expect("service under test answers");
    let body = assert_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "wrong method").await;
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

/// `method path` (with `body` as JSON, if any) without a token and with every kind of bad
/// token — expired, another audience or issuer, another key, `alg: none`, a tampered payload,
/// not a JWT — each made for an admin so that only the token can be the reason: each is 401
/// with its code and a `WWW-Authenticate` challenge. The caller checks that nothing changed.
pub async fn assert_needs_a_valid_token(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) {
    let mut cases = vec![("token_missing", None)];
    cases.extend(
        crate::auth::bad_tokens(1, microshop_auth::Role::Admin)
            .into_iter()
            .map(|(code, token)| (code, Some(token))),
    );
    for (code, token) in cases {
        let case = format!("{method} {path} with {code}");
        let response = client
            .send_as(method.clone(), path, token.as_deref(), body)
            .await;
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{case}: no WWW-Authenticate challenge"
        );
        let error = assert_error(response, StatusCode::UNAUTHORIZED, &case).await;
        assert_eq!(error["error"]["code"], code, "{case}");
    }
}

/// `method path` as a customer: 403 `admin_only`.
pub async fn assert_admin_only(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) {
    let customer = crate::auth::token(2, microshop_auth::Role::Customer);
    let response = client
        .send_as(method.clone(), path, Some(&customer), body)
        .await;
    let case = format!("{method} {path} as a customer");
    let error = assert_error(response, StatusCode::FORBIDDEN, &case).await;
    assert_eq!(error["error"]["code"], "admin_only", "{case}");
}
