//! The Secrets the operator generates values into (token keys, the first admin's password, the
//! service keys, the sandbox's provider keys, the storefront's key), the Secrets the spec
//! references (Redis, SMTP), and
//! the credentials checksum that rolls exactly the pods that read a changed one; against the fake
//! API server with the real PostgreSQL and RabbitMQ.

mod support;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use microshop_auth::SigningKey;
use microshop_operator::crd::{
    DeletionPolicy, RedisSpec, SecretKeyRef, SecretRef, Service, SmtpSpec,
};
use microshop_operator::names;
use microshop_operator::phases::admin_account;
use microshop_operator::resources::Shop;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use support::cluster::{Cluster, plain_value, secret_ref, secret_value};
use support::shop::{self, SHOP, spec};

/// The credentials checksum of every program, in `Service::ALL` order: user, product, order,
/// payment, notification, payment sandbox, gateway.
fn checksums(cluster: &Cluster) -> Vec<String> {
    Service::ALL.iter().map(|s| cluster.checksum(*s)).collect()
}

/// A stored Secret's `key`.
fn stored(cluster: &Cluster, secret: &str, key: &str) -> String {
    secret_value(
        &cluster.get("secrets", secret).expect("the Secret exists"),
        key,
    )
}

/// Changes the `data` of Secret `name` as a person with kubectl would (a merge patch; `null`
/// removes a key).
async fn edit_secret(cluster: &Cluster, name: &str, data: Value) {
    Api::<Secret>::namespaced(cluster.fake.admin_client(), &cluster.namespace)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": data })),
        )
        .await
        .expect("the Secret accepts the change");
}

/// `text` as a Secret's `data` holds it (base64).
fn encoded(text: &str) -> Value {
    serde_json::to_value(ByteString(text.as_bytes().to_vec())).expect("serialises")
}

#[tokio::test]
async fn a_changed_credential_rolls_exactly_the_pods_that_read_it() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let before = checksums(&cluster);
    assert!(before.iter().all(|c| c.len() == 64), "{before:?}");

    // The broker's URI changes (same broker, another spelling of its address): every service
    // reads AMQP_URL, the user service too (it publishes user.events); the sandbox does not.
    let uri = microshop_testkit::amqp_url().replace("127.0.0.1", "localhost");
    cluster
        .fake
        .insert(shop::secret(&cluster.namespace, "rabbitmq", "uri", &uri));
    cluster.reconcile().await.expect("pass");
    assert!(stored(&cluster, &names::amqp_secret(SHOP), "AMQP_URL").contains("localhost"));
    let after_amqp = checksums(&cluster);
    for (service, (before, after)) in Service::ALL.iter().zip(before.iter().zip(&after_amqp)) {
        if service.uses_amqp() {
            assert_ne!(before, after, "{service} rolls");
        } else {
            assert_eq!(before, after, "{service} reads no AMQP_URL");
        }
    }

    // A key rotation publishes a second public key: the services that verify tokens roll, the
    // user service (which signs) does not, and the operator keeps the edited keys.
    let jwt = names::jwt_secret(SHOP);
    let keys = stored(&cluster, &jwt, "JWT_PUBLIC_KEYS");
    let rotated = format!("{keys}{}", SigningKey::generate().public().to_pem());
    edit_secret(
        &cluster,
        &jwt,
        json!({"JWT_PUBLIC_KEYS": encoded(&rotated)}),
    )
    .await;
    cluster.reconcile().await.expect("pass");
    assert_eq!(stored(&cluster, &jwt, "JWT_PUBLIC_KEYS"), rotated, "kept");
    let after_keys = checksums(&cluster);
    assert_eq!(
        after_keys[0], after_amqp[0],
        "user reads no JWT_PUBLIC_KEYS"
    );
    assert_ne!(after_keys[1], after_amqp[1], "product rolls");
    assert_ne!(after_keys[2], after_amqp[2], "order rolls");
    assert_ne!(after_keys[3], after_amqp[3], "payment rolls");
    assert_ne!(after_keys[4], after_amqp[4], "notification rolls");
    assert_eq!(after_keys[5], after_amqp[5], "the sandbox takes no tokens");
    assert_ne!(after_keys[6], after_amqp[6], "the gateway rolls");

    cluster.drop_everything().await;
}

