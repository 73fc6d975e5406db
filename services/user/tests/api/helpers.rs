//! Starting the user service for a test, and what several test modules share.

use std::ops::Deref;
use std::time::Duration;

use clap::Parser;
use microshop_auth::{JwkSet, Principal, PublicKey, Role, Verifier};
use microshop_db::Db;
use microshop_events::Envelope;
use microshop_testkit::{TestApp, TestBroker, amqp_url, eventually_within, json, local_args};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use user_service::{Config, startup};

/// How long a test waits for an event.
const EVENT_PATIENCE: Duration = Duration::from_secs(30);

/// A running user service and its private RabbitMQ topology (deleted after the service stops).
pub struct App {
    /// The service.
    pub app: TestApp,
    /// Where its events go: `broker.topology.notification_user_events()` holds them.
    pub broker: TestBroker,
}

impl Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// The service's configuration for tests: loopback, free port, the test's own topology, and
/// `extra` arguments.
pub fn test_config(broker: &TestBroker, extra: &[&str]) -> Config {
    test_config_via(broker, &amqp_url(), extra)
}

/// Like [`test_config`], reaching the broker at `url` (e.g. through a fault proxy).
pub fn test_config_via(broker: &TestBroker, url: &str, extra: &[&str]) -> Config {
    let mut args = local_args("user-service", 0);
    args.extend(microshop_testkit::auth::issuer_args());
    args.extend(broker.service_args(url));
    // Log-in failures are counted under the test's own keys.
    args.push(format!("--redis-key-prefix={}", broker.topology.prefix()));
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Config::try_parse_from(args).expect("test configuration parses")
}

/// The user service on a free port, using `pool` (already migrated by `#[sqlx::test]`).
pub async fn spawn_app(pool: PgPool) -> App {
    spawn_app_on(microshop_testkit::db(&pool)).await
}

/// The user service on a free port, using `db` (e.g. one behind a fault proxy).
pub async fn spawn_app_on(db: Db) -> App {
    let broker = TestBroker::new().await;
    let server = startup::build_with_db(test_config(&broker, &[]), db)
        .await
        .expect("user service starts");
    App {
        app: TestApp::start(server),
        broker,
    }
}

/// A valid registration body.
pub fn ann() -> Value {
    json!({"email": "ann@example.com", "name": "Ann Example", "password": "correct horse"})
}

/// Registers `email` (password `correct horse`) and returns its id.
pub async fn register(app: &TestApp, email: &str) -> i64 {
    let body = json!({"email": email, "name": "Test User", "password": "correct horse"});
    let response = app.client.post_json("/api/users", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json(response).await["id"].as_i64().expect("an id")
}

/// Logs `email` in with `password`; the session body.
pub async fn log_in(app: &TestApp, email: &str, password: &str) -> Value {
    let response = app
        .client
        .post_json(
            "/api/users/login",
            &json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "log-in of {email}");
    json(response).await
}

/// The caller an access token names, verified with the keys the service publishes.
pub async fn verify(app: &TestApp, access_token: &str) -> Principal {
    let jwks: JwkSet =
        serde_json::from_value(json(app.client.get("/.well-known/jwks.json").await).await)
            .expect("a JWKS");
    let keys: Vec<PublicKey> =
        JwkSet::parse(&serde_json::to_string(&jwks).expect("json"), "jwks").expect("Ed25519 keys");
    Verifier::new(&keys, &microshop_testkit::auth::audience())
        .verify(access_token)
        .expect("the token verifies")
}

/// A token of an admin no account belongs to (admin routes only look at the token).
pub fn admin_token() -> String {
    microshop_testkit::auth::token(999_999, Role::Admin)
}

/// The next user event the service published, with its AMQP `type` property. Waits longer
/// than the usual patience: on a loaded machine the relay's first connection, which declares
/// the eight quorum queues of the topology, can take seconds.
pub async fn next_event(broker: &TestBroker) -> (String, Envelope) {
    let queue = broker.topology.notification_user_events();
    eventually_within("a user event arrives", EVENT_PATIENCE, async || {
        let message = broker.take(&queue).await?;
        let kind = message
            .delivery
            .properties
            .kind()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let envelope = Envelope::from_json(&message.delivery.data).expect("an event");
        let id = message
            .delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string);
        assert_eq!(
            id,
            Some(envelope.id.to_string()),
            "message_id is the event id"
        );
        Some((kind, envelope))
    })
    .await
}

/// How many users are stored.
pub async fn user_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from users")
        .fetch_one(pool)
        .await
        .expect("count users")
}
