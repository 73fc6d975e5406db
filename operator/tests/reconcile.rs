//! Reconcile scenarios against a fake Kubernetes API server (in memory, `support::fake_api`),
//! with the real PostgreSQL and RabbitMQ behind the Secrets: every pass provisions for real.

mod support;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use microshop_events::Topology;
use microshop_messaging::Broker;
use microshop_operator::crd::{DeletionPolicy, Microshop, Service};
use microshop_operator::health::Health;
use microshop_operator::names;
use microshop_operator::provision::postgres::PostgresAdmin;
use microshop_operator::reconcile::error_policy;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::cluster::{Cluster, plain_value, secret_ref, secret_value};
use support::shop::{SHOP, namespace, spec};

async fn database_exists(name: &str) -> bool {
    let mut admin = PostgresAdmin::connect(&support::pg_admin_uri())
        .await
        .expect("connects");
    let exists = admin.database_exists(name).await.expect("query");
    admin.close().await;
    exists
}

/// Every database, Secret, Deployment and Service of a fresh shop exists and looks right.
async fn assert_provisioned(cluster: &Cluster) {
    let namespace = cluster.namespace.as_str();
    for service in Service::WITH_DATABASE {
        let database = names::database(namespace, SHOP, service);
        assert!(database_exists(&database).await, "{database} created");
        let secret = cluster
            .get("secrets", &names::database_secret(SHOP, service))
            .expect("database Secret");
        let url = secret_value(&secret, "DATABASE_URL");
        assert!(url.contains(&format!("/{database}")), "{url}");
        assert!(
            secret["metadata"].get("ownerReferences").is_none(),
            "no garbage collection (a foreground cascade included) may delete a database Secret: {secret:#}"
        );
        assert_eq!(secret["metadata"]["labels"][names::SHOP_LABEL], SHOP);
    }
    assert!(
        cluster
            .get(
                "secrets",
                &names::database_secret(SHOP, Service::PaymentSandbox)
            )
            .is_none(),
        "the sandbox has no database"
    );
    for service in Service::ALL {
        let deployment = cluster
            .get("deployments", &names::workload(SHOP, service))
            .expect("Deployment");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["command"], json!([service.binary()]));
        assert_eq!(deployment["spec"]["replicas"], 1);
        assert_eq!(container["ports"][0]["containerPort"], service.port());
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
    assert_eq!(amqp["metadata"]["ownerReferences"][0]["kind"], "Microshop");
    assert_generated_secrets(cluster);
    let status = cluster.get("microshops", SHOP).expect("exists")["status"].clone();
    let databases: Vec<&str> = status["databases"]
        .as_array()
        .expect("the databases")
        .iter()
        .filter_map(|d| d["service"].as_str())
        .collect();
    assert_eq!(
        databases,
        ["user", "product", "order", "payment", "notification"]
    );
    assert_env(cluster, cluster.namespace.as_str());
    assert_payments(cluster);
    assert_notifications(cluster);
    assert_gateway(cluster);
    assert_notification_queues(cluster).await;
}

/// The notification service's queues (DESIGN §5) are declared under the shop's prefix: one per
/// producer whose events it turns into notifications, and its own work queue fed through the
/// `notification.tasks` exchange, each with its DLQ.
async fn assert_notification_queues(cluster: &Cluster) {
    let prefix = names::topology_prefix(&cluster.namespace, SHOP, None);
    let topology = Topology::with_prefix(prefix.clone());
    let mut declared: Vec<String> = topology
        .queues()
        .into_iter()
        .map(|queue| queue.name)
        .filter(|name| name.starts_with(&format!("{prefix}notification.")))
        .collect();
    declared.sort();
    let mut expected: Vec<String> = [
        "order-events",
        "payment-events",
        "product-events",
        "tasks",
        "user-events",
    ]
    .iter()
    .flat_map(|queue| {
        let name = format!("{prefix}notification.{queue}");
        [format!("{name}.dlq"), name]
    })
    .collect();
    expected.sort();
    assert_eq!(declared, expected);
    assert!(
        topology
            .exchanges()
            .iter()
            .any(|exchange| exchange.name == format!("{prefix}notification.tasks"))
    );
    let broker = Broker::new(
        SecretString::from(microshop_testkit::amqp_url()),
        "operator-test",
    );
    for queue in &declared {
        assert!(queue_exists(&broker, queue).await, "{queue} declared");
    }
}

