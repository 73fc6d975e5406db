//! Who may see and change which account: admins list users and set roles, a customer sees only
//! their own account, registration is public and never lets the client choose a role.

use futures::future::join;
use microshop_auth::Role;
use microshop_testkit::{auth, json};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{admin_token, log_in, register, spawn_app, verify};

async fn role_in_db(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("select role from users where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("read the role")
}

#[sqlx::test]
async fn only_admins_list_users(pool: PgPool) {
    let app = spawn_app(pool).await;
    let ann = register(&app, "ann@example.com").await;
    let customer = auth::token(ann, Role::Customer);

    for path in ["/api/users", "/api/users/"] {
        let anonymous = app.client.send_as(Method::GET, path, None, None).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(json(anonymous).await["error"]["code"], "token_missing");
        let forbidden = app.client.get_as(path, &customer).await;
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(json(forbidden).await["error"]["code"], "admin_only");
        let listed = app.client.get_as(path, &admin_token()).await;
        assert_eq!(listed.status(), StatusCode::OK, "{path}");
        assert_eq!(json(listed).await[0]["id"], ann);
    }
    let forged = auth::token_of_another_key(ann, Role::Admin);
    let response = app.client.get_as("/api/users", &forged).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn a_customer_sees_their_own_account_and_anothers_is_not_found(pool: PgPool) {
    let app = spawn_app(pool).await;
    let ann = register(&app, "ann@example.com").await;
    let bob = register(&app, "bob@example.com").await;
    let anns = auth::token(ann, Role::Customer);

    let own = app.client.get_as(&format!("/api/users/{ann}"), &anns).await;
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(json(own).await["email"], "ann@example.com");

    let others = app.client.get_as(&format!("/api/users/{bob}"), &anns).await;
    assert_eq!(
        others.status(),
        StatusCode::NOT_FOUND,
        "not 403: nothing is confirmed"
    );
    let body = json(others).await;
    assert_eq!(body["error"]["code"], "user_not_found");
    assert_eq!(
        body["error"]["message"],
        format!("user {bob} does not exist"),
        "another's account looks exactly like a missing one"
    );

    let anonymous = app
        .client
        .send_as(Method::GET, &format!("/api/users/{ann}"), None, None)
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    for (code, token) in auth::bad_tokens(ann, Role::Customer) {
        let response = app
            .client
            .get_as(&format!("/api/users/{ann}"), &token)
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{code}");
    }

    let as_admin = app
        .client
        .get_as(&format!("/api/users/{bob}"), &admin_token())
        .await;
    assert_eq!(as_admin.status(), StatusCode::OK);
    assert_eq!(json(as_admin).await["email"], "bob@example.com");
}

#[sqlx::test]
async fn registration_is_public_at_both_paths_and_always_makes_a_customer(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    for (path, email) in [
        ("/api/users", "ann@example.com"),
        ("/api/users/register", "bob@example.com"),
    ] {
        let body = json!({"email": email, "name": "Someone", "password": "correct horse"});
        let response = app.client.post_json(path, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{path}");
        let user = json(response).await;
        assert_eq!(user["role"], "customer", "{path}");

        let mut with_role = body.clone();
        with_role["email"] = json!(format!("admin.{email}"));
        with_role["role"] = json!("admin");
        let refused = app.client.post_json(path, &with_role).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    let taken = app
        .client
        .post_json(
            "/api/users/register",
            &json!({"email": "ANN@example.com", "name": "A", "password": "correct horse"}),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let roles: Vec<String> = sqlx::query_scalar("select role from users order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(roles, ["customer", "customer"]);
}

#[sqlx::test]
async fn an_admin_sets_roles_and_the_next_token_carries_the_new_one(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let ann = register(&app, "ann@example.com").await;
    let session = log_in(&app, "ann@example.com", "correct horse").await;
    let path = format!("/api/users/{ann}/role");

    let promoted = app
        .client
        .put_json_as(&path, &json!({"role": "admin"}), &admin_token())
        .await;
    assert_eq!(promoted.status(), StatusCode::OK);
    let user = json(promoted).await;
    assert_eq!(
        (user["id"].as_i64(), user["role"].as_str()),
        (Some(ann), Some("admin"))
    );
    assert_eq!(role_in_db(&pool, ann).await, "admin");

    // The access token she holds keeps its role until it expires; a refresh brings the new one.
    let refreshed = app
        .client
        .post_json(
            "/api/users/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let token = json(refreshed).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(verify(&app, &token).await.role, Role::Admin);
    let listed = app.client.get_as("/api/users", &token).await;
    assert_eq!(
        listed.status(),
        StatusCode::OK,
        "her new token is an admin's"
    );

    let again = app
        .client
        .put_json_as(&path, &json!({"role": "admin"}), &admin_token())
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "setting the same role again is fine"
    );
}

#[sqlx::test]
async fn setting_a_role_is_for_admins_and_takes_a_known_user_and_role(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let ann = register(&app, "ann@example.com").await;
    let path = format!("/api/users/{ann}/role");
    let body = json!({"role": "admin"});

    let anonymous = app
        .client
        .send_as(Method::PUT, &path, None, Some(&body))
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let own = app
        .client
        .put_json_as(&path, &body, &auth::token(ann, Role::Customer))
        .await;
    assert_eq!(
        own.status(),
        StatusCode::FORBIDDEN,
        "a customer cannot promote herself"
    );
    assert_eq!(json(own).await["error"]["code"], "admin_only");

    let unknown = app
        .client
        .put_json_as("/api/users/4242/role", &body, &admin_token())
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(unknown).await["error"]["code"], "user_not_found");

    for bad in [
        json!({"role": "superuser"}),
        json!({"role": 1}),
        json!({"role": "ADMIN"}),
        json!({"role": null}),
        json!({}),
        json!({"role": "admin", "extra": 1}),
    ] {
        let response = app.client.put_json_as(&path, &bad, &admin_token()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let message = json(
        app.client
            .put_json_as(&path, &json!({"role": "superuser"}), &admin_token())
            .await,
    )
    .await["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("customer") && message.contains("admin"),
        "{message}"
    );
    let bad_id = app
        .client
        .put_json_as("/api/users/abc/role", &body, &admin_token())
        .await;
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
    assert_eq!(role_in_db(&pool, ann).await, "customer", "nothing changed");
}

#[sqlx::test]
async fn the_last_admin_cannot_be_demoted_even_by_two_admins_at_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let ann = register(&app, "ann@example.com").await;
    let bob = register(&app, "bob@example.com").await;
    let set = |id: i64, role: &'static str| {
        let client = app.client.clone();
        async move {
            client
                .put_json_as(
                    &format!("/api/users/{id}/role"),
                    &json!({"role": role}),
                    &admin_token(),
                )
                .await
        }
    };
    assert_eq!(set(ann, "admin").await.status(), StatusCode::OK);
    let last = set(ann, "customer").await;
    assert_eq!(last.status(), StatusCode::CONFLICT);
    assert_eq!(json(last).await["error"]["code"], "last_admin");
    assert_eq!(set(bob, "admin").await.status(), StatusCode::OK);

    // Each demotes the other at the same moment: one of them must stay an admin.
    let (first, second) = join(set(ann, "customer"), set(bob, "customer")).await;
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let admins: i64 = sqlx::query_scalar("select count(*) from users where role = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}
