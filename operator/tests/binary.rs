//! The real `microshop-operator` binary against the fake API server served over TLS, reached the
//! two ways a deployed operator reaches its API server: a kubeconfig that trusts only the fake's
//! CA, and a pod's service account (token and CA files, `KUBERNETES_SERVICE_HOST`). Either way it
//! must start (one rustls crypto provider), watch, and reconcile a Microshop to Ready, with the
//! real PostgreSQL and RabbitMQ behind its Secrets.

mod support;

use std::time::Duration;

use microshop_testkit::{ServiceProcess, eventually_within};
use support::fake_api::FakeApiServer;
use support::shop;

const BINARY: &str = env!("CARGO_BIN_EXE_microshop-operator");

fn cluster() -> (FakeApiServer, String) {
    shop::seeded_cluster()
}

/// Plays the kubelet (pods become ready) until the operator reports the Microshop Ready.
async fn reaches_ready(fake: &FakeApiServer, namespace: &str, operator: &ServiceProcess) {
    eventually_within(
        "the operator reconciles the Microshop to Ready",
        Duration::from_secs(60),
        async || {
            shop::pods_become_ready(fake, namespace);
            let ready = shop::condition(fake, namespace, "Ready")?;
            (ready["status"] == "True").then_some(())
        },
    )
    .await;
    let logs = operator.logs().join("\n");
    assert!(!logs.contains("panicked"), "the operator panicked:\n{logs}");
    let calls = fake.requests();
    assert!(
        calls
            .iter()
            .any(|call| call.plural == "microshops" && call.query.contains("watch=true")),
        "the operator watches Microshops"
    );
}

#[tokio::test]
async fn through_a_kubeconfig_over_tls_the_binary_reconciles_a_shop_to_ready() {
    let (fake, namespace) = cluster();
    let endpoint = fake.serve_tls().await;
    let kubeconfig = endpoint.kubeconfig();
    let kubeconfig = kubeconfig.to_str().expect("a UTF-8 path");

    let operator = ServiceProcess::spawn(BINARY, &[("KUBECONFIG", kubeconfig)]).await;

    reaches_ready(&fake, &namespace, &operator).await;
    drop(operator);
    shop::drop_everything(&namespace).await;
}

#[tokio::test]
async fn in_a_pod_the_binary_uses_its_service_account_and_reconciles_a_shop_to_ready() {
    let (fake, namespace) = cluster();
    let endpoint = fake.serve_tls().await;
    let account = endpoint.service_account(&namespace);
    // A pod finds its service account at a fixed path: give the process a private mount of /run
    // (/var/run links there) holding the fake's token and CA, as the kubelet mounts them.
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && \
         cp -r {account} /run/secrets/kubernetes.io/serviceaccount && exec {BINARY}",
        account = account.display(),
    );
    let port = endpoint.port.to_string();

    let operator = ServiceProcess::spawn_command(
        "unshare",
        &["--mount", "--propagation", "private", "sh", "-c", &script],
        &[
            ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
            ("KUBERNETES_SERVICE_PORT", port.as_str()),
            ("KUBECONFIG", "/nonexistent"),
        ],
    )
    .await;

    reaches_ready(&fake, &namespace, &operator).await;
    let bearer = fake
        .requests()
        .iter()
        .any(|call| call.authorization.as_deref() == Some("Bearer fake-service-account-token"));
    assert!(bearer, "the service account's token is sent");
    drop(operator);
    shop::drop_everything(&namespace).await;
}

/// The holder of the operator's Lease in the fake.
fn lease_holder(fake: &FakeApiServer) -> Option<String> {
    fake.get("leases", "microshop-system", "microshop-operator")?["spec"]["holderIdentity"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn of_two_operator_processes_one_reconciles_and_the_other_takes_over_when_it_stops() {
    let (fake, namespace) = cluster();
    let endpoint = fake.serve_tls().await;
    let replica = |name: &'static str| {
        let kubeconfig = endpoint.kubeconfig_with_token(&format!("token-{name}"));
        async move {
            let kubeconfig = kubeconfig.to_str().expect("a UTF-8 path").to_owned();
            ServiceProcess::spawn(
                BINARY,
                &[
                    ("KUBECONFIG", kubeconfig.as_str()),
                    ("POD_NAME", name),
                    ("LEASE_NAMESPACE", "microshop-system"),
                    ("LEASE_DURATION_SECONDS", "3"),
                ],
            )
            .await
        }
    };
    let a = replica("a").await;
    eventually_within("a leads", Duration::from_secs(20), async || {
        (lease_holder(&fake).as_deref() == Some("a")).then_some(())
    })
    .await;
    let b = replica("b").await;
    reaches_ready(&fake, &namespace, &a).await;

    // The standby only ever read the Lease.
    let by = |token: &str| {
        let bearer = format!("Bearer {token}");
        fake.requests()
            .into_iter()
            .filter(move |r| r.authorization.as_deref() == Some(bearer.as_str()))
    };
    let standby: Vec<String> = by("token-b")
        .map(|r| format!("{} {}", r.method, r.plural))
        .collect();
    assert!(!standby.is_empty(), "b polls the Lease");
    assert!(
        standby.iter().all(|call| call == "GET leases"),
        "{standby:?}"
    );

    // The leader stops as Kubernetes stops a pod: it releases the Lease, b takes over at once.
    a.terminate();
    let mut a = a;
    assert!(a.wait().await.success(), "a stops cleanly");
    let since = std::time::Instant::now();
    eventually_within("b leads", Duration::from_secs(20), async || {
        (lease_holder(&fake).as_deref() == Some("b")).then_some(())
    })
    .await;
    assert!(
        since.elapsed() < Duration::from_secs(3),
        "a released the Lease: no wait for it to expire ({:?})",
        since.elapsed()
    );
    // b reconciles: a change to the shop reaches the cluster through it.
    let shops: kube::Api<microshop_operator::Microshop> =
        kube::Api::namespaced(fake.admin_client(), &namespace);
    shops
        .patch(
            shop::SHOP,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                serde_json::json!({"spec": {"services": {"user": {"replicas": 2}}}}),
            ),
        )
        .await
        .expect("edits");
    eventually_within(
        "b applies the change",
        Duration::from_secs(30),
        async || {
            let deployment = fake.get("deployments", &namespace, "shop-user")?;
            (deployment["spec"]["replicas"] == 2).then_some(())
        },
    )
    .await;
    assert!(by("token-b").any(|r| r.method == "PATCH" && r.plural == "deployments"));
    let logs = b.logs().join("\n");
    assert!(logs.contains("leading"), "{logs}");
    drop(b);
    shop::drop_everything(&namespace).await;
}
