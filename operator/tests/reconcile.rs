//! Reconcile scenarios against a fake Kubernetes API server (in memory, `support::fake_api`),
//! with the real PostgreSQL and RabbitMQ behind the Secrets: every pass provisions for real.

mod support;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;
use microshop_events::Topology;
use microshop_messaging::Broker;
use microshop_operator::crd::{AutoscalingSpec, DeletionPolicy, Microshop, MicroshopSpec, Service};
use microshop_operator::metrics::Metrics;
use microshop_operator::provision::postgres::PostgresAdmin;
use microshop_operator::reconcile::{error_policy, reconcile};
use microshop_operator::{Context, names};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::fake_api::FakeApiServer;
use support::shop::{self, SHOP, namespace, spec};

/// A fake cluster holding the two Secrets and a Microshop in `namespace`.
struct Cluster {
    fake: FakeApiServer,
    ctx: Arc<Context>,
    namespace: String,
}

impl Cluster {
    fn new(namespace: &str, spec: &MicroshopSpec, pg_uri: &str) -> Self {
        let fake = FakeApiServer::new();
        shop::seed(&fake, namespace, spec, pg_uri);
        let ctx = Arc::new(Context::new(fake.client(), Metrics::new(), None));
        Self {
            fake,
            ctx,
            namespace: namespace.to_owned(),
        }
    }

    /// A cluster in a namespace of its own, with the real PostgreSQL behind the admin Secret.
    fn start(spec: &MicroshopSpec) -> Self {
        Self::new(&namespace(), spec, &support::pg_admin_uri())
    }

    /// A `Retain` shop whose admin Secret points at a PostgreSQL that is down.
    fn without_postgres() -> Self {
        let port = support::closed_port();
        let uri = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        Self::new(&namespace(), &spec(DeletionPolicy::Retain), &uri)
    }

    fn shops(&self) -> Api<Microshop> {
        Api::namespaced(self.ctx.client.clone(), &self.namespace)
    }

    async fn shop(&self) -> Arc<Microshop> {
        Arc::new(self.shops().get(SHOP).await.expect("the Microshop exists"))
    }

    async fn reconcile(&self) -> Result<Action, microshop_operator::Error> {
        reconcile(self.shop().await, self.ctx.clone()).await
    }

    /// The finalizer pass, then a full pass.
    async fn create(&self) -> Action {
        self.reconcile().await.expect("finalizer pass");
        self.reconcile().await.expect("first full pass")
    }

    fn get(&self, plural: &str, name: &str) -> Option<Value> {
        self.fake.get(plural, &self.namespace, name)
    }

    fn condition(&self, type_: &str) -> Value {
        shop::condition(&self.fake, &self.namespace, type_)
            .unwrap_or_else(|| panic!("no {type_} condition"))
    }

    /// Marks every Deployment's pods ready, as the kubelet would.
    fn pods_become_ready(&self) {
        shop::pods_become_ready(&self.fake, &self.namespace);
    }

