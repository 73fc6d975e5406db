//! A user's postal addresses: one's own only, at most 20, exactly one default whenever there is
//! any, every field checked.

use futures::future::join_all;
use microshop_auth::Role;
use microshop_testkit::{TestApp, auth, checks, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{register, spawn_app};

const ADDRESSES: &str = "/api/users/addresses";

fn home() -> Value {
    json!({
        "name": "Ann Example",
        "line1": "Invalidenstraße 116",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE"
    })
}

fn address(city: &str, is_default: Option<bool>) -> Value {
    let mut body = home();
    body["city"] = json!(city);
    if let Some(flag) = is_default {
        body["is_default"] = json!(flag);
    }
    body
}

/// Registers Ann; her id and an access token.
async fn ann(app: &TestApp) -> (i64, String) {
    let id = register(app, "ann@example.com").await;
    (id, auth::token(id, Role::Customer))
}

async fn add(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app.client.post_json_as(ADDRESSES, body, token).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    json(response).await
}

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.client.get_as(ADDRESSES, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await.as_array().expect("a list").clone()
}

/// The cities of the user's addresses in list order, and the default's.
async fn cities(app: &TestApp, token: &str) -> (Vec<String>, Option<String>) {
    let addresses = list(app, token).await;
    let defaults: Vec<&Value> = addresses
        .iter()
        .filter(|a| a["is_default"] == true)
        .collect();
    assert!(defaults.len() <= 1, "more than one default: {addresses:#?}");
    assert!(
        addresses.is_empty() || defaults.len() == 1,
        "no default among {addresses:#?}"
    );
    (
        addresses
            .iter()
            .map(|a| a["city"].as_str().unwrap_or_default().to_owned())
            .collect(),
        defaults
            .first()
            .map(|a| a["city"].as_str().unwrap_or_default().to_owned()),
    )
}

async fn address_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from addresses")
        .fetch_one(pool)
        .await
        .expect("count addresses")
}

#[sqlx::test]
async fn the_first_address_is_the_default_and_making_another_the_default_moves_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, token) = ann(&app).await;
    assert!(list(&app, &token).await.is_empty());

    let first = add(&app, &token, &address("Berlin", Some(false))).await;
    assert_eq!(
        first["is_default"], true,
        "the first address is the default whatever it says"
    );
    assert_eq!(first["line2"], Value::Null);
    assert_eq!(first["phone"], Value::Null);
    assert_eq!(first["country"], "DE");
    let second = add(&app, &token, &address("Hamburg", None)).await;
    assert_eq!(second["is_default"], false);
    let third = add(&app, &token, &address("Munich", Some(true))).await;
    assert_eq!(third["is_default"], true);
    assert_eq!(
        cities(&app, &token).await,
        (
            vec![
                "Munich".to_owned(),
                "Hamburg".to_owned(),
                "Berlin".to_owned()
            ],
            Some("Munich".to_owned())
        ),
        "the default first, then the newest"
    );

    let path = format!("{ADDRESSES}/{}", first["id"]);
    let moved = app
        .client
        .put_json_as(&path, &address("Berlin", Some(true)), &token)
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(json(moved).await["is_default"], true);
    assert_eq!(cities(&app, &token).await.1.as_deref(), Some("Berlin"));
}