/// The Secrets the operator generates values into: token keys, first admin, service keys, the
/// sandbox's provider keys.
fn assert_generated_secrets(cluster: &Cluster) {
    let jwt = cluster
        .get("secrets", &names::jwt_secret(SHOP))
        .expect("the token key Secret");
    let signing = secret_value(&jwt, "JWT_SIGNING_KEY");
    let key = microshop_auth::SigningKey::from_pem(&secrecy::SecretString::from(signing), "test")
        .expect("an Ed25519 key");
    assert_eq!(
        secret_value(&jwt, "JWT_PUBLIC_KEYS").trim(),
        key.public().to_pem().trim()
    );
    let admin = cluster
        .get("secrets", &names::admin_account_secret(SHOP))
        .expect("the first admin's Secret");
    assert!(
        admin["metadata"].get("ownerReferences").is_none(),
        "it follows the user database (deletionPolicy), not the shop: {admin:#}"
    );
    assert_eq!(admin["metadata"]["labels"][names::SHOP_LABEL], SHOP);
    assert_eq!(secret_value(&admin, "ADMIN_EMAIL"), "admin@example.com");
    let password = secret_value(&admin, "ADMIN_PASSWORD");
    assert!(
        password.len() >= 24 && password.chars().all(|c| c.is_ascii_alphanumeric()),
        "a long random password"
    );
    assert_eq!(
        cluster.get("microshops", SHOP).expect("exists")["status"]["adminSecret"],
        names::admin_account_secret(SHOP),
        "the status names the admin's Secret"
    );
    let keys = cluster
        .get("secrets", &names::service_keys_secret(SHOP))
        .expect("the service keys Secret");
    assert_eq!(keys["metadata"]["ownerReferences"][0]["kind"], "Microshop");
    for caller in ["order-service", "payment-service"] {
        let key = secret_value(&keys, caller);
        assert!(
            is_hex_key(&key),
            "{caller}: 64 lowercase hex characters: {key}"
        );
    }
    assert_ne!(
        secret_value(&keys, "order-service"),
        secret_value(&keys, "payment-service"),
        "one key per caller"
    );
    let provider = cluster
        .get("secrets", &names::payment_provider_secret(SHOP))
        .expect("the sandbox's provider keys Secret");
    assert_eq!(
        provider["metadata"]["ownerReferences"][0]["kind"],
        "Microshop"
    );
    for key in ["api-key", "webhook-secret"] {
        assert!(is_hex_key(&secret_value(&provider, key)), "{key}");
    }
}

/// 64 lowercase hex characters, as `openssl rand -hex 32` prints them.
fn is_hex_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// What each service's pods read, and from where.
fn assert_env(cluster: &Cluster, namespace: &str) {
    let from = |secret: String, key: &str| Some((secret, key.to_owned()));
    let (jwt, admin, amqp) = (
        names::jwt_secret(SHOP),
        names::admin_account_secret(SHOP),
        names::amqp_secret(SHOP),
    );
    let prefix = format!("{namespace}.{SHOP}.");
    for service in Service::WITH_DATABASE {
        let env = cluster.env(service);
        assert_eq!(
            secret_ref(&env, "DATABASE_URL"),
            from(names::database_secret(SHOP, service), "DATABASE_URL")
        );
        assert_eq!(
            secret_ref(&env, "AMQP_URL"),
            from(amqp.clone(), "AMQP_URL"),
            "{service} publishes or consumes events"
        );
        assert_eq!(
            plain_value(&env, "AMQP_TOPOLOGY_PREFIX").as_deref(),
            Some(prefix.as_str())
        );
        // Only the order service calls the user service (a buyer's address, with the buyer's
        // token).
        let user_service = (service == Service::Order).then(|| format!("http://{SHOP}-user:8001"));
        assert_eq!(
            plain_value(&env, "USER_SERVICE_URL"),
            user_service,
            "{service}: only the order service calls the user service"
        );
    }
    let user = cluster.env(Service::User);
    assert_eq!(
        secret_ref(&user, "JWT_SIGNING_KEY"),
        from(jwt.clone(), "JWT_SIGNING_KEY")
    );
    assert_eq!(
        secret_ref(&user, "BOOTSTRAP_ADMIN_EMAIL"),
        from(admin.clone(), "ADMIN_EMAIL")
    );
    assert_eq!(
        secret_ref(&user, "BOOTSTRAP_ADMIN_PASSWORD"),
        from(admin, "ADMIN_PASSWORD")
    );
    assert_eq!(
        secret_ref(&user, "JWT_PUBLIC_KEYS"),
        None,
        "the user service verifies with its signing key"
    );
    for service in [
        Service::Product,
        Service::Order,
        Service::Payment,
        Service::Notification,
        Service::Gateway,
    ] {
        let env = cluster.env(service);
        assert_eq!(
            secret_ref(&env, "JWT_PUBLIC_KEYS"),
            from(jwt.clone(), "JWT_PUBLIC_KEYS"),
            "{service} verifies access tokens"
        );
        for private in [
            "JWT_SIGNING_KEY",
            "BOOTSTRAP_ADMIN_EMAIL",
            "BOOTSTRAP_ADMIN_PASSWORD",
        ] {
            assert_eq!(
                secret_ref(&env, private),
                None,
                "{service} reads no {private}"
            );
        }
    }
    assert_eq!(
        plain_value(&cluster.env(Service::Order), "PRODUCT_SERVICE_URL").as_deref(),
        Some("http://shop-product:8002")
    );
    // Sign-ins come through the gateway: the user service throttles by the address it appends.
    assert_eq!(
        plain_value(&cluster.env(Service::User), "CLIENT_ADDRESS_HEADER").as_deref(),
        Some("x-forwarded-for")
    );

    assert_service_keys_and_no_redis(cluster);
}