    /// Changes the Microshop's spec as `kubectl apply` would (merge, generation bump).
    async fn edit(&self, patch: Value) {
        self.shops()
            .patch(
                SHOP,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&json!({"spec": patch})),
            )
            .await
            .expect("the Microshop accepts the change");
    }

    fn events(&self) -> Vec<String> {
        self.fake
            .list("events", &self.namespace)
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["type"].as_str().unwrap_or(""),
                    e["reason"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// Drops what the test provisioned, whatever the operator did.
    async fn drop_everything(&self) {
        shop::drop_everything(&self.namespace).await;
    }
}

async fn database_exists(name: &str) -> bool {
    let mut admin = PostgresAdmin::connect(&support::pg_admin_uri())
        .await
        .expect("connects");
    let exists = admin.database_exists(name).await.expect("query");
    admin.close().await;
    exists
}

fn secret_value(secret: &Value, key: &str) -> String {
    let encoded = secret["data"][key].as_str().expect("key present");
    let bytes: k8s_openapi::ByteString =
        serde_json::from_value(Value::String(encoded.to_owned())).expect("base64");
    String::from_utf8(bytes.0).expect("utf-8")
}

/// Every database, Secret, Deployment and Service of a fresh shop exists and looks right.
async fn assert_provisioned(cluster: &Cluster) {
    let namespace = cluster.namespace.as_str();
    for service in Service::ALL {
        let database = names::database(namespace, SHOP, service);
        assert!(database_exists(&database).await, "{database} created");
        let secret = cluster
            .get("secrets", &names::database_secret(SHOP, service))
            .expect("database Secret");
        let url = secret_value(&secret, "DATABASE_URL");
        assert!(url.contains(&format!("/{database}")), "{url}");
        assert_eq!(
            secret["metadata"]["ownerReferences"][0]["kind"],
            "Microshop"
        );

        let deployment = cluster
            .get("deployments", &names::workload(SHOP, service))
            .expect("Deployment");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["command"], json!([service.binary()]));
        assert_eq!(deployment["spec"]["replicas"], 1);
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            assert!(container[probe]["httpGet"]["path"].is_string(), "{probe}");
        }
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
        assert!(
            cluster
                .get("services", &names::workload(SHOP, service))
                .is_some()
        );
        assert!(
            cluster
                .get("poddisruptionbudgets", &names::workload(SHOP, service))
                .is_none(),
            "one replica needs no PDB"
        );
    }
    let amqp = cluster
        .get("secrets", &names::amqp_secret(SHOP))
        .expect("AMQP Secret");
    assert!(secret_value(&amqp, "AMQP_URL").starts_with("amqp://"));
    let order = cluster.get("deployments", "shop-order").expect("exists");
    let env = order["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(
        env.contains("http://shop-user:8001") && env.contains("http://shop-product:8002"),
        "{env}"
    );
    assert!(
        env.contains(&format!("{namespace}.{SHOP}.")),
        "topology prefix in {env}"
    );
}

#[tokio::test]
async fn a_new_shop_gets_a_finalizer_first_then_everything_else_and_a_status() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));

    // First pass: only the finalizer, before anything is created.
    cluster.reconcile().await.expect("finalizer pass");
    assert_eq!(cluster.fake.writes(), ["PATCH microshops/shop"]);
    let shop = cluster.get("microshops", SHOP).expect("exists");
    assert_eq!(shop["metadata"]["finalizers"], json!([names::FINALIZER]));
    cluster.fake.clear_requests();

    // Second pass: databases, secrets, topology, workloads, status.
    let action = cluster.reconcile().await.expect("full pass");
    assert_eq!(
        action,
        Action::requeue(std::time::Duration::from_secs(15)),
        "pods not ready yet"
    );
    assert_provisioned(&cluster).await;
    assert_eq!(cluster.condition("DatabasesReady")["status"], "True");
    assert_eq!(cluster.condition("MessagingReady")["status"], "True");
    let workloads = cluster.condition("WorkloadsReady");
    assert_eq!(workloads["status"], "False");
    assert_eq!(workloads["reason"], "ReplicasNotReady");
    assert!(
        workloads["message"]
            .as_str()
            .expect("message")
            .contains("kubectl describe deployment")
    );
    assert_eq!(cluster.condition("Ready")["status"], "False");
    let shop = cluster.get("microshops", SHOP).expect("exists");
    assert_eq!(
        shop["status"]["observedGeneration"],
        shop["metadata"]["generation"]
    );
    assert_eq!(shop["status"]["replicas"], "0/3");
    assert!(
        cluster.events().contains(&"Normal Provisioned".to_owned()),
        "{:?}",
        cluster.events()
    );

    // The pods come up: Ready, and the transition time of the others is kept.
    let databases_since = cluster.condition("DatabasesReady")["lastTransitionTime"].clone();
    cluster.pods_become_ready();
    let action = cluster.reconcile().await.expect("pass");
    assert_eq!(action, Action::requeue(std::time::Duration::from_secs(300)));
    assert_eq!(cluster.condition("Ready")["status"], "True");
    assert_eq!(
        cluster.condition("DatabasesReady")["lastTransitionTime"],
        databases_since
    );
    assert_eq!(
        cluster.get("microshops", SHOP).expect("exists")["status"]["replicas"],
        "3/3"
    );
    assert!(cluster.events().contains(&"Normal Ready".to_owned()));

    // Nothing changed: a pass writes nothing at all, and the passwords stay.
    let before = cluster.get("secrets", "shop-user-db").expect("exists");
    cluster.fake.clear_requests();
    cluster.reconcile().await.expect("idle pass");
    assert_eq!(
        cluster.fake.writes(),
        Vec::<String>::new(),
        "an unchanged shop is not written to"
    );
    let after = cluster.get("secrets", "shop-user-db").expect("exists");
    assert_eq!(
        secret_value(&before, "PASSWORD"),
        secret_value(&after, "PASSWORD")
    );

    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_changed_replica_count_patches_only_that_deployment_and_adds_its_budget() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    cluster.pods_become_ready();
    cluster.reconcile().await.expect("ready pass");

    cluster
        .edit(json!({"services": {"product": {"replicas": 3}}}))
        .await;
    cluster.fake.clear_requests();
    cluster.reconcile().await.expect("pass");
    let writes = cluster.fake.writes();
    let workload_writes: Vec<&String> = writes
        .iter()
        .filter(|w| !w.contains("microshops/") && !w.contains(" events/"))
        .collect();
    assert_eq!(
        workload_writes,
        [
            "PATCH deployments/shop-product",
            "PATCH poddisruptionbudgets/shop-product"
        ],
        "all writes: {writes:?}"
    );
    assert_eq!(
        cluster.get("deployments", "shop-product").expect("exists")["spec"]["replicas"],
        3
    );
    assert_eq!(
        cluster.get("deployments", "shop-order").expect("exists")["spec"]["replicas"],
        1
    );

    // Back to one pod: the budget goes.
    cluster
        .edit(json!({"services": {"product": {"replicas": 1}}}))
        .await;
    cluster.reconcile().await.expect("pass");
    assert!(
        cluster
            .get("poddisruptionbudgets", "shop-product")
            .is_none()
    );

    cluster.drop_everything().await;
}