#[sqlx::test]
async fn deleting_the_default_promotes_the_most_recent_address_left(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (_, token) = ann(&app).await;
    let mut ids = Vec::new();
    for city in ["Berlin", "Hamburg", "Munich"] {
        ids.push(add(&app, &token, &address(city, None)).await["id"].clone());
    }
    let delete = |id: &Value| {
        let (client, token, path) = (
            app.client.clone(),
            token.clone(),
            format!("{ADDRESSES}/{id}"),
        );
        async move {
            client
                .send_as(Method::DELETE, &path, Some(&token), None)
                .await
        }
    };

    let deleted = delete(&ids[0]).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(cities(&app, &token).await.1.as_deref(), Some("Munich"));
    // Deleting one that is not the default leaves the default alone.
    assert_eq!(delete(&ids[1]).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(cities(&app, &token).await.1.as_deref(), Some("Munich"));
    assert_eq!(delete(&ids[2]).await.status(), StatusCode::NO_CONTENT);
    assert!(list(&app, &token).await.is_empty());
    let again = delete(&ids[2]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(again).await["error"]["code"], "address_not_found");
    assert_eq!(address_count(&pool).await, 0);

    let fresh = add(&app, &token, &address("Bremen", None)).await;
    assert_eq!(fresh["is_default"], true, "a first address again");
}

#[sqlx::test]
async fn an_address_is_replaced_but_the_default_cannot_be_unset(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, token) = ann(&app).await;
    let default = add(&app, &token, &address("Berlin", None)).await;
    let other = add(&app, &token, &address("Hamburg", None)).await;
    let default_path = format!("{ADDRESSES}/{}", default["id"]);

    let mut changed = address("Potsdam", None);
    changed["line2"] = json!("  3rd floor ");
    changed["phone"] = json!("+49 331 1234567");
    changed["postal_code"] = json!("14467");
    let response = app
        .client
        .put_json_as(&default_path, &changed, &token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["id"], default["id"]);
    assert_eq!(body["city"], "Potsdam");
    assert_eq!(body["line2"], "3rd floor");
    assert_eq!(body["phone"], "+49 331 1234567");
    assert_eq!(
        body["is_default"], true,
        "absent is_default leaves it the default"
    );
    assert_eq!(body["created_at"], default["created_at"]);

    let unset = app
        .client
        .put_json_as(&default_path, &address("Potsdam", Some(false)), &token)
        .await;
    assert_eq!(unset.status(), StatusCode::CONFLICT);
    assert_eq!(
        json(unset).await["error"]["code"],
        "default_address_required"
    );

    let other_path = format!("{ADDRESSES}/{}", other["id"]);
    let response = app
        .client
        .put_json_as(&other_path, &address("Kiel", Some(false)), &token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        cities(&app, &token).await,
        (
            vec!["Potsdam".to_owned(), "Kiel".to_owned()],
            Some("Potsdam".to_owned())
        )
    );
}

#[sqlx::test]
async fn another_users_address_is_not_found_and_stays_as_it_is(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, anns) = ann(&app).await;
    let bob = register(&app, "bob@example.com").await;
    let bobs = auth::token(bob, Role::Customer);
    let hers = add(&app, &anns, &home()).await;
    let path = format!("{ADDRESSES}/{}", hers["id"]);

    let put = app
        .client
        .put_json_as(&path, &address("Elsewhere", Some(true)), &bobs)
        .await;
    assert_eq!(put.status(), StatusCode::NOT_FOUND);
    let put = json(put).await;
    assert_eq!(put["error"]["code"], "address_not_found");
    let delete = app
        .client
        .send_as(Method::DELETE, &path, Some(&bobs), None)
        .await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    // An admin's token is no key to other people's addresses either: these routes are self-only.
    let admin = auth::token(bob, Role::Admin);
    let delete = app
        .client
        .send_as(Method::DELETE, &path, Some(&admin), None)
        .await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    let missing = app
        .client
        .put_json_as(&format!("{ADDRESSES}/987654"), &home(), &anns)
        .await;
    assert_eq!(
        json(missing).await["error"]["message"]
            .as_str()
            .map(|m| m.contains("987654")),
        Some(true)
    );

    assert!(list(&app, &bobs).await.is_empty());
    let still = list(&app, &anns).await;
    assert_eq!(still.len(), 1);
    assert_eq!(still[0], hers, "unchanged");
}

#[sqlx::test]
async fn addresses_need_a_valid_token_of_an_existing_account(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (id, token) = ann(&app).await;
    let hers = add(&app, &token, &home()).await;
    let item = format!("{ADDRESSES}/{}", hers["id"]);
    for (method, path, body) in [
        (Method::GET, ADDRESSES, None),
        (Method::POST, ADDRESSES, Some(home())),
        (Method::PUT, item.as_str(), Some(home())),
        (Method::DELETE, item.as_str(), None),
    ] {
        let anonymous = app
            .client
            .send_as(method.clone(), path, None, body.as_ref())
            .await;
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        for (code, bad) in auth::bad_tokens(id, Role::Customer) {
            let response = app
                .client
                .send_as(method.clone(), path, Some(&bad), body.as_ref())
                .await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{code} {method} {path}"
            );
        }
    }
    // A token whose account does not exist (any more).
    let ghost = auth::token(4242, Role::Customer);
    let response = app.client.post_json_as(ADDRESSES, &home(), &ghost).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(response).await["error"]["code"], "account_gone");
    assert_eq!(address_count(&pool).await, 1);

    // The fixed path is not read as a user id, nor is an address id anything but a number.
    let wrong_method = app
        .client
        .send_as(Method::PUT, ADDRESSES, Some(&token), Some(&home()))
        .await;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    for bad in ["0", "-1", "abc", "99999999999999999999"] {
        let response = app
            .client
            .send_as(
                Method::DELETE,
                &format!("{ADDRESSES}/{bad}"),
                Some(&token),
                None,
            )
            .await;
        let body = checks::assert_error(response, StatusCode::BAD_REQUEST, bad).await;
        assert_eq!(body["error"]["code"], "invalid_path");
    }
}