/// Each caller sends its own service key, the service it calls accepts it (the product service
/// the order service's, the order service the payment service's); without `spec.redis` nobody
/// gets Redis.
fn assert_service_keys_and_no_redis(cluster: &Cluster) {
    let from = |secret: String, key: &str| Some((secret, key.to_owned()));
    let keys = names::service_keys_secret(SHOP);
    for (caller, called, variable) in [
        (Service::Order, Service::Product, "ORDER_SERVICE_KEY"),
        (Service::Payment, Service::Order, "PAYMENT_SERVICE_KEY"),
    ] {
        let key = caller.binary();
        assert_eq!(
            secret_ref(&cluster.env(caller), "SERVICE_KEY"),
            from(keys.clone(), key),
            "{caller} sends its own key"
        );
        let env = cluster.env(called);
        assert_eq!(secret_ref(&env, variable), from(keys.clone(), key));
        assert_eq!(
            plain_value(&env, "SERVICE_KEYS"),
            Some(format!("{key}=$({variable})")),
            "{called} accepts {caller} and no other"
        );
        let position = |name: &str| env.iter().position(|var| var["name"] == name);
        assert_eq!(
            position("SERVICE_KEYS"),
            position(variable).map(|p| p + 1),
            "Kubernetes expands $({variable}) only when it is defined before: {env:#?}"
        );
    }
    for (service, absent) in [
        (
            Service::User,
            ["SERVICE_KEY", "ORDER_SERVICE_KEY", "SERVICE_KEYS"],
        ),
        (
            Service::Product,
            ["SERVICE_KEY", "REDIS_URL", "REDIS_KEY_PREFIX"],
        ),
        (
            Service::Order,
            ["ORDER_SERVICE_KEY", "REDIS_URL", "PROVIDER_API_KEY"],
        ),
        (
            Service::Payment,
            ["SERVICE_KEYS", "REDIS_URL", "PAYMENT_SERVICE_KEY"],
        ),
        (
            Service::Notification,
            ["SERVICE_KEY", "SERVICE_KEYS", "REDIS_URL"],
        ),
        (
            Service::PaymentSandbox,
            ["SERVICE_KEY", "SERVICE_KEYS", "AMQP_URL"],
        ),
        (
            Service::Gateway,
            ["SERVICE_KEY", "SERVICE_KEYS", "REDIS_URL"],
        ),
    ] {
        let env = cluster.env(service);
        for name in absent {
            assert!(
                env.iter().all(|var| var["name"] != name),
                "{service} gets no {name}"
            );
        }
    }
    // Without spec.redis the user service gets no Redis (each pod counts on its own).
    for name in ["REDIS_URL", "REDIS_KEY_PREFIX"] {
        assert!(
            cluster
                .env(Service::User)
                .iter()
                .all(|var| var["name"] != name),
            "user gets no {name} without spec.redis"
        );
    }
}

/// The payment service reaches the order service and the sandbox, the sandbox reaches the
/// payment service's webhook route; both read the provider's keys from the same Secret; the
/// sandbox runs one pod that is replaced, never rolled, and no HPA or PDB.
fn assert_payments(cluster: &Cluster) {
    let from = |key: &str| Some((names::payment_provider_secret(SHOP), key.to_owned()));
    let payment = cluster.env(Service::Payment);
    for (name, value) in [
        ("HTTP_PORT", "8004"),
        ("ORDER_SERVICE_URL", "http://shop-order:8003"),
        ("PROVIDER_URL", "http://shop-payment-sandbox:8090"),
        // Where buyers come back after paying: the port-forward of the gateway (no Ingress).
        ("SHOP_URL", "http://localhost:8000"),
    ] {
        assert_eq!(
            plain_value(&payment, name).as_deref(),
            Some(value),
            "{name}"
        );
    }
    assert_eq!(secret_ref(&payment, "PROVIDER_API_KEY"), from("api-key"));
    assert_eq!(
        secret_ref(&payment, "WEBHOOK_SECRETS"),
        from("webhook-secret")
    );
    assert_eq!(
        plain_value(&cluster.env(Service::Order), "PAYMENT_SERVICE_URL").as_deref(),
        Some("http://shop-payment:8004")
    );

    let sandbox = cluster.env(Service::PaymentSandbox);
    for (name, value) in [
        ("HTTP_PORT", "8090"),
        ("PUBLIC_URL", "http://localhost:8090"),
        (
            "WEBHOOK_URL",
            "http://shop-payment:8004/api/payments/callback",
        ),
    ] {
        assert_eq!(
            plain_value(&sandbox, name).as_deref(),
            Some(value),
            "{name}"
        );
    }
    assert_eq!(secret_ref(&sandbox, "API_KEY"), from("api-key"));
    assert_eq!(
        secret_ref(&sandbox, "WEBHOOK_SECRET"),
        from("webhook-secret")
    );
    for absent in [
        "DATABASE_URL",
        "AMQP_URL",
        "JWT_PUBLIC_KEYS",
        "REDIS_URL",
        "PROVIDER_URL",
    ] {
        assert!(
            sandbox.iter().all(|var| var["name"] != absent),
            "the sandbox gets no {absent}"
        );
    }
    let name = names::workload(SHOP, Service::PaymentSandbox);
    let deployment = cluster.get("deployments", &name).expect("the sandbox runs");
    assert_eq!(deployment["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(
        cluster.get("services", &name).expect("its Service")["spec"]["ports"][0]["port"],
        8090
    );
    assert!(cluster.get("horizontalpodautoscalers", &name).is_none());
    assert!(cluster.get("poddisruptionbudgets", &name).is_none());
    let payment = cluster
        .get("deployments", &names::workload(SHOP, Service::Payment))
        .expect("the payment service runs");
    assert!(
        payment["spec"].get("strategy").is_none(),
        "the payment service rolls like the others"
    );
}

/// The notification service: its own database, the broker and the token keys; no service key,
/// no Redis, no upstream; without `spec.smtp` it sends no mail (`MAIL_TRANSPORT=log`) and its
/// mails link to the default shop address.
fn assert_notifications(cluster: &Cluster) {
    let env = cluster.env(Service::Notification);
    for (name, value) in [
        ("HTTP_PORT", "8005"),
        ("MAIL_TRANSPORT", "log"),
        ("SHOP_URL", "http://localhost:8000"),
    ] {
        assert_eq!(plain_value(&env, name).as_deref(), Some(value), "{name}");
    }
    for absent in [
        "SMTP_URL",
        "MAIL_FROM",
        "SERVICE_KEY",
        "REDIS_URL",
        "ORDER_SERVICE_URL",
        "USER_SERVICE_URL",
    ] {
        assert!(
            env.iter().all(|var| var["name"] != absent),
            "the notification service gets no {absent}"
        );
    }
    let name = names::workload(SHOP, Service::Notification);
    let deployment = cluster.get("deployments", &name).expect("it always runs");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["notification-service"])
    );
    assert!(
        deployment["spec"].get("strategy").is_none(),
        "it rolls like the others"
    );
    assert_eq!(
        cluster.get("services", &name).expect("its Service")["spec"]["ports"][0]["port"],
        8005
    );
}