#[tokio::test]
async fn autoscaling_creates_an_hpa_and_leaves_replicas_to_it() {
    let mut spec = spec(DeletionPolicy::Delete);
    spec.services.order.autoscaling = Some(AutoscalingSpec {
        enabled: true,
        min_replicas: 2,
        max_replicas: 6,
        target_cpu: 70,
    });
    let cluster = Cluster::start(&spec);
    cluster.create().await;

    let hpa = cluster
        .get("horizontalpodautoscalers", "shop-order")
        .expect("HPA");
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 6);
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "shop-order");
    let applied = cluster
        .fake
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "PATCH"
                && r.name.as_deref() == Some("shop-order")
                && r.plural == "deployments"
        })
        .and_then(|r| r.body)
        .expect("the order Deployment was applied");
    assert!(
        applied["spec"].get("replicas").is_none(),
        "no replicas field: {applied:#}"
    );
    assert!(
        cluster.get("poddisruptionbudgets", "shop-order").is_some(),
        "minReplicas 2 → PDB"
    );
    assert!(
        cluster
            .get("horizontalpodautoscalers", "shop-user")
            .is_none()
    );

    // Autoscaling off again: the HPA goes and replicas come back.
    cluster
        .edit(json!({"services": {"order": {"autoscaling": {"enabled": false}, "replicas": 2}}}))
        .await;
    cluster.reconcile().await.expect("pass");
    assert!(
        cluster
            .get("horizontalpodautoscalers", "shop-order")
            .is_none()
    );
    assert_eq!(
        cluster.get("deployments", "shop-order").expect("exists")["spec"]["replicas"],
        2
    );

    cluster.drop_everything().await;
}