#[tokio::test]
async fn the_token_keys_are_generated_once_and_lost_public_keys_come_back() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let jwt = names::jwt_secret(SHOP);
    let signing = stored(&cluster, &jwt, "JWT_SIGNING_KEY");
    let public = stored(&cluster, &jwt, "JWT_PUBLIC_KEYS");
    cluster.reconcile().await.expect("pass");
    assert_eq!(stored(&cluster, &jwt, "JWT_SIGNING_KEY"), signing);

    // Someone removes the public keys the product and order pods read: they come back from the
    // signing key, which stays.
    edit_secret(&cluster, &jwt, json!({"JWT_PUBLIC_KEYS": null})).await;
    cluster.reconcile().await.expect("pass");
    assert_eq!(stored(&cluster, &jwt, "JWT_SIGNING_KEY"), signing);
    assert_eq!(stored(&cluster, &jwt, "JWT_PUBLIC_KEYS"), public);

    cluster.drop_everything().await;
}

#[tokio::test]
async fn the_first_admins_password_is_generated_once_and_replaced_only_when_missing_or_empty() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let admin = names::admin_account_secret(SHOP);
    let password = stored(&cluster, &admin, "ADMIN_PASSWORD");
    assert!(password.len() >= 24, "{} characters", password.len());
    let user = cluster.checksum(Service::User);

    // Later passes keep it; once the operator's apply owns the Secret's fields (the pass after
    // the one that created it), they do not even rewrite it.
    cluster.reconcile().await.expect("pass");
    let since = cluster.fake.version();
    cluster.reconcile().await.expect("pass");
    assert_eq!(stored(&cluster, &admin, "ADMIN_PASSWORD"), password);
    let rewrites: Vec<String> = cluster
        .fake
        .changes_since(since)
        .into_iter()
        .filter(|c| c.ends_with(&format!("secrets/{admin}")))
        .collect();
    assert_eq!(rewrites, Vec::<String>::new());

    // Someone empties it: a new one, and the user pods roll to read it.
    edit_secret(&cluster, &admin, json!({"ADMIN_PASSWORD": ""})).await;
    cluster.reconcile().await.expect("pass");
    let replaced = stored(&cluster, &admin, "ADMIN_PASSWORD");
    assert!(replaced.len() >= 24 && replaced != password, "replaced");
    assert_ne!(cluster.checksum(Service::User), user, "user rolls");

    // Someone deletes the Secret: it comes back with a new password.
    Api::<Secret>::namespaced(cluster.fake.admin_client(), &cluster.namespace)
        .delete(&admin, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster.reconcile().await.expect("pass");
    let recreated = stored(&cluster, &admin, "ADMIN_PASSWORD");
    assert!(recreated.len() >= 24 && recreated != replaced, "recreated");
    assert_eq!(stored(&cluster, &admin, "ADMIN_EMAIL"), "admin@example.com");

    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_new_admin_email_keeps_the_password_and_rolls_only_the_user_pods() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let admin = names::admin_account_secret(SHOP);
    let password = stored(&cluster, &admin, "ADMIN_PASSWORD");
    let before = checksums(&cluster);

    cluster
        .edit(json!({"admin": {"email": "owner@shop.example"}}))
        .await;
    cluster.reconcile().await.expect("pass");

    assert_eq!(
        stored(&cluster, &admin, "ADMIN_EMAIL"),
        "owner@shop.example"
    );
    assert_eq!(stored(&cluster, &admin, "ADMIN_PASSWORD"), password);
    let after = checksums(&cluster);
    assert_ne!(after[0], before[0], "user rolls to read the new address");
    assert_eq!(after[1..], before[1..], "the others read no admin");

    cluster.drop_everything().await;
}

#[tokio::test]
async fn of_two_operator_pods_creating_the_admin_secret_the_first_wins() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Retain));
    let admin = names::admin_account_secret(SHOP);
    // The other pod creates the Secret between this pod's read (it saw none) and its create.
    cluster.fake.insert(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": admin, "namespace": cluster.namespace},
        "data": {"ADMIN_EMAIL": encoded("admin@example.com"), "ADMIN_PASSWORD": encoded("the-other-pods-password")},
    }));
    cluster.fake.fail_next("GET", "secrets", 404);
    cluster.fake.clear_requests();

    let resource = cluster.shop().await;
    let shop = Shop::new(&resource, "microshop:latest").expect("a stored Microshop");
    let account = admin_account::ensure(&shop, &cluster.ctx.client)
        .await
        .expect("the conflict is no error");

    assert!(
        cluster.fake.writes().contains(&"POST secrets/".to_owned()),
        "it tried to create the Secret: {:?}",
        cluster.fake.writes()
    );
    assert_eq!(account.password.expose_secret(), "the-other-pods-password");
    assert_eq!(
        stored(&cluster, &admin, "ADMIN_PASSWORD"),
        "the-other-pods-password"
    );
}

