//! The bootstrap admin of `BOOTSTRAP_ADMIN_EMAIL` / `BOOTSTRAP_ADMIN_PASSWORD`: created at
//! start-up, made an admin if the account exists (keeping its password), once however many
//! replicas start.

use futures::future::join;
use microshop_auth::Role;
use microshop_events::Event;
use microshop_testkit::{ServiceProcess, TestApp, TestBroker, json};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{ConnectOptions, PgPool};
use user_service::startup;

use crate::helpers::{App, log_in, next_event, spawn_app, test_config, user_count, verify};

const EMAIL: &str = "root@example.com";
const PASSWORD: &str = "bootstrap secret 42";

fn bootstrap_args() -> [&'static str; 4] {
    [
        "--bootstrap-admin-email",
        EMAIL,
        "--bootstrap-admin-password",
        PASSWORD,
    ]
}

/// Starts a user service on `pool` with the bootstrap admin configured, on `broker`'s topology.
async fn start(pool: &PgPool, broker: &TestBroker) -> TestApp {
    let config = test_config(broker, &bootstrap_args());
    let server = startup::build_with_db(config, microshop_testkit::db(pool))
        .await
        .expect("the service starts with a bootstrap admin");
    TestApp::start(server)
}

#[sqlx::test]
async fn the_bootstrap_admin_is_created_once_however_many_replicas_start(pool: PgPool) {
    let broker = TestBroker::new().await;
    // Two replicas at once, then a restart.
    let (first, second) = join(start(&pool, &broker), start(&pool, &broker)).await;
    let third = start(&pool, &broker).await;
    assert_eq!(user_count(&pool).await, 1);

    let session = log_in(&third, EMAIL, PASSWORD).await;
    assert_eq!(session["user"]["role"], "admin");
    let token = session["access_token"].as_str().expect("a token");
    assert_eq!(verify(&third, token).await.role, Role::Admin);
    let listed = first.client.get_as("/api/users", token).await;
    assert_eq!(listed.status(), StatusCode::OK, "the token is an admin's");
    let ready = second.client.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);

    let (kind, envelope) = next_event(&broker).await;
    assert_eq!(kind, "user.registered");
    let Event::UserRegistered(registered) = envelope.event else {
        panic!("expected user.registered, got {envelope:?}");
    };
    assert_eq!(
        (registered.email.as_str(), registered.role.as_str()),
        (EMAIL, "admin")
    );
    let outbox: i64 = sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(outbox, 0, "one event for one account, published");
    assert!(
        broker
            .take(&broker.topology.notification_user_events())
            .await
            .is_none(),
        "the other starts announced nothing"
    );
}

#[sqlx::test]
async fn an_existing_account_becomes_admin_and_keeps_its_password(pool: PgPool) {
    let app: App = spawn_app(pool.clone()).await;
    let body = json!({"email": EMAIL, "name": "Root", "password": "chosen by root"});
    assert_eq!(
        app.client.post_json("/api/users", &body).await.status(),
        StatusCode::CREATED
    );
    let (kind, _) = next_event(&app.broker).await;
    assert_eq!(kind, "user.registered");

    let restarted = start(&pool, &app.broker).await;
    assert_eq!(user_count(&pool).await, 1);
    let session = log_in(&restarted, EMAIL, "chosen by root").await;
    assert_eq!(session["user"]["role"], "admin");
    let with_bootstrap_password = restarted
        .client
        .post_json(
            "/api/users/login",
            &json!({"email": EMAIL, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        with_bootstrap_password.status(),
        StatusCode::UNAUTHORIZED,
        "the password is not reset"
    );
    let (kind, envelope) = next_event(&app.broker).await;
    assert_eq!(kind, "user.updated");
    let Event::UserUpdated(updated) = envelope.event else {
        panic!("expected user.updated, got {envelope:?}");
    };
    assert_eq!(
        (updated.name.as_str(), updated.role.as_str()),
        ("Root", "admin")
    );
}

#[sqlx::test]
async fn bootstrap_settings_are_both_or_neither_and_follow_the_rules(pool: PgPool) {
    let broker = TestBroker::new().await;
    let cases: [(&[&str], &str); 5] = [
        (&["--bootstrap-admin-email", EMAIL], "together, or neither"),
        (
            &["--bootstrap-admin-password", PASSWORD],
            "together, or neither",
        ),
        (
            &[
                "--bootstrap-admin-email",
                EMAIL,
                "--bootstrap-admin-password",
                "",
            ],
            "together, or neither",
        ),
        (
            &[
                "--bootstrap-admin-email",
                "root",
                "--bootstrap-admin-password",
                PASSWORD,
            ],
            "BOOTSTRAP_ADMIN_EMAIL",
        ),
        (
            &[
                "--bootstrap-admin-email",
                EMAIL,
                "--bootstrap-admin-password",
                "short",
            ],
            "BOOTSTRAP_ADMIN_PASSWORD",
        ),
    ];
    for (args, named) in cases {
        let config = test_config(&broker, args);
        let Err(error) = startup::build_with_db(config, microshop_testkit::db(&pool)).await else {
            panic!("{args:?} must stop the start");
        };
        let message = format!("{error:#}");
        assert!(message.contains(named), "{args:?}: {message}");
        assert!(
            !message.contains("short"),
            "the password is never shown: {message}"
        );
    }
    // Both empty (a Secret without the keys) is no bootstrap admin, and no error.
    let config = test_config(
        &broker,
        &[
            "--bootstrap-admin-email",
            "",
            "--bootstrap-admin-password",
            "",
        ],
    );
    let _app = TestApp::start(
        startup::build_with_db(config, microshop_testkit::db(&pool))
            .await
            .expect("empty bootstrap settings are no bootstrap admin"),
    );
    assert_eq!(user_count(&pool).await, 0);
}

#[sqlx::test]
async fn the_binary_reads_the_bootstrap_admin_from_its_environment_and_never_logs_the_password(
    pool: PgPool,
) {
    let url = pool.connect_options().to_url_lossy().to_string();
    let service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_user-service"),
        &[
            ("DATABASE_URL", &url),
            ("BOOTSTRAP_ADMIN_EMAIL", EMAIL),
            ("BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
        ],
    )
    .await;
    let client = microshop_testkit::Client::new(service.base_url());
    let response = client
        .post_json(
            "/api/users/login",
            &json!({"email": EMAIL, "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["user"]["role"], "admin");

    let logs = service.logs();
    let lines: Vec<&String> = logs
        .iter()
        .filter(|line| line.contains("bootstrap admin"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one line about the bootstrap admin: {logs:#?}"
    );
    assert!(
        lines[0].contains(EMAIL) && lines[0].contains("INFO"),
        "{}",
        lines[0]
    );
    assert!(
        !logs.iter().any(|line| line.contains(PASSWORD)),
        "the password must never be logged"
    );
}
