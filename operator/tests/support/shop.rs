//! A Microshop in a fake cluster: its Secrets and spec, the kubelet's part (pods become ready),
//! and the cleanup of what provisioning made on the real PostgreSQL and RabbitMQ.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support code"
)]

use microshop_events::Topology;
use microshop_operator::crd::{
    AdminSpec, DeletionPolicy, IngressSpec, Microshop, MicroshopSpec, PaymentSandboxSpec,
    PostgresSpec, RabbitMqSpec, SecretKeyRef, Service, ServicesSpec,
};
use microshop_operator::names;
use microshop_operator::provision::postgres::PostgresAdmin;
use microshop_operator::provision::rabbitmq;
use serde_json::{Value, json};

use super::fake_api::FakeApiServer;

/// The Microshop's name in every test.
pub const SHOP: &str = "shop";

/// A namespace of its own per test, so databases and queues never collide.
pub fn namespace() -> String {
    format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// A Secret with one key, as `kubectl create secret generic` makes it.
pub fn secret(namespace: &str, name: &str, key: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {key: value},
    })
}

/// A shop whose admin Secrets are `pg-admin` and `rabbitmq` (key `uri`), with the payment
/// sandbox as its card provider (as the sample has it): every program runs. No SMTP server:
/// the notification service stores and logs its mails (`MAIL_TRANSPORT=log`).
pub fn spec(policy: DeletionPolicy) -> MicroshopSpec {
    MicroshopSpec {
        image: None,
        postgres: PostgresSpec {
            admin_secret_ref: SecretKeyRef {
                name: "pg-admin".into(),
                key: "uri".into(),
            },
        },
        rabbitmq: RabbitMqSpec {
            secret_ref: SecretKeyRef {
                name: "rabbitmq".into(),
                key: "uri".into(),
            },
            vhost: "/".into(),
            topology_prefix: None,
        },
        redis: None,
        services: ServicesSpec::default(),
        payment_sandbox: PaymentSandboxSpec {
            enabled: true,
            public_url: None,
        },
        payment_provider: None,
        smtp: None,
        shop_url: None,
        ingress: IngressSpec::default(),
        admin: AdminSpec::default(),
        deletion_policy: policy,
        paused: false,
    }
}

/// Stores the two admin Secrets (PostgreSQL at `pg_uri`, the test's RabbitMQ) and the Microshop.
pub fn seed(fake: &FakeApiServer, namespace: &str, spec: &MicroshopSpec, pg_uri: &str) {
    fake.insert(secret(namespace, "pg-admin", "uri", pg_uri));
    fake.insert(secret(
        namespace,
        "rabbitmq",
        "uri",
        &microshop_testkit::amqp_url(),
    ));
    let mut shop = Microshop::new(SHOP, spec.clone());
    shop.metadata.namespace = Some(namespace.to_owned());
    fake.insert(serde_json::to_value(&shop).expect("serialises"));
}

/// A fake cluster holding a `Retain` Microshop in a namespace of its own, its PostgreSQL the
/// tests' real one.
pub fn seeded_cluster() -> (FakeApiServer, String) {
    let namespace = namespace();
    let fake = FakeApiServer::new();
    seed(
        &fake,
        &namespace,
        &spec(DeletionPolicy::Retain),
        &super::pg_admin_uri(),
    );
    (fake, namespace)
}

/// Marks every Deployment's pods ready, as the kubelet would.
pub fn pods_become_ready(fake: &FakeApiServer, namespace: &str) {
    for deployment in fake.list("deployments", namespace) {
        let name = deployment["metadata"]["name"]
            .as_str()
            .expect("named")
            .to_owned();
        let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
        let generation = deployment["metadata"]["generation"].clone();
        let ready = deployment["status"]["readyReplicas"].as_i64() == Some(replicas)
            && deployment["status"]["observedGeneration"] == generation;
        if ready {
            continue;
        }
        fake.merge(
            "deployments",
            namespace,
            &name,
            json!({"status": {
                "observedGeneration": generation,
                "replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas,
            }}),
        );
    }
}

/// The Microshop's condition of `type_`, if it has one.
pub fn condition(fake: &FakeApiServer, namespace: &str, type_: &str) -> Option<Value> {
    let shop = fake.get("microshops", namespace, SHOP)?;
    shop["status"]["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == type_).cloned())
}

/// Drops what a test's shop provisioned, whatever the operator did.
pub async fn drop_everything(namespace: &str) {
    let mut admin = PostgresAdmin::connect(&super::pg_admin_uri())
        .await
        .expect("connects");
    for service in Service::WITH_DATABASE {
        let database = names::database(namespace, SHOP, service);
        admin.drop_database(&database).await.expect("drops");
    }
    admin.close().await;
    let url = rabbitmq::with_vhost(&microshop_testkit::amqp_url(), "/").expect("valid");
    let prefix = names::topology_prefix(namespace, SHOP, None);
    rabbitmq::delete(&url, &Topology::with_prefix(prefix))
        .await
        .expect("deletes");
}