#[sqlx::test]
async fn at_most_twenty_addresses_even_when_added_all_at_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (_, token) = ann(&app).await;
    let bodies: Vec<Value> = (0..25)
        .map(|i| address(&format!("City {i}"), Some(i % 3 == 0)))
        .collect();
    let responses = join_all(
        bodies
            .iter()
            .map(|body| app.client.post_json_as(ADDRESSES, body, &token)),
    )
    .await;
    let mut created = 0;
    for response in responses {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                let body = json(response).await;
                assert_eq!(body["error"]["code"], "address_limit_reached");
                assert!(body["error"]["message"].as_str().unwrap().contains("20"));
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 20);
    assert_eq!(address_count(&pool).await, 20);
    assert_eq!(list(&app, &token).await.len(), 20);
    let _ = cities(&app, &token).await;
}

#[sqlx::test]
async fn making_addresses_the_default_all_at_once_leaves_exactly_one(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, token) = ann(&app).await;
    let mut paths = Vec::new();
    for i in 0..6 {
        let added = add(&app, &token, &address(&format!("City {i}"), None)).await;
        paths.push(format!("{ADDRESSES}/{}", added["id"]));
    }
    let body = address("Anywhere", Some(true));
    let responses = join_all(
        paths
            .iter()
            .map(|path| app.client.put_json_as(path, &body, &token)),
    )
    .await;
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    let (_, default) = cities(&app, &token).await;
    assert_eq!(default.as_deref(), Some("Anywhere"));
}

#[sqlx::test]
async fn invalid_addresses_are_422_naming_the_field_and_store_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (_, token) = ann(&app).await;
    let with = |field: &str, value: Value| {
        let mut body = home();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = home();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let long = "x".repeat(201);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "blank name",
            with("name", json!("  ")),
            "name must not be blank",
        ),
        (
            "long line1",
            with("line1", json!(long)),
            "line1 must be at most 200 characters",
        ),
        (
            "control character",
            with("line2", json!("a\u{1}b")),
            "line2 must not contain control",
        ),
        (
            "long city",
            with("city", json!("x".repeat(101))),
            "city must be at most 100",
        ),
        (
            "postal code with ;",
            with("postal_code", json!("10115;")),
            "postal_code may contain only",
        ),
        (
            "long postal code",
            with("postal_code", json!("1".repeat(17))),
            "postal_code must be at most 16",
        ),
        (
            "lower-case country",
            with("country", json!("de")),
            "country must be an ISO 3166-1 alpha-2",
        ),
        (
            "three letters",
            with("country", json!("DEU")),
            "country must be an ISO 3166-1 alpha-2",
        ),
        (
            "unassigned country",
            with("country", json!("XX")),
            "country XX is not an ISO 3166-1",
        ),
        (
            "phone with letters",
            with("phone", json!("call me")),
            "phone must be a phone number",
        ),
        (
            "phone too long",
            with("phone", json!("1".repeat(33))),
            "phone must be at most 32",
        ),
    ];
    for (case, body, message) in cases {
        let response = app.client.post_json_as(ADDRESSES, &body, &token).await;
        let error = checks::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, case).await;
        assert_eq!(error["error"]["code"], "validation_failed", "{case}");
        let text = error["error"]["message"].as_str().unwrap_or_default();
        assert!(text.starts_with(message), "{case}: {text}");
    }
    for (case, body) in [
        ("missing country", without("country")),
        ("country as a number", with("country", json!(49))),
        ("is_default as a string", with("is_default", json!("yes"))),
        ("unknown field", with("user_id", json!(2))),
    ] {
        let response = app.client.post_json_as(ADDRESSES, &body, &token).await;
        let error = checks::assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, case).await;
        assert_eq!(error["error"]["code"], "invalid_body", "{case}");
    }
    let huge = with("line2", json!("x".repeat(1024 * 1024)));
    let response = app.client.post_json_as(ADDRESSES, &huge, &token).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(address_count(&pool).await, 0);

    // The same rules apply to a replacement, which then changes nothing.
    let hers = add(&app, &token, &home()).await;
    let path = format!("{ADDRESSES}/{}", hers["id"]);
    let response = app
        .client
        .put_json_as(&path, &with("country", json!("ZZ")), &token)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(list(&app, &token).await, [hers]);
}
