//! The real `microshop-operator` binary against the fake API server served over TLS, reached the
//! two ways a deployed operator reaches its API server: a kubeconfig that trusts only the fake's
//! CA, and a pod's service account (token and CA files, `KUBERNETES_SERVICE_HOST`). Either way it
//! must start (one rustls crypto provider), watch, and reconcile a Microshop to Ready, with the
//! real PostgreSQL and RabbitMQ behind its Secrets.

mod support;

use std::time::Duration;

use microshop_operator::crd::DeletionPolicy;
use microshop_testkit::{ServiceProcess, eventually_within};
use support::fake_api::FakeApiServer;
use support::shop::{self, namespace, spec};

const BINARY: &str = env!("CARGO_BIN_EXE_microshop-operator");

/// A fake cluster holding a Microshop in a namespace of its own.
fn cluster() -> (FakeApiServer, String) {
    let namespace = namespace();
    let fake = FakeApiServer::new();
    shop::seed(
        &fake,
        &namespace,
        &spec(DeletionPolicy::Retain),
        &support::pg_admin_uri(),
    );
    (fake, namespace)
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
