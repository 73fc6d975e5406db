//! An admin's management of products: versions as `ETag`s, `If-Match` against lost updates,
//! partial edits, archiving, and `product.updated` for each change.

use microshop_testkit::{Client, TestApp, TestBroker, checks, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::categories::category;
use crate::helpers::{admin, laptop, published, spawn_app, spawn_app_with_broker};

async fn added(app: &TestApp) -> (i64, String) {
    let response = admin(app).post_json("/api/products", &laptop()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let etag = etag(&response);
    (json(response).await["id"].as_i64().unwrap(), etag)
}

fn etag(response: &reqwest::Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

async fn send(
    client: &Client,
    method: Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = client
        .http()
        .request(method, format!("{}{path}", client.base_url()))
        .bearer_auth(microshop_testkit::auth::token(
            1,
            microshop_auth::Role::Admin,
        ));
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn updated_events(broker: &TestBroker, count: usize) -> Vec<Value> {
    published(broker, "product.updated", count)
        .await
        .iter()
        .map(|e| serde_json::from_slice(&e.to_json()).unwrap())
        .collect()
}

#[sqlx::test]
async fn an_edit_needs_the_current_version_and_bumps_it(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool).await;
    let (id, created_tag) = added(&app).await;
    let path = format!("/api/products/{id}");
    let read = app.client.get(&path).await;
    assert_eq!(etag(&read), "\"1\"");
    assert_eq!(created_tag, "\"1\"");

    let body = json!({"name": "Laptop 2", "description": "15-inch", "price": 1499.5});
    let changed = send(&admin(&app), Method::PUT, &path, Some("\"1\""), Some(&body)).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(etag(&changed), "\"2\"");
    let changed = json(changed).await;
    assert_eq!(changed["price"], 1499.5);
    assert_eq!(changed["stock"], 50, "stock is left alone when not sent");

    // A second admin still holding version 1 loses nothing: 412, and nothing changes.
    let stale = send(
        &admin(&app),
        Method::PUT,
        &path,
        Some("\"1\""),
        Some(&laptop()),
    )
    .await;
    let error = checks::assert_error(stale, StatusCode::PRECONDITION_FAILED, "stale").await;
    assert_eq!(error["error"]["code"], "precondition_failed");
    for tag in ["W/\"2\"", "\"abc\"", "2"] {
        let refused = send(&admin(&app), Method::PUT, &path, Some(tag), Some(&laptop())).await;
        assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED, "{tag}");
    }
    let now = json(app.client.get(&path).await).await;
    assert_eq!(now["name"], "Laptop 2");
    assert_eq!(now["version"], 2);

    // Adding published version 1, the edit version 2.
    let events = updated_events(&broker, 2).await;
    assert_eq!(events[0]["data"]["version"], 1);
    assert_eq!(events[1]["data"]["version"], 2);
    assert_eq!(events[1]["data"]["price_cents"], 149_950);
}

#[sqlx::test]
async fn adding_a_product_publishes_it_as_version_one_and_a_refused_add_publishes_nothing(
    pool: PgPool,
) {
    let (broker, app) = spawn_app_with_broker(pool).await;
    let refused = admin(&app)
        .post_json(
            "/api/products",
            &json!({"name": "Ghost", "price": 1.0, "stock": 1, "category_id": 999_999}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (id, _) = added(&app).await;

    let events = updated_events(&broker, 1).await;
    assert_eq!(
        events[0]["data"],
        json!({"product_id": id, "version": 1, "name": "Laptop", "price_cents": 1_299_900,
               "category_id": null, "archived": false})
    );
}

#[sqlx::test]
async fn a_patch_changes_only_what_it_names(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (id, _) = added(&app).await;
    let shelf = category(&app, "Laptops", None).await;
    let path = format!("/api/products/{id}");

    let patched = send(
        &admin(&app),
        Method::PATCH,
        &path,
        None,
        Some(&json!({"price": 999.99, "category_id": shelf})),
    )
    .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched = json(patched).await;
    assert_eq!(patched["name"], "Laptop");
    assert_eq!(patched["description"], "14-inch, 16 GB");
    assert_eq!(patched["price"], 999.99);
    assert_eq!(patched["category_id"], shelf);

    let cleared = send(
        &admin(&app),
        Method::PATCH,
        &path,
        Some("\"2\""),
        Some(&json!({"category_id": null})),
    )
    .await;
    assert_eq!(cleared.status(), StatusCode::OK);
    assert_eq!(json(cleared).await["category_id"], Value::Null);

    for (bad, status) in [
        (json!({"price": 0}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"name": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"name": null}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"price": null}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"category_id": 999_999}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"category_id": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"colour": "red"}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let response = send(&admin(&app), Method::PATCH, &path, None, Some(&bad)).await;
        assert!(response.status().is_client_error(), "{bad}");
        assert_eq!(response.status(), status, "{bad}");
    }
    let now = json(app.client.get(&path).await).await;
    assert_eq!(now["version"], 3, "refused patches change nothing");
}

#[sqlx::test]
async fn a_deleted_product_is_archived_and_still_readable_by_id(pool: PgPool) {
    let (broker, app) = spawn_app_with_broker(pool).await;
    let (id, _) = added(&app).await;
    let path = format!("/api/products/{id}");

    let stale = send(&admin(&app), Method::DELETE, &path, Some("\"7\""), None).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let deleted = send(&admin(&app), Method::DELETE, &path, Some("\"1\""), None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = send(&admin(&app), Method::DELETE, &path, None, None).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);

    let read = json(app.client.get(&path).await).await;
    assert_eq!(read["archived"], true);
    assert_eq!(read["name"], "Laptop");
    let listed = json(app.client.get("/api/products").await).await;
    assert_eq!(listed.as_array().unwrap().len(), 0);
    // Adding publishes once, archiving twice once.
    let events = updated_events(&broker, 2).await;
    assert_eq!(events[0]["data"]["archived"], false);
    assert_eq!(events[1]["data"]["archived"], true);

    let missing = send(
        &admin(&app),
        Method::DELETE,
        "/api/products/999999",
        None,
        None,
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn product_writes_are_for_admins_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (id, _) = added(&app).await;
    let path = format!("/api/products/{id}");
    for (method, body) in [
        (Method::PUT, Some(laptop())),
        (Method::PATCH, Some(json!({"price": 1}))),
        (Method::DELETE, None),
    ] {
        checks::assert_needs_a_valid_token(&app.client, method.clone(), &path, body.as_ref()).await;
        checks::assert_admin_only(&app.client, method, &path, body.as_ref()).await;
    }
    let now = json(app.client.get(&path).await).await;
    assert_eq!(now["version"], 1);
    assert_eq!(now["archived"], false);
}