/// The gateway: the shop's front door on port 8000, no database, no broker; every service as
/// its upstream, the token keys, the storefront's key from the Secret the operator generated;
/// without an Ingress its session cookie is not `Secure` (the shop is reached over a plain-HTTP
/// port-forward), and no Ingress exists.
fn assert_gateway(cluster: &Cluster) {
    let env = cluster.env(Service::Gateway);
    for (name, value) in [
        ("HTTP_PORT", "8000"),
        ("USER_SERVICE_URL", "http://shop-user:8001"),
        ("PRODUCT_SERVICE_URL", "http://shop-product:8002"),
        ("ORDER_SERVICE_URL", "http://shop-order:8003"),
        ("PAYMENT_SERVICE_URL", "http://shop-payment:8004"),
        ("NOTIFICATION_SERVICE_URL", "http://shop-notification:8005"),
        ("STOREFRONT_SECURE_COOKIES", "false"),
    ] {
        assert_eq!(plain_value(&env, name).as_deref(), Some(value), "{name}");
    }
    assert_eq!(
        secret_ref(&env, "STOREFRONT_SECRET"),
        Some((
            names::storefront_secret(SHOP),
            "STOREFRONT_SECRET".to_owned()
        ))
    );
    assert_eq!(
        secret_ref(&env, "JWT_PUBLIC_KEYS"),
        Some((names::jwt_secret(SHOP), "JWT_PUBLIC_KEYS".to_owned()))
    );
    for absent in [
        "DATABASE_URL",
        "AMQP_URL",
        "AMQP_TOPOLOGY_PREFIX",
        "JWT_SIGNING_KEY",
        "SHOP_URL",
        "CORS_ALLOWED_ORIGINS",
        "RATE_LIMIT_PER_SECOND",
        "CLIENT_ADDRESS_HEADER",
    ] {
        assert!(
            env.iter().all(|var| var["name"] != absent),
            "the gateway gets no {absent}"
        );
    }
    let name = names::workload(SHOP, Service::Gateway);
    let deployment = cluster.get("deployments", &name).expect("it always runs");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], json!(["gateway"]));
    assert_eq!(
        container["ports"][0],
        json!({"name": "http", "containerPort": 8000, "protocol": "TCP"})
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"],
        "/health/ready"
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"],
        "/health/live"
    );
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"],
        "8000"
    );
    let service = cluster.get("services", &name).expect("its Service");
    assert_eq!(service["spec"]["ports"][0]["port"], 8000);
    assert_eq!(service["spec"]["ports"][0]["name"], "http");
    assert!(
        cluster.get("ingresses", &name).is_none(),
        "no Ingress unless spec.ingress.enabled"
    );
}