#[tokio::test]
async fn a_spec_naming_a_secret_the_operator_writes_is_refused_without_touching_it() {
    let mut spec = spec(DeletionPolicy::Retain);
    let admin = names::admin_account_secret(SHOP);
    spec.rabbitmq.secret_ref.name.clone_from(&admin);
    let cluster = Cluster::start(&spec);
    let uri = microshop_testkit::amqp_url();
    cluster
        .fake
        .insert(shop::secret(&cluster.namespace, &admin, "uri", &uri));

    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("refused");
    assert_eq!(error.reason(), "Blocked");
    let workloads = cluster.condition("WorkloadsReady");
    assert_eq!(workloads["status"], "False");
    assert!(
        workloads["message"]
            .as_str()
            .is_some_and(|m| m.contains(&admin)),
        "{workloads}"
    );
    let secret = cluster.get("secrets", &admin).expect("still there");
    assert!(
        secret["metadata"].get("ownerReferences").is_none(),
        "{secret:#}"
    );
    assert!(secret["data"].get("ADMIN_PASSWORD").is_none(), "{secret:#}");

    cluster.drop_everything().await;
}

/// The order service's key as stored.
fn order_service_key(cluster: &Cluster) -> String {
    stored(cluster, &names::service_keys_secret(SHOP), "order-service")
}

/// 64 lowercase hex characters, as `openssl rand -hex 32` prints them.
fn is_hex_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

#[tokio::test]
async fn the_service_key_is_generated_once_kept_and_replaced_only_when_unusable() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let secret = names::service_keys_secret(SHOP);
    let key = order_service_key(&cluster);
    assert!(is_hex_key(&key), "{key}");
    let payment_key = payment_service_key(&cluster);
    let before = checksums(&cluster);

    // Later passes keep it, and soon do not even rewrite it.
    cluster.reconcile().await.expect("pass");
    let since = cluster.fake.version();
    cluster.reconcile().await.expect("pass");
    assert_eq!(order_service_key(&cluster), key);
    let rewrites: Vec<String> = cluster
        .fake
        .changes_since(since)
        .into_iter()
        .filter(|c| c.ends_with(&format!("secrets/{secret}")))
        .collect();
    assert_eq!(rewrites, Vec::<String>::new());
    assert_eq!(checksums(&cluster), before);

    // Someone empties it: a new key, and both ends of the call roll to read it.
    edit_secret(&cluster, &secret, json!({"order-service": ""})).await;
    cluster.reconcile().await.expect("pass");
    let replaced = order_service_key(&cluster);
    assert!(
        is_hex_key(&replaced) && replaced != key,
        "replaced: {replaced}"
    );
    let after = checksums(&cluster);
    assert_eq!(after[0], before[0], "user reads no service key");
    assert_ne!(after[1], before[1], "product rolls");
    assert_ne!(after[2], before[2], "order rolls");
    assert_eq!(
        after[3..],
        before[3..],
        "payment, notification and sandbox read no order key"
    );
    assert_eq!(
        payment_service_key(&cluster),
        payment_key,
        "the other caller's key stays"
    );

    // Too short for the services: replaced too.
    edit_secret(
        &cluster,
        &secret,
        json!({"order-service": encoded("short")}),
    )
    .await;
    cluster.reconcile().await.expect("pass");
    let lengthened = order_service_key(&cluster);
    assert!(is_hex_key(&lengthened) && lengthened != replaced);

    // Someone deletes the Secret: it comes back with a new key.
    Api::<Secret>::namespaced(cluster.fake.admin_client(), &cluster.namespace)
        .delete(&secret, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster.reconcile().await.expect("pass");
    let recreated = order_service_key(&cluster);
    assert!(is_hex_key(&recreated) && recreated != lengthened);

    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_service_key_rotated_by_hand_is_kept_and_rolls_order_and_product_only() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let before = checksums(&cluster);

    let rotated = "0123456789abcdef".repeat(4);
    edit_secret(
        &cluster,
        &names::service_keys_secret(SHOP),
        json!({"order-service": encoded(&rotated)}),
    )
    .await;
    cluster.reconcile().await.expect("pass");

    assert_eq!(order_service_key(&cluster), rotated, "kept");
    let after = checksums(&cluster);
    assert_eq!(after[0], before[0], "user reads no service key");
    assert_ne!(after[1], before[1], "product rolls to accept the new key");
    assert_ne!(after[2], before[2], "order rolls to send the new key");
    assert_eq!(
        after[3..],
        before[3..],
        "payment, notification and sandbox read no order key"
    );

    cluster.drop_everything().await;
}

