//! Provisioning against the real PostgreSQL and RabbitMQ: roles, databases and the topology,
//! created, kept and dropped.

mod support;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use microshop_events::Topology;
use microshop_messaging::Broker;
use microshop_operator::provision::postgres::{PostgresAdmin, generate_password};
use microshop_operator::provision::{rabbitmq, scram};
use secrecy::SecretString;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn admin() -> PostgresAdmin {
    PostgresAdmin::connect(&support::pg_admin_uri())
        .await
        .expect("the shared PostgreSQL is reachable")
}

/// The stored password hash of `role` (the admin is a superuser locally).
async fn password_hash(role: &str) -> Option<String> {
    let mut connection = PgConnection::connect(&support::pg_admin_uri())
        .await
        .expect("connects");
    sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
        .bind(role)
        .fetch_one(&mut connection)
        .await
        .expect("role exists")
}

async fn owner_of(database: &str) -> String {
    let mut connection = PgConnection::connect(&support::pg_admin_uri())
        .await
        .expect("connects");
    sqlx::query_scalar("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1")
        .bind(database)
        .fetch_one(&mut connection)
        .await
        .expect("database exists")
}

/// A fresh role and database named after `prefix`, with a new password.
async fn provisioned(prefix: &str) -> (PostgresAdmin, String, String) {
    let name = unique(prefix);
    let password = generate_password();
    let mut admin = admin().await;
    admin
        .ensure_database(&name, &password)
        .await
        .expect("provisions");
    (admin, name, password)
}

#[tokio::test]
async fn creates_a_role_and_a_database_it_owns_and_connects_as_it() {
    let (mut admin, name, password) = provisioned("op_create").await;
    assert!(admin.role_exists(&name).await.expect("query"));
    assert!(admin.database_exists(&name).await.expect("query"));
    assert_eq!(owner_of(&name).await, name);

    let url = admin.service_url(&name, &password);
    let mut service = PgConnection::connect(&url)
        .await
        .expect("the service's URL connects");
    let user: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut service)
        .await
        .expect("query");
    assert_eq!(user, name);
    sqlx::raw_sql("CREATE TABLE t (id int)")
        .execute(&mut service)
        .await
        .expect("the owner may create tables");
    service.close().await.expect("closes");

    admin.drop_database(&name).await.expect("drops");
    admin.close().await;
}

#[tokio::test]
async fn the_password_is_stored_as_a_scram_verifier_and_the_secrets_password_always_wins() {
    let name = unique("op_twice");
    let mut admin = admin().await;
    admin
        .ensure_database(&name, "first-password")
        .await
        .expect("provisions");
    let hash = password_hash(&name).await.expect("a password is set");
    assert!(hash.starts_with("SCRAM-SHA-256$"), "{hash}");
    assert!(scram::verifies(&hash, "first-password"));

    // A second pass with the same password rewrites nothing.
    admin
        .ensure_database(&name, "first-password")
        .await
        .expect("second pass");
    assert_eq!(password_hash(&name).await.as_deref(), Some(hash.as_str()));

    // The role's password changed behind the operator's back (or by a second operator pod with
    // a password it generated): the next pass sets the Secret's again.
    let mut connection = PgConnection::connect(&support::pg_admin_uri())
        .await
        .expect("connects");
    sqlx::raw_sql(&format!("ALTER ROLE \"{name}\" PASSWORD 'changed-by-hand'"))
        .execute(&mut connection)
        .await
        .expect("alters");
    connection.close().await.expect("closes");
    admin
        .ensure_database(&name, "first-password")
        .await
        .expect("repair pass");
    let repaired = password_hash(&name).await.expect("a password is set");
    assert!(scram::verifies(&repaired, "first-password"), "{repaired}");
    assert!(!scram::verifies(&repaired, "changed-by-hand"));

    admin.drop_database(&name).await.expect("drops");
    admin.close().await;
}

#[tokio::test]
async fn dropping_removes_database_and_role_even_with_sessions_open_and_twice() {
    let (mut admin, name, password) = provisioned("op_drop").await;
    let mut session = PgConnection::connect(&admin.service_url(&name, &password))
        .await
        .expect("connects");
    sqlx::query("SELECT 1")
        .execute(&mut session)
        .await
        .expect("query");

    admin.drop_database(&name).await.expect("drops");
    assert!(!admin.database_exists(&name).await.expect("query"));
    assert!(!admin.role_exists(&name).await.expect("query"));
    admin
        .drop_database(&name)
        .await
        .expect("dropping what is gone is fine");
    admin.close().await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_not_a_hang() {
    let port = support::closed_port();
    let Err(error) =
        PostgresAdmin::connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres")).await
    else {
        panic!("connecting to a closed port must fail");
    };
    assert!(error.to_string().starts_with("PostgreSQL:"), "{error}");

    let Err(error) = PostgresAdmin::connect("mysql://nope").await else {
        panic!("a non-postgres URI must be refused");
    };
    assert!(
        error.to_string().contains("admin URI is not valid"),
        "{error}"
    );
}

async fn queue_exists(url: &str, queue: &str) -> bool {
    let broker = Broker::new(SecretString::from(url.to_owned()), "operator-test");
    let channel = broker.channel().await.expect("channel");
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let exists = channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .is_ok();
    broker.close().await;
    exists
}

#[tokio::test]
async fn declares_and_deletes_the_topology_under_a_prefix() {
    let url = rabbitmq::with_vhost(&microshop_testkit::amqp_url(), "/").expect("valid URI");
    let prefix = format!("{}.", unique("op-topology"));
    let topology = Topology::with_prefix(prefix.clone());
    rabbitmq::declare(&url, &topology).await.expect("declares");
    rabbitmq::declare(&url, &topology)
        .await
        .expect("declaring twice changes nothing");
    for queue in topology.queues() {
        assert!(
            queue_exists(&url, &queue.name).await,
            "{} declared",
            queue.name
        );
        assert!(queue.name.starts_with(&prefix));
    }
    let other = Topology::with_prefix(format!("{}.", unique("op-other")));
    assert!(
        !queue_exists(&url, &other.queues()[0].name).await,
        "another shop's prefix is untouched"
    );

    rabbitmq::delete(&url, &topology).await.expect("deletes");
    for queue in topology.queues() {
        assert!(
            !queue_exists(&url, &queue.name).await,
            "{} deleted",
            queue.name
        );
    }
}

#[tokio::test]
async fn an_unreachable_broker_is_a_clear_error() {
    let port = support::closed_port();
    let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    let error = rabbitmq::declare(&url, &Topology::with_prefix("never."))
        .await
        .expect_err("nothing listens there");
    assert!(error.to_string().starts_with("RabbitMQ:"), "{error}");
}