#[tokio::test]
async fn a_new_shop_gets_a_finalizer_first_then_everything_else_and_a_status() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));

    // First pass: only the finalizer, before anything is created.
    let start = cluster.fake.version();
    cluster.reconcile().await.expect("finalizer pass");
    assert_eq!(
        cluster.fake.changes_since(start),
        ["MODIFIED microshops/shop"]
    );
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
    assert_eq!(shop["status"]["replicas"], "0/7");
    assert_eq!(shop["status"]["url"], "http://localhost:8000");
    let reported: Vec<&String> = shop["status"]["services"]
        .as_object()
        .expect("pods per program")
        .keys()
        .collect();
    assert_eq!(
        reported,
        [
            "gateway",
            "notification",
            "order",
            "payment",
            "payment-sandbox",
            "product",
            "user"
        ]
    );
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
        "7/7"
    );
    assert!(cluster.events().contains(&"Normal Ready".to_owned()));

    // Nothing changed: every object is applied again, and nothing at all changes.
    let before = cluster.get("secrets", "shop-user-db").expect("exists");
    let idle = cluster.fake.version();
    cluster.fake.clear_requests();
    cluster.reconcile().await.expect("idle pass");
    assert_eq!(
        cluster.fake.changes_since(idle),
        Vec::<String>::new(),
        "an unchanged shop is not rewritten"
    );
    assert!(
        cluster
            .fake
            .writes()
            .contains(&"PATCH deployments/shop-user".to_owned()),
        "the full object is applied every pass"
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
    let before = cluster.fake.version();
    cluster.reconcile().await.expect("pass");
    let changes = cluster.fake.changes_since(before);
    let workload_changes: Vec<&String> = changes
        .iter()
        .filter(|w| !w.contains("microshops/") && !w.contains(" events/"))
        .collect();
    assert_eq!(
        workload_changes,
        [
            "MODIFIED deployments/shop-product",
            "ADDED poddisruptionbudgets/shop-product"
        ],
        "all changes: {changes:?}"
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

/// The order Deployment's replica count in every version the API server stored.
fn replica_history(cluster: &Cluster) -> Vec<Value> {
    cluster
        .fake
        .history("deployments", &cluster.namespace, "shop-order")
        .iter()
        .map(|d| d["spec"]["replicas"].clone())
        .collect()
}

#[tokio::test]
async fn switching_to_autoscaling_and_back_hands_replicas_over_without_a_dip() {
    let mut spec = spec(DeletionPolicy::Delete);
    spec.services.order.replicas = 3;
    let cluster = Cluster::start(&spec);
    cluster.create().await;
    assert_eq!(replica_history(&cluster), [json!(3)]);

    // Autoscaling on: an HPA, and a Deployment the operator no longer sizes.
    cluster
        .edit(json!({"services": {"order": {"autoscaling": {"enabled": true, "minReplicas": 2, "maxReplicas": 6, "targetCPU": 70}}}}))
        .await;
    cluster.reconcile().await.expect("pass");
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
        .filter(|r| {
            r.method == "PATCH"
                && r.plural == "deployments"
                && r.name.as_deref() == Some("shop-order")
        })
        .filter(|r| {
            r.query
                .contains(&format!("fieldManager={}", names::FIELD_MANAGER))
        })
        .filter_map(|r| r.body)
        .next_back()
        .expect("the order Deployment was applied");
    assert!(
        applied["spec"].get("replicas").is_none(),
        "the operator's apply leaves replicas out: {applied:#}"
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
    // The autoscaler scales (the HPA controller's update), and later passes leave it be.
    cluster
        .patch_deployment_as(
            "horizontal-pod-autoscaler",
            "shop-order",
            json!({"spec": {"replicas": 5}}),
        )
        .await;
    cluster.reconcile().await.expect("pass");
    cluster.reconcile().await.expect("pass");
    assert_eq!(
        cluster.get("deployments", "shop-order").expect("exists")["spec"]["replicas"],
        5
    );
    let shop = cluster.get("microshops", SHOP).expect("exists");
    assert_eq!(
        shop["status"]["services"]["order"]["desired"], 5,
        "the HPA's choice is reported"
    );

    // Autoscaling off again: the HPA goes and the fixed count comes back.
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
    let history = replica_history(&cluster);
    assert!(
        history
            .iter()
            .all(|r| [json!(3), json!(5), json!(2)].contains(r)),
        "never a dip to one pod or an unset count: {history:?}"
    );

    cluster.drop_everything().await;
}

/// A Secret with the card provider's keys, as a user creates it for a real provider.
fn provider_secret(namespace: &str, name: &str, webhook_secret: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"api-key": "pk_live_0123456789abcdef0123456789abcdef", "webhook-secret": webhook_secret},
    })
}

#[tokio::test]
async fn without_a_card_provider_no_payment_service_runs_and_a_real_provider_replaces_the_sandbox()
{
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    let namespace = cluster.namespace.clone();
    cluster.create().await;
    cluster.pods_become_ready();
    cluster.reconcile().await.expect("ready pass");
    let generated = cluster
        .get("secrets", &names::payment_provider_secret(SHOP))
        .expect("the sandbox's keys");
    let (payment, sandbox) = (
        names::workload(SHOP, Service::Payment),
        names::workload(SHOP, Service::PaymentSandbox),
    );

    // The sandbox is switched off: it goes, and with it the payment service (no provider is
    // left); the rest of the shop stays Ready and says why payments are off.
    cluster
        .edit(json!({"paymentSandbox": {"enabled": false}}))
        .await;
    cluster.reconcile().await.expect("pass");
    for name in [&payment, &sandbox] {
        assert!(cluster.get("deployments", name).is_none(), "{name} removed");
        assert!(cluster.get("services", name).is_none(), "{name} removed");
    }
    let shop = cluster.get("microshops", SHOP).expect("exists");
    assert_eq!(shop["status"]["replicas"], "5/5");
    assert!(
        shop["status"]["services"].get("payment").is_none(),
        "{shop:#}"
    );
    let workloads = cluster.condition("WorkloadsReady");
    assert_eq!(workloads["status"], "True");
    assert!(
        workloads["message"]
            .as_str()
            .is_some_and(|m| m.contains("payments are off")),
        "{workloads}"
    );
    assert_eq!(cluster.condition("Ready")["status"], "True");
    assert_eq!(
        cluster.get("secrets", &names::payment_provider_secret(SHOP)),
        Some(generated),
        "the sandbox's keys stay for when it comes back"
    );
    assert!(
        database_exists(&names::database(&namespace, SHOP, Service::Payment)).await,
        "the payment database stays"
    );

    // A real provider: a missing Secret says which one to create and what it must hold.
    cluster
        .edit(json!({"paymentProvider": {"url": "https://pay.example/v2", "secretRef": {"name": "card-provider"}}}))
        .await;
    let error = cluster.reconcile().await.expect_err("no provider Secret");
    assert_eq!(error.reason(), "SecretMissing");
    let message = cluster.condition("WorkloadsReady")["message"].clone();
    assert!(
        message.as_str().is_some_and(
            |m| m.contains(&format!("{namespace}/card-provider")) && m.contains("\"api-key\"")
        ),
        "{message}"
    );

    // The user creates it: the payment service runs against that provider with those keys.
    cluster.fake.insert(provider_secret(
        &namespace,
        "card-provider",
        "whsec_one_0123456789abcdef0123456789",
    ));
    cluster.reconcile().await.expect("pass");
    let env = cluster.env(Service::Payment);
    assert_eq!(
        plain_value(&env, "PROVIDER_URL").as_deref(),
        Some("https://pay.example/v2")
    );
    let from = |key: &str| Some(("card-provider".to_owned(), key.to_owned()));
    assert_eq!(secret_ref(&env, "PROVIDER_API_KEY"), from("api-key"));
    assert_eq!(secret_ref(&env, "WEBHOOK_SECRETS"), from("webhook-secret"));
    assert!(cluster.get("deployments", &sandbox).is_none(), "no sandbox");

    // A second webhook secret (a rotation) rolls the payment pods, and only them.
    let before = cluster.checksum(Service::Order);
    let payment_before = cluster.checksum(Service::Payment);
    cluster.fake.insert(provider_secret(
        &namespace,
        "card-provider",
        "whsec_two_0123456789abcdef0123456789,whsec_one_0123456789abcdef0123456789",
    ));
    cluster.reconcile().await.expect("pass");
    assert_ne!(cluster.checksum(Service::Payment), payment_before);
    assert_eq!(cluster.checksum(Service::Order), before);

    cluster.drop_everything().await;
}