/// The payment service's key as stored.
fn payment_service_key(cluster: &Cluster) -> String {
    stored(
        cluster,
        &names::service_keys_secret(SHOP),
        "payment-service",
    )
}

#[tokio::test]
async fn the_payment_services_key_rolls_order_and_payment_only_and_an_older_secret_gains_it() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let before = checksums(&cluster);
    let secret = names::service_keys_secret(SHOP);

    // Rotated by hand: kept, and both ends of the payment service's calls roll.
    let rotated = "fedcba9876543210".repeat(4);
    edit_secret(
        &cluster,
        &secret,
        json!({"payment-service": encoded(&rotated)}),
    )
    .await;
    cluster.reconcile().await.expect("pass");
    assert_eq!(payment_service_key(&cluster), rotated, "kept");
    let after = checksums(&cluster);
    assert_eq!(
        after[..2],
        before[..2],
        "user and product read no payment key"
    );
    assert_ne!(after[2], before[2], "order rolls to accept the new key");
    assert_ne!(after[3], before[3], "payment rolls to send the new key");
    assert_eq!(
        after[4..],
        before[4..],
        "notification and sandbox read no service key"
    );

    // The Secret of an operator from before the payment service: its order key stays (no pod
    // of the product or order service is refused a call), a payment key is added.
    let order_key = order_service_key(&cluster);
    edit_secret(&cluster, &secret, json!({"payment-service": null})).await;
    cluster.reconcile().await.expect("pass");
    assert_eq!(order_service_key(&cluster), order_key, "kept");
    let added = payment_service_key(&cluster);
    assert!(is_hex_key(&added) && added != rotated, "added: {added}");
    assert_eq!(checksums(&cluster)[1], after[1], "product does not roll");

    cluster.drop_everything().await;
}

/// The sandbox's provider key `key` as stored.
fn provider_key(cluster: &Cluster, key: &str) -> String {
    stored(cluster, &names::payment_provider_secret(SHOP), key)
}

#[tokio::test]
async fn the_sandboxs_provider_keys_are_generated_once_and_each_replaced_alone_when_unusable() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let secret = names::payment_provider_secret(SHOP);
    let api_key = provider_key(&cluster, "api-key");
    let webhook_secret = provider_key(&cluster, "webhook-secret");
    assert!(is_hex_key(&api_key) && is_hex_key(&webhook_secret));
    assert_ne!(api_key, webhook_secret);
    let before = checksums(&cluster);

    // Later passes keep them, and soon do not even rewrite them.
    cluster.reconcile().await.expect("pass");
    let since = cluster.fake.version();
    cluster.reconcile().await.expect("pass");
    assert_eq!(provider_key(&cluster, "api-key"), api_key);
    let rewrites: Vec<String> = cluster
        .fake
        .changes_since(since)
        .into_iter()
        .filter(|c| c.ends_with(&format!("secrets/{secret}")))
        .collect();
    assert_eq!(rewrites, Vec::<String>::new());
    assert_eq!(checksums(&cluster), before);

    // Someone empties the webhook secret: a new one, the API key stays, and exactly the payment
    // service and the sandbox (both ends of the webhooks) roll.
    edit_secret(&cluster, &secret, json!({"webhook-secret": ""})).await;
    cluster.reconcile().await.expect("pass");
    let replaced = provider_key(&cluster, "webhook-secret");
    assert!(is_hex_key(&replaced) && replaced != webhook_secret);
    assert_eq!(provider_key(&cluster, "api-key"), api_key, "kept");
    let after = checksums(&cluster);
    assert_eq!(
        after[..3],
        before[..3],
        "user, product and order read no provider key"
    );
    assert_ne!(after[3], before[3], "payment rolls");
    assert_eq!(after[4], before[4], "notification reads no provider key");
    assert_ne!(after[5], before[5], "the sandbox rolls");

    // Someone deletes the Secret: it comes back with new keys.
    Api::<Secret>::namespaced(cluster.fake.admin_client(), &cluster.namespace)
        .delete(&secret, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster.reconcile().await.expect("pass");
    assert!(is_hex_key(&provider_key(&cluster, "api-key")));
    assert_ne!(provider_key(&cluster, "api-key"), api_key);

    cluster.drop_everything().await;
}

