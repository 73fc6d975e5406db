//! `user.registered` and `user.updated`, written with the change in one transaction and
//! published to `user.events`, where `notification.user-events` keeps them.

use microshop_auth::Role;
use microshop_events::{Event, UserRegistered, UserUpdated};
use microshop_testkit::{TcpProxy, TestApp, TestBroker, amqp_url, auth, eventually, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use user_service::startup;

use crate::helpers::{admin_token, ann, next_event, spawn_app, test_config_via};

async fn outbox_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(pool)
        .await
        .expect("count outbox rows")
}

#[sqlx::test]
async fn registering_publishes_user_registered_with_the_account_and_no_password(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let created = json(app.client.post_json("/api/users", &ann()).await).await;
    let id = created["id"].as_i64().expect("an id");

    let (kind, envelope) = next_event(&app.broker).await;
    assert_eq!(kind, "user.registered");
    assert_eq!(
        envelope.event,
        Event::UserRegistered(UserRegistered {
            user_id: id,
            email: "ann@example.com".to_owned(),
            name: "Ann Example".to_owned(),
            role: "customer".to_owned(),
        })
    );
    let wire = String::from_utf8(envelope.to_json()).expect("UTF-8");
    assert!(
        !wire.contains("password") && !wire.contains("argon2"),
        "{wire}"
    );
    eventually("the outbox is empty", async || {
        outbox_rows(&pool).await == 0
    })
    .await;

    // A registration that fails writes no event: the next one is the next change's.
    let duplicate = app.client.post_json("/api/users/register", &ann()).await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let body = json!({"email": "bob@example.com", "name": "Bob", "password": "correct horse"});
    let bob = json(app.client.post_json("/api/users/register", &body).await).await;
    let (_, envelope) = next_event(&app.broker).await;
    let Event::UserRegistered(registered) = envelope.event else {
        panic!("expected user.registered, got {envelope:?}");
    };
    assert_eq!(Some(registered.user_id), bob["id"].as_i64());
}

#[sqlx::test]
async fn profile_and_role_changes_publish_user_updated_and_no_change_publishes_nothing(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let id = json(app.client.post_json("/api/users", &ann()).await).await["id"]
        .as_i64()
        .expect("an id");
    let token = auth::token(id, Role::Customer);
    let (kind, _) = next_event(&app.broker).await;
    assert_eq!(kind, "user.registered");

    let profile = json!({"email": "ann.new@example.com", "name": "Ann New"});
    let response = app
        .client
        .put_json_as("/api/users/profile", &profile, &token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (kind, envelope) = next_event(&app.broker).await;
    assert_eq!(kind, "user.updated");
    assert_eq!(
        envelope.event,
        Event::UserUpdated(UserUpdated {
            user_id: id,
            email: "ann.new@example.com".to_owned(),
            name: "Ann New".to_owned(),
            role: "customer".to_owned(),
        })
    );

    // The same profile again changes nothing, and so says nothing; nor does a failed change.
    let same = app
        .client
        .put_json_as("/api/users/profile", &profile, &token)
        .await;
    assert_eq!(same.status(), StatusCode::OK);
    let password = json!({"current_password": "correct horse", "new_password": "battery staple"});
    let changed = app
        .client
        .put_json_as("/api/users/password", &password, &token)
        .await;
    assert_eq!(
        changed.status(),
        StatusCode::NO_CONTENT,
        "a password is no one else's business"
    );
    let role = app
        .client
        .put_json_as(
            &format!("/api/users/{id}/role"),
            &json!({"role": "admin"}),
            &admin_token(),
        )
        .await;
    assert_eq!(role.status(), StatusCode::OK);
    let (kind, envelope) = next_event(&app.broker).await;
    assert_eq!(kind, "user.updated");
    let Event::UserUpdated(updated) = envelope.event else {
        panic!("expected user.updated, got {envelope:?}");
    };
    assert_eq!((updated.user_id, updated.role.as_str()), (id, "admin"));
    assert_eq!(updated.email, "ann.new@example.com");
}

#[sqlx::test]
async fn a_registration_succeeds_while_the_broker_is_down_and_its_event_follows(pool: PgPool) {
    let broker = TestBroker::new().await;
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().expect("an address"))
        .await
        .expect("proxy starts");
    proxy.cut().await;
    let proxied = amqp_url().replace("127.0.0.1:5672", &proxy.addr().to_string());
    let config = test_config_via(&broker, &proxied, &[]);
    let app = TestApp::start(
        startup::build_with_db(config, microshop_testkit::db(&pool))
            .await
            .expect("the service starts without the broker"),
    );

    let response = app.client.post_json("/api/users", &ann()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let ready = json(app.client.get("/health/ready").await).await;
    assert_ne!(ready["checks"]["broker"], "ok", "{ready}");
    assert_eq!(outbox_rows(&pool).await, 1, "the event waits in the outbox");

    proxy.restore().await;
    let (kind, _) = next_event(&broker).await;
    assert_eq!(kind, "user.registered");
    eventually("the broker is reported reachable", async || {
        json(app.client.get("/health/ready").await).await["checks"]["broker"] == "ok"
    })
    .await;
}