/// The `SHOP_URL` of the payment and notification pods and the gateway's
/// `STOREFRONT_SECURE_COOKIES`, as applied now.
fn public_address(cluster: &Cluster) -> (String, String, String) {
    let of = |service, name| plain_value(&cluster.env(service), name).unwrap_or_default();
    (
        of(Service::Payment, "SHOP_URL"),
        of(Service::Notification, "SHOP_URL"),
        of(Service::Gateway, "STOREFRONT_SECURE_COOKIES"),
    )
}

/// The gateway's `CLIENT_ADDRESS_HEADER`, if it has one.
fn client_address_header(cluster: &Cluster) -> Option<String> {
    plain_value(&cluster.env(Service::Gateway), "CLIENT_ADDRESS_HEADER")
}

/// The Ingress of `spec.ingress` with host `shop.example.com`, class `nginx`, TLS Secret
/// `shop-example-tls` and a cert-manager annotation: every path of the host to the gateway.
fn assert_tls_ingress(ingress: &Value, name: &str) {
    assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(
        ingress["metadata"]["ownerReferences"][0]["kind"],
        "Microshop"
    );
    assert_eq!(ingress["metadata"]["labels"][names::SHOP_LABEL], SHOP);
    assert_eq!(
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt"
    );
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        ingress["spec"]["rules"],
        json!([{"host": "shop.example.com", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"name": "http"}}},
        }]}}])
    );
    assert_eq!(
        ingress["spec"]["tls"],
        json!([{"hosts": ["shop.example.com"], "secretName": "shop-example-tls"}])
    );
}

#[tokio::test]
async fn an_ingress_to_the_gateway_is_applied_while_enabled_and_removed_when_disabled() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let name = names::workload(SHOP, Service::Gateway);
    assert!(cluster.get("ingresses", &name).is_none());
    let local = "http://localhost:8000".to_owned();
    assert_eq!(
        public_address(&cluster),
        (local.clone(), local.clone(), "false".into())
    );

    // Enabled with a host, a class, a TLS Secret and an annotation for cert-manager.
    cluster
        .edit(json!({"ingress": {
            "enabled": true, "host": "shop.example.com", "className": "nginx",
            "tlsSecretName": "shop-example-tls",
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        }}))
        .await;
    cluster.fake.clear_requests();
    cluster.reconcile().await.expect("pass");
    assert!(
        cluster
            .fake
            .writes()
            .contains(&format!("PATCH ingresses/{name}")),
        "server-side apply: {:?}",
        cluster.fake.writes()
    );
    assert_tls_ingress(
        &cluster.get("ingresses", &name).expect("the Ingress"),
        &name,
    );
    // Buyers reach the shop at https://<host>: links in mails and back from paying point there,
    // and the session cookie is Secure.
    let https = "https://shop.example.com".to_owned();
    assert_eq!(
        public_address(&cluster),
        (https.clone(), https.clone(), "true".into())
    );
    assert_eq!(
        cluster.get("microshops", SHOP).expect("exists")["status"]["url"],
        https
    );
    // Every buyer reaches the gateway through the controller: each is told apart (and rate
    // limited) by the address the controller writes into X-Forwarded-For.
    assert_eq!(
        client_address_header(&cluster).as_deref(),
        Some("x-forwarded-for")
    );

    // Without the TLS Secret: plain HTTP, and the tls block goes from the Ingress.
    cluster
        .edit(json!({"ingress": {"tlsSecretName": null, "className": null}}))
        .await;
    cluster.reconcile().await.expect("pass");
    let ingress = cluster.get("ingresses", &name).expect("the Ingress");
    assert!(ingress["spec"].get("tls").is_none(), "{ingress:#}");
    assert!(
        ingress["spec"].get("ingressClassName").is_none(),
        "{ingress:#}"
    );
    let http = "http://shop.example.com".to_owned();
    assert_eq!(
        public_address(&cluster),
        (http.clone(), http.clone(), "false".into())
    );

    // spec.shopUrl wins (TLS ended in front of the ingress controller, say).
    cluster
        .edit(json!({"shopUrl": "https://www.example.org"}))
        .await;
    cluster.reconcile().await.expect("pass");
    let given = "https://www.example.org".to_owned();
    assert_eq!(
        public_address(&cluster),
        (given.clone(), given.clone(), "true".into())
    );

    // Disabled: the Ingress goes, and the shop is reached through a port-forward again.
    cluster
        .edit(json!({"ingress": {"enabled": false}, "shopUrl": null}))
        .await;
    cluster.reconcile().await.expect("pass");
    assert!(cluster.get("ingresses", &name).is_none(), "removed");
    assert_eq!(client_address_header(&cluster), None, "the TCP peer again");
    assert_eq!(
        public_address(&cluster),
        (local.clone(), local, "false".into())
    );

    // An Ingress of that name someone else made is none of the operator's business.
    cluster.fake.insert(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": cluster.namespace},
        "spec": {"defaultBackend": {"service": {"name": "elsewhere", "port": {"number": 80}}}},
    }));
    cluster.reconcile().await.expect("pass");
    assert!(cluster.get("ingresses", &name).is_some(), "left alone");

    cluster.drop_everything().await;
}