/// The storefront's key as stored.
fn storefront_key(cluster: &Cluster) -> String {
    stored(
        cluster,
        &names::storefront_secret(SHOP),
        "STOREFRONT_SECRET",
    )
}

#[tokio::test]
async fn the_storefront_key_is_generated_once_kept_and_rolls_only_the_gateway_when_it_changes() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let secret = names::storefront_secret(SHOP);
    let key = storefront_key(&cluster);
    assert!(is_hex_key(&key), "32 random bytes as hex: {key}");
    assert_eq!(
        cluster.get("secrets", &secret).expect("the Secret")["metadata"]["ownerReferences"][0]["kind"],
        "Microshop",
        "it goes with the shop"
    );
    assert_eq!(
        secret_ref(&cluster.env(Service::Gateway), "STOREFRONT_SECRET"),
        Some((secret.clone(), "STOREFRONT_SECRET".to_owned())),
        "every gateway pod reads the one Secret"
    );
    for service in Service::ALL {
        if service != Service::Gateway {
            assert!(
                !has_env(&cluster, service, "STOREFRONT_SECRET"),
                "{service}"
            );
        }
    }
    let before = checksums(&cluster);

    // Later passes keep it, and soon do not even rewrite it.
    cluster.reconcile().await.expect("pass");
    let since = cluster.fake.version();
    cluster.reconcile().await.expect("pass");
    assert_eq!(storefront_key(&cluster), key);
    let rewrites: Vec<String> = cluster
        .fake
        .changes_since(since)
        .into_iter()
        .filter(|c| c.ends_with(&format!("secrets/{secret}")))
        .collect();
    assert_eq!(rewrites, Vec::<String>::new());
    assert_eq!(checksums(&cluster), before);

    // A key rotated by hand (`openssl rand -hex 32`) is kept, and only the gateway pods roll.
    let rotated = "0123456789abcdef".repeat(4);
    edit_secret(
        &cluster,
        &secret,
        json!({"STOREFRONT_SECRET": encoded(&rotated)}),
    )
    .await;
    cluster.reconcile().await.expect("pass");
    assert_eq!(storefront_key(&cluster), rotated, "kept");
    let after = checksums(&cluster);
    assert_eq!(
        after[..6],
        before[..6],
        "no service reads the storefront key"
    );
    assert_ne!(after[6], before[6], "the gateway rolls");

    // One the gateway would refuse (too short) is replaced.
    edit_secret(
        &cluster,
        &secret,
        json!({"STOREFRONT_SECRET": encoded("short")}),
    )
    .await;
    cluster.reconcile().await.expect("pass");
    let replaced = storefront_key(&cluster);
    assert!(is_hex_key(&replaced) && replaced != rotated, "{replaced}");

    // Someone deletes the Secret: it comes back with a new key.
    Api::<Secret>::namespaced(cluster.fake.admin_client(), &cluster.namespace)
        .delete(&secret, &DeleteParams::default())
        .await
        .expect("deletes");
    cluster.reconcile().await.expect("pass");
    let recreated = storefront_key(&cluster);
    assert!(is_hex_key(&recreated) && recreated != replaced);

    cluster.drop_everything().await;
}

/// Whether `service`'s container has the env var `name`.
fn has_env(cluster: &Cluster, service: Service, name: &str) -> bool {
    cluster.env(service).iter().any(|var| var["name"] == name)
}