#[tokio::test]
async fn deleting_with_retain_keeps_databases_and_secrets_and_lets_the_shop_go() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Retain));
    let namespace = cluster.namespace.clone();
    cluster.create().await;
    let password = secret_value(
        &cluster.get("secrets", "shop-order-db").expect("exists"),
        "PASSWORD",
    );

    cluster
        .shops()
        .delete(SHOP, &DeleteParams::default())
        .await
        .expect("deletes");
    assert!(
        cluster.get("microshops", SHOP).is_some(),
        "held by the finalizer"
    );
    cluster.reconcile().await.expect("cleanup pass");
    assert!(
        cluster.get("microshops", SHOP).is_none(),
        "finalizer removed"
    );
    for service in Service::ALL {
        assert!(database_exists(&names::database(&namespace, SHOP, service)).await);
        let secret = cluster
            .get("secrets", &names::database_secret(SHOP, service))
            .expect("Secret kept");
        assert!(
            secret["metadata"].get("ownerReferences").is_none(),
            "released: {secret:#}"
        );
    }
    assert!(cluster.events().contains(&"Normal CleanedUp".to_owned()));

    // The same shop made again reuses the kept password.
    let mut shop = Microshop::new(SHOP, spec(DeletionPolicy::Retain));
    shop.metadata.namespace = Some(namespace.clone());
    cluster
        .fake
        .insert(serde_json::to_value(&shop).expect("serialises"));
    cluster.create().await;
    let again = secret_value(
        &cluster.get("secrets", "shop-order-db").expect("exists"),
        "PASSWORD",
    );
    assert_eq!(again, password, "kept Secret's password reused");

    cluster.drop_everything().await;
}

#[tokio::test]
async fn deleting_with_delete_drops_databases_queues_and_secrets() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    let namespace = cluster.namespace.clone();
    cluster.create().await;
    let broker = Broker::new(
        SecretString::from(microshop_testkit::amqp_url()),
        "operator-test",
    );
    let prefix = names::topology_prefix(&namespace, SHOP, None);
    let queue = Topology::with_prefix(prefix).queues()[0].name.clone();
    assert!(queue_exists(&broker, &queue).await);

    cluster
        .shops()
        .delete(SHOP, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster.reconcile().await.expect("cleanup pass");
    assert!(cluster.get("microshops", SHOP).is_none());
    for service in Service::ALL {
        assert!(!database_exists(&names::database(&namespace, SHOP, service)).await);
        assert!(
            cluster
                .get("secrets", &names::database_secret(SHOP, service))
                .is_none()
        );
    }
    assert!(!queue_exists(&broker, &queue).await, "{queue} deleted");
}

async fn queue_exists(broker: &Broker, queue: &str) -> bool {
    let channel = broker.channel().await.expect("channel");
    microshop_messaging::queue_depth(&channel, queue)
        .await
        .is_ok()
}

#[tokio::test]
async fn two_shops_of_the_same_name_in_two_namespaces_do_not_collide() {
    let (a, b) = (namespace(), namespace());
    let first = Cluster::new(&a, &spec(DeletionPolicy::Delete), &support::pg_admin_uri());
    let second = Cluster::new(&b, &spec(DeletionPolicy::Delete), &support::pg_admin_uri());
    first.create().await;
    second.create().await;
    for service in Service::ALL {
        assert_ne!(
            names::database(&a, SHOP, service),
            names::database(&b, SHOP, service)
        );
    }
    first
        .shops()
        .delete(SHOP, &DeleteParams::default())
        .await
        .expect("deletes");
    first.reconcile().await.expect("cleanup");
    for service in Service::ALL {
        assert!(!database_exists(&names::database(&a, SHOP, service)).await);
        assert!(
            database_exists(&names::database(&b, SHOP, service)).await,
            "the other shop keeps its own"
        );
    }
    second.fake.clear_requests();
    second
        .reconcile()
        .await
        .expect("the other shop is unaffected");
    assert_eq!(second.condition("DatabasesReady")["status"], "True");
    second.drop_everything().await;
}