#[tokio::test]
async fn what_the_operator_stops_setting_goes_and_what_others_set_stays() {
    let mut spec = spec(DeletionPolicy::Delete);
    spec.services.user.resources = Some(
        serde_json::from_value(json!({
            "requests": {"cpu": "0.1", "memory": "64Mi"},
            "limits": {"cpu": "1", "memory": "0.25Gi"},
        }))
        .expect("valid resources"),
    );
    let cluster = Cluster::start(&spec);
    cluster.create().await;
    cluster.pods_become_ready();
    cluster.reconcile().await.expect("ready pass");
    let resources = |cluster: &Cluster| {
        cluster.get("deployments", "shop-user").expect("exists")["spec"]["template"]["spec"]["containers"][0]["resources"].clone()
    };
    // Stored canonically; spelled as the user spelled them, applying them again changes nothing.
    assert_eq!(
        resources(&cluster),
        json!({"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}})
    );
    let idle = cluster.fake.version();
    cluster.reconcile().await.expect("idle pass");
    assert_eq!(cluster.fake.changes_since(idle), Vec::<String>::new());

    // Someone edits the Deployment: a note of theirs stays, the image goes back.
    cluster
        .patch_deployment_as(
            "kubectl-edit",
            "shop-user",
            json!({"metadata": {"annotations": {"team": "shop"}}}),
        )
        .await;
    let mut deployment = cluster.get("deployments", "shop-user").expect("exists");
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = json!("someone-else:1");
    Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(
        cluster.fake.admin_client(),
        &cluster.namespace,
    )
    .replace(
        "shop-user",
        &kube::api::PostParams {
            field_manager: Some("kubectl-edit".into()),
            ..Default::default()
        },
        &serde_json::from_value(deployment).expect("a Deployment"),
    )
    .await
    .expect("replaces");

    // The CPU limit leaves the spec.
    cluster
        .edit(json!({"services": {"user": {"resources": {"requests": {"cpu": "0.1", "memory": "64Mi"}, "limits": {"cpu": null, "memory": "0.25Gi"}}}}}))
        .await;
    cluster.reconcile().await.expect("pass");
    let deployment = cluster.get("deployments", "shop-user").expect("exists");
    assert_eq!(
        resources(&cluster)["limits"],
        json!({"memory": "256Mi"}),
        "the dropped limit is removed"
    );
    assert_eq!(deployment["metadata"]["annotations"]["team"], "shop");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "microshop:latest"
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
    let admin = names::admin_account_secret(SHOP);
    let admin_password = secret_value(
        &cluster.get("secrets", &admin).expect("exists"),
        "ADMIN_PASSWORD",
    );
    // As a build that gave the admin Secret an owner reference left it: the cleanup releases it.
    let uid = cluster.get("microshops", SHOP).expect("exists")["metadata"]["uid"].clone();
    Api::<Secret>::namespaced(cluster.fake.admin_client(), &namespace)
        .patch(
            &admin,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"ownerReferences": [{
                "apiVersion": "microshop.dev/v1alpha1", "kind": "Microshop", "name": SHOP,
                "uid": uid, "controller": true, "blockOwnerDeletion": true,
            }]}})),
        )
        .await
        .expect("patches");

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
    for service in Service::WITH_DATABASE {
        assert!(database_exists(&names::database(&namespace, SHOP, service)).await);
        let secret = cluster
            .get("secrets", &names::database_secret(SHOP, service))
            .expect("Secret kept");
        assert!(
            secret["metadata"].get("ownerReferences").is_none(),
            "released: {secret:#}"
        );
    }
    let kept = cluster
        .get("secrets", &admin)
        .expect("the first admin's Secret is kept with the user database");
    assert!(
        kept["metadata"].get("ownerReferences").is_none(),
        "released: {kept:#}"
    );
    assert!(cluster.events().contains(&"Normal CleanedUp".to_owned()));

    // The same shop made again reuses the kept passwords: the retained user database's admin
    // account still has the one in the Secret (the user service never resets it).
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
    assert_eq!(
        secret_value(
            &cluster.get("secrets", &admin).expect("exists"),
            "ADMIN_PASSWORD"
        ),
        admin_password,
        "the first admin's password reused"
    );

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
    for service in Service::WITH_DATABASE {
        assert!(!database_exists(&names::database(&namespace, SHOP, service)).await);
        assert!(
            cluster
                .get("secrets", &names::database_secret(SHOP, service))
                .is_none()
        );
    }
    assert!(!queue_exists(&broker, &queue).await, "{queue} deleted");
    assert!(
        cluster
            .get("secrets", &names::admin_account_secret(SHOP))
            .is_none(),
        "the first admin's Secret goes with the user database"
    );
}