#[tokio::test]
async fn redis_reaches_the_user_product_order_and_gateway_pods_only_when_spec_redis_is_set() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    for service in Service::ALL {
        for name in ["REDIS_URL", "REDIS_KEY_PREFIX"] {
            assert!(!has_env(&cluster, service, name), "{service}: {name}");
        }
    }
    let before = checksums(&cluster);

    // The user adds a Redis.
    cluster.fake.insert(shop::secret(
        &cluster.namespace,
        "redis",
        "REDIS_URL",
        "redis://redis.shared.svc:6379/0",
    ));
    cluster
        .edit(json!({"redis": {"secretRef": {"name": "redis", "key": "REDIS_URL"}}}))
        .await;
    cluster.reconcile().await.expect("pass");
    let prefix = format!("{}.{SHOP}.", cluster.namespace);
    for service in [
        Service::User,
        Service::Product,
        Service::Order,
        Service::Gateway,
    ] {
        let env = cluster.env(service);
        assert_eq!(
            secret_ref(&env, "REDIS_URL"),
            Some(("redis".to_owned(), "REDIS_URL".to_owned())),
            "{service}"
        );
        assert_eq!(
            plain_value(&env, "REDIS_KEY_PREFIX").as_deref(),
            Some(prefix.as_str()),
            "the topology prefix: shops sharing a Redis never share keys"
        );
        if service.uses_amqp() {
            assert_eq!(
                plain_value(&env, "AMQP_TOPOLOGY_PREFIX"),
                plain_value(&env, "REDIS_KEY_PREFIX")
            );
        }
    }
    let with_redis = checksums(&cluster);
    assert_ne!(with_redis[0], before[0], "user rolls");
    assert_ne!(with_redis[1], before[1], "product rolls");
    assert_ne!(with_redis[2], before[2], "order rolls (its carts)");
    assert_eq!(
        with_redis[3..6],
        before[3..6],
        "payment, notification and sandbox use no Redis"
    );
    assert_ne!(
        with_redis[6], before[6],
        "the gateway rolls (its rate limits)"
    );

    // A new URL rolls the pods of all four.
    cluster.fake.insert(shop::secret(
        &cluster.namespace,
        "redis",
        "REDIS_URL",
        "redis://redis.other.svc:6379/0",
    ));
    cluster.reconcile().await.expect("pass");
    let moved = checksums(&cluster);
    for (i, service) in Service::ALL.iter().enumerate() {
        if service.uses_redis() {
            assert_ne!(moved[i], with_redis[i], "{service} rolls to the new URL");
        } else {
            assert_eq!(moved[i], with_redis[i], "{service} reads no Redis");
        }
    }

    // Redis goes from the spec: so do the variables, and the checksum is what it was.
    cluster.edit(json!({"redis": null})).await;
    cluster.reconcile().await.expect("pass");
    for service in Service::ALL {
        for name in ["REDIS_URL", "REDIS_KEY_PREFIX"] {
            assert!(
                !has_env(&cluster, service, name),
                "{service}: {name} removed"
            );
        }
    }
    assert_eq!(checksums(&cluster), before);

    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_missing_redis_secret_says_which_one_to_create() {
    let mut spec = spec(DeletionPolicy::Retain);
    spec.redis = Some(RedisSpec {
        secret_ref: SecretKeyRef {
            name: "redis".into(),
            key: "REDIS_URL".into(),
        },
    });
    let cluster = Cluster::start(&spec);
    let namespace = cluster.namespace.clone();
    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("no Redis Secret");
    assert_eq!(error.reason(), "SecretMissing");
    let workloads = cluster.condition("WorkloadsReady");
    assert_eq!(workloads["status"], "False");
    assert_eq!(workloads["reason"], "SecretMissing");
    let message = workloads["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("{namespace}/redis"))
            && message.contains("\"REDIS_URL\"")
            && message.contains("redis://"),
        "{message}"
    );
    assert!(
        cluster
            .events()
            .contains(&"Warning SecretMissing".to_owned()),
        "{:?}",
        cluster.events()
    );
    assert_eq!(cluster.condition("DatabasesReady")["status"], "True");
    assert_eq!(cluster.condition("MessagingReady")["status"], "True");

    // The user creates it: the next pass deploys.
    cluster.fake.insert(shop::secret(
        &namespace,
        "redis",
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
    ));
    cluster.reconcile().await.expect("pass");
    assert_eq!(
        secret_ref(&cluster.env(Service::User), "REDIS_URL"),
        Some(("redis".to_owned(), "REDIS_URL".to_owned()))
    );

    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_redis_ref_naming_a_secret_the_operator_writes_is_refused_without_touching_it() {
    let keys = names::service_keys_secret(SHOP);
    let mut spec = spec(DeletionPolicy::Retain);
    spec.redis = Some(RedisSpec {
        secret_ref: SecretKeyRef {
            name: keys.clone(),
            key: "REDIS_URL".into(),
        },
    });
    let cluster = Cluster::start(&spec);
    cluster.fake.insert(shop::secret(
        &cluster.namespace,
        &keys,
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
    ));

    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("refused");
    assert_eq!(error.reason(), "Blocked");
    let workloads = cluster.condition("WorkloadsReady");
    assert!(
        workloads["message"]
            .as_str()
            .is_some_and(|m| m.contains(&keys) && m.contains("spec.redis.secretRef")),
        "{workloads}"
    );
    let secret = cluster.get("secrets", &keys).expect("still there");
    assert!(
        secret["metadata"].get("ownerReferences").is_none(),
        "{secret:#}"
    );
    assert!(secret["data"].get("order-service").is_none(), "{secret:#}");

    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_rabbitmq_ref_naming_the_amqp_secret_is_refused_without_touching_it() {
    let amqp = names::amqp_secret(SHOP);
    let mut spec = spec(DeletionPolicy::Retain);
    spec.rabbitmq.secret_ref.name.clone_from(&amqp);
    let cluster = Cluster::start(&spec);
    let uri = microshop_testkit::amqp_url();
    cluster
        .fake
        .insert(shop::secret(&cluster.namespace, &amqp, "uri", &uri));

    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("refused");
    assert_eq!(error.reason(), "Blocked");
    let messaging = cluster.condition("MessagingReady");
    assert_eq!(messaging["status"], "False");
    assert!(
        messaging["message"]
            .as_str()
            .is_some_and(|m| m.contains(&amqp)),
        "{messaging}"
    );
    let secret = cluster.get("secrets", &amqp).expect("still there");
    assert!(
        secret["metadata"].get("ownerReferences").is_none(),
        "{secret:#}"
    );
    assert!(secret["data"].get("AMQP_URL").is_none(), "{secret:#}");

    cluster.drop_everything().await;
}

/// A spec naming the SMTP Secret `name`.
fn smtp(name: &str) -> SmtpSpec {
    SmtpSpec {
        secret_ref: SecretRef { name: name.into() },
    }
}

/// Whether the env var `name` is a Secret key reference marked optional.
fn optional(env: &[Value], name: &str) -> Option<bool> {
    let var = env.iter().find(|var| var["name"] == name)?;
    var["valueFrom"]["secretKeyRef"]["optional"].as_bool()
}

#[tokio::test]
async fn the_smtp_secret_reaches_only_the_notification_pods_and_its_changes_roll_only_them() {
    let cluster = Cluster::start(&spec(DeletionPolicy::Delete));
    cluster.create().await;
    let notification = 4;
    assert_eq!(Service::ALL[notification], Service::Notification);
    let env = cluster.env(Service::Notification);
    assert_eq!(plain_value(&env, "MAIL_TRANSPORT").as_deref(), Some("log"));
    assert!(!has_env(&cluster, Service::Notification, "SMTP_URL"));
    let before = checksums(&cluster);

    // The user adds a mail server (a Secret of theirs, without a sender yet).
    cluster.fake.insert(shop::secret(
        &cluster.namespace,
        "smtp",
        "SMTP_URL",
        "smtp://mailpit.default.svc:1025",
    ));
    cluster
        .edit(json!({"smtp": {"secretRef": {"name": "smtp"}}}))
        .await;
    cluster.reconcile().await.expect("pass");
    let env = cluster.env(Service::Notification);
    let from = |key: &str| Some(("smtp".to_owned(), key.to_owned()));
    assert_eq!(plain_value(&env, "MAIL_TRANSPORT").as_deref(), Some("smtp"));
    assert_eq!(secret_ref(&env, "SMTP_URL"), from("SMTP_URL"));
    assert_eq!(optional(&env, "SMTP_URL"), Some(false));
    assert_eq!(secret_ref(&env, "MAIL_FROM"), from("MAIL_FROM"));
    assert_eq!(
        optional(&env, "MAIL_FROM"),
        Some(true),
        "the pods start without a sender in the Secret"
    );
    for service in Service::ALL {
        if service != Service::Notification {
            assert!(!has_env(&cluster, service, "SMTP_URL"), "{service}");
        }
    }
    let with_smtp = checksums(&cluster);
    assert_ne!(with_smtp[notification], before[notification], "rolls");
    let others = |all: &[String]| {
        let mut all = all.to_vec();
        all.remove(notification);
        all
    };
    assert_eq!(others(&with_smtp), others(&before), "nobody else reads it");

    // A sender, then a new URL (a password change): each rolls the notification pods alone.
    let mut previous = with_smtp;
    for data in [
        json!({"MAIL_FROM": encoded("Shop <shop@example.com>")}),
        json!({"SMTP_URL": encoded("smtps://shop:new-password@mail.example.com:465")}),
    ] {
        edit_secret(&cluster, "smtp", data.clone()).await;
        cluster.reconcile().await.expect("pass");
        let now = checksums(&cluster);
        assert_ne!(now[notification], previous[notification], "{data}");
        assert_eq!(others(&now), others(&previous), "{data}");
        previous = now;
    }
    let secret = cluster.get("secrets", "smtp").expect("still there");
    assert!(
        secret["metadata"].get("ownerReferences").is_none()
            && secret["metadata"].get("labels").is_none(),
        "the operator never writes the user's Secret: {secret:#}"
    );

    // The mail server leaves the spec: back to logging, and the checksum is what it was.
    cluster.edit(json!({"smtp": null})).await;
    cluster.reconcile().await.expect("pass");
    let env = cluster.env(Service::Notification);
    assert_eq!(plain_value(&env, "MAIL_TRANSPORT").as_deref(), Some("log"));
    assert!(!has_env(&cluster, Service::Notification, "SMTP_URL"));
    assert_eq!(checksums(&cluster), before);

    cluster.drop_everything().await;
}

#[tokio::test]
async fn a_missing_smtp_secret_or_url_says_what_to_create() {
    let mut spec = spec(DeletionPolicy::Retain);
    spec.smtp = Some(smtp("smtp"));
    let cluster = Cluster::start(&spec);
    let namespace = cluster.namespace.clone();
    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("no SMTP Secret");
    assert_eq!(error.reason(), "SecretMissing");
    let workloads = cluster.condition("WorkloadsReady");
    assert_eq!(workloads["status"], "False");
    assert_eq!(workloads["reason"], "SecretMissing");
    let message = workloads["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("{namespace}/smtp"))
            && message.contains("\"SMTP_URL\"")
            && message.contains("smtp://"),
        "{message}"
    );
    assert_eq!(cluster.condition("DatabasesReady")["status"], "True");
    assert_eq!(cluster.condition("MessagingReady")["status"], "True");

    // A Secret with only a sender (or an empty URL) is no better.
    cluster.fake.insert(shop::secret(
        &namespace,
        "smtp",
        "MAIL_FROM",
        "shop@example.com",
    ));
    let error = cluster.reconcile().await.expect_err("no SMTP_URL");
    assert_eq!(error.reason(), "SecretMissing");

    // The user adds the URL: the next pass deploys.
    edit_secret(
        &cluster,
        "smtp",
        json!({"SMTP_URL": encoded("smtp://127.0.0.1:1025")}),
    )
    .await;
    cluster.reconcile().await.expect("pass");
    assert_eq!(
        secret_ref(&cluster.env(Service::Notification), "SMTP_URL"),
        Some(("smtp".to_owned(), "SMTP_URL".to_owned()))
    );

    cluster.drop_everything().await;
}

#[tokio::test]
async fn an_smtp_ref_naming_a_secret_the_operator_writes_is_refused_without_touching_it() {
    let keys = names::service_keys_secret(SHOP);
    let mut spec = spec(DeletionPolicy::Retain);
    spec.smtp = Some(smtp(&keys));
    let cluster = Cluster::start(&spec);
    cluster.fake.insert(shop::secret(
        &cluster.namespace,
        &keys,
        "SMTP_URL",
        "smtp://127.0.0.1:1025",
    ));

    cluster.reconcile().await.expect("finalizer pass");
    let error = cluster.reconcile().await.expect_err("refused");
    assert_eq!(error.reason(), "Blocked");
    let workloads = cluster.condition("WorkloadsReady");
    assert!(
        workloads["message"]
            .as_str()
            .is_some_and(|m| m.contains(&keys) && m.contains("spec.smtp.secretRef")),
        "{workloads}"
    );
    let secret = cluster.get("secrets", &keys).expect("still there");
    assert!(secret["data"].get("order-service").is_none(), "{secret:#}");

    cluster.drop_everything().await;
}