#[tokio::test]
async fn an_unreachable_database_is_a_false_condition_a_backoff_and_no_panic() {
    let cluster = Cluster::without_postgres();
    let namespace = cluster.namespace.clone();
    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("PostgreSQL is down");
    assert_eq!(error.reason(), "PostgresUnavailable");
    let condition = cluster.condition("DatabasesReady");
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "PostgresUnavailable");
    assert!(
        condition["message"]
            .as_str()
            .expect("message")
            .starts_with("PostgreSQL:"),
        "{condition}"
    );
    assert_eq!(cluster.condition("WorkloadsReady")["reason"], "Blocked");
    assert!(
        cluster.fake.list("deployments", &namespace).is_empty(),
        "nothing deployed without databases"
    );
    assert!(
        cluster
            .events()
            .contains(&"Warning PostgresUnavailable".to_owned())
    );

    let shop = cluster.shop().await;
    let first = error_policy(shop.clone(), &error, cluster.ctx.clone());
    let second = error_policy(shop, &error, cluster.ctx.clone());
    assert_eq!(first, Action::requeue(std::time::Duration::from_secs(5)));
    assert_eq!(second, Action::requeue(std::time::Duration::from_secs(10)));

    // Retain never needs the database to let the shop go.
    cluster
        .shops()
        .delete(SHOP, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster
        .reconcile()
        .await
        .expect("cleanup under Retain needs no PostgreSQL");
    assert!(cluster.get("microshops", SHOP).is_none());
    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_missing_secret_says_which_one_to_create() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Retain));
    let namespace = cluster.namespace.clone();
    Api::<Secret>::namespaced(cluster.ctx.client.clone(), &namespace)
        .delete("rabbitmq", &DeleteParams::default())
        .await
        .expect("deletes");
    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("no RabbitMQ Secret");
    assert_eq!(error.reason(), "SecretMissing");
    let condition = cluster.condition("MessagingReady");
    assert_eq!(condition["status"], "False");
    let message = condition["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("{namespace}/rabbitmq")) && message.contains("amqp://"),
        "{message}"
    );
    assert_eq!(
        cluster.condition("DatabasesReady")["status"],
        "True",
        "phases are independent"
    );
    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_paused_shop_is_left_alone() {
    let mut spec = spec(DeletionPolicy::Retain);
    spec.paused = true;
    let cluster = Cluster::start(&spec);
    let namespace = cluster.namespace.clone();
    cluster.reconcile().await.expect("finalizer pass");
    cluster.fake.clear_requests();
    cluster.reconcile().await.expect("paused pass");
    let writes = cluster.fake.writes();
    assert!(
        writes
            .iter()
            .all(|w| w.starts_with("PATCH microshops/shop/status") || w.starts_with("POST events")),
        "{writes:?}"
    );
    assert_eq!(cluster.condition("Ready")["reason"], "Paused");
    assert!(cluster.fake.list("deployments", &namespace).is_empty());
    assert!(!database_exists(&names::database(&namespace, SHOP, Service::User)).await);
}

#[tokio::test]
async fn metrics_and_health_are_served_and_count_reconciles() {
    use tower::ServiceExt;
    let cluster = Cluster::without_postgres();
    cluster.reconcile().await.expect("finalizer pass");
    cluster.reconcile().await.expect_err("PostgreSQL is down");

    let router = microshop_operator::server::router(cluster.ctx.metrics.clone());
    let get = |path: &str| {
        http::Request::get(path)
            .body(axum::body::Body::empty())
            .expect("request")
    };
    let health = router
        .clone()
        .oneshot(get("/health"))
        .await
        .expect("answers");
    assert_eq!(health.status(), http::StatusCode::OK);
    let metrics = router.oneshot(get("/metrics")).await.expect("answers");
    assert_eq!(metrics.status(), http::StatusCode::OK);
    let body = http_body_util::BodyExt::collect(metrics.into_body())
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    for line in [
        r#"microshop_operator_reconciliations_total{outcome="success"} 1"#,
        r#"microshop_operator_reconciliations_total{outcome="error"} 1"#,
        r#"microshop_operator_reconcile_failures_total{reason="PostgresUnavailable"} 1"#,
        "microshop_operator_reconcile_duration_seconds_count 2",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    cluster.drop_everything().await;
}