/// The finalizers of the admin Secret `name`.
fn finalizers_of(cluster: &Cluster, name: &str) -> Value {
    cluster.get("secrets", name).map_or(Value::Null, |secret| {
        secret["metadata"]["finalizers"].clone()
    })
}

#[tokio::test]
async fn a_delete_shop_deleted_together_with_its_admin_secrets_still_drops_everything() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    let namespace = cluster.namespace.clone();
    cluster.create().await;
    let finalizer = names::admin_secret_finalizer(SHOP);
    for name in ["pg-admin", "rabbitmq"] {
        assert_eq!(
            finalizers_of(&cluster, name),
            json!([finalizer]),
            "{name} is held"
        );
    }
    let broker = Broker::new(
        SecretString::from(microshop_testkit::amqp_url()),
        "operator-test",
    );
    let queue = Topology::with_prefix(names::topology_prefix(&namespace, SHOP, None)).queues()[0]
        .name
        .clone();

    // `kubectl delete -f k8s/samples/microshop.yaml`: the Secrets first, then the shop (a
    // namespace deletion does the same in any order).
    let secrets = Api::<Secret>::namespaced(cluster.fake.admin_client(), &namespace);
    for name in ["pg-admin", "rabbitmq"] {
        secrets
            .delete(name, &DeleteParams::default())
            .await
            .expect("deletes");
        let held = cluster.get("secrets", name).expect("held by the finalizer");
        assert!(held["metadata"]["deletionTimestamp"].is_string());
    }
    // A pass before the shop's own deletion says why the Secrets stay.
    cluster.reconcile().await.expect("pass");
    assert!(
        cluster
            .events()
            .contains(&"Warning AdminSecretHeld".to_owned()),
        "{:?}",
        cluster.events()
    );
    cluster
        .shops()
        .delete(SHOP, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster.reconcile().await.expect("cleanup pass");

    assert!(
        cluster.get("microshops", SHOP).is_none(),
        "not stuck Terminating"
    );
    for service in Service::WITH_DATABASE {
        assert!(!database_exists(&names::database(&namespace, SHOP, service)).await);
    }
    assert!(!queue_exists(&broker, &queue).await, "{queue} deleted");
    for name in ["pg-admin", "rabbitmq"] {
        assert!(
            cluster.get("secrets", name).is_none(),
            "{name} released and gone"
        );
    }
    assert!(cluster.events().contains(&"Normal CleanedUp".to_owned()));
}

#[tokio::test]
async fn a_delete_shop_whose_admin_secrets_are_gone_goes_and_says_what_it_left_behind() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    let namespace = cluster.namespace.clone();
    cluster.create().await;
    // Someone strips the finalizers and the Secrets go for good.
    let secrets = Api::<Secret>::namespaced(cluster.fake.admin_client(), &namespace);
    for name in ["pg-admin", "rabbitmq"] {
        secrets
            .patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await
            .expect("patches");
        secrets
            .delete(name, &DeleteParams::default())
            .await
            .expect("deletes");
    }
    cluster
        .shops()
        .delete(SHOP, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster
        .reconcile()
        .await
        .expect("the cleanup finishes with what it can reach");

    assert!(
        cluster.get("microshops", SHOP).is_none(),
        "not stuck Terminating"
    );
    let left = cluster
        .fake
        .list("events", &namespace)
        .into_iter()
        .find(|e| e["reason"] == "LeftBehind")
        .expect("a LeftBehind event");
    let note = left["note"].as_str().expect("a note");
    for service in Service::WITH_DATABASE {
        let database = names::database(&namespace, SHOP, service);
        assert!(note.contains(&database), "{note}");
        assert!(
            database_exists(&database).await,
            "kept: nothing could drop it"
        );
        assert!(
            cluster
                .get("secrets", &names::database_secret(SHOP, service))
                .is_none()
        );
    }
    assert!(
        note.contains(&format!("{namespace}/pg-admin"))
            && note.contains(&format!("{namespace}.{SHOP}.")),
        "{note}"
    );
    cluster.drop_everything().await;
}

#[tokio::test]
async fn retain_releases_the_admin_secrets() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    assert!(finalizers_of(&cluster, "pg-admin").is_array());
    cluster.edit(json!({"deletionPolicy": "Retain"})).await;
    cluster.reconcile().await.expect("pass");
    for name in ["pg-admin", "rabbitmq"] {
        assert!(
            finalizers_of(&cluster, name)
                .as_array()
                .is_none_or(Vec::is_empty),
            "{name}: {}",
            finalizers_of(&cluster, name)
        );
    }
    cluster.drop_everything().await;
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
    for service in Service::WITH_DATABASE {
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
    for service in Service::WITH_DATABASE {
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
    Api::<Secret>::namespaced(cluster.fake.admin_client(), &namespace)
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

    let health = Arc::new(Health::new(
        cluster.ctx.metrics.clone(),
        std::time::Duration::from_secs(60),
    ));
    let router = microshop_operator::server::router(cluster.ctx.metrics.clone(), health);
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
