//! A Microshop in a fake cluster driven pass by pass, as the controller would: its reconciles,
//! its objects, and the changes users and other controllers make to them.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support code"
)]

use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use microshop_operator::crd::{DeletionPolicy, Microshop, MicroshopSpec, Service};
use microshop_operator::metrics::Metrics;
use microshop_operator::reconcile::reconcile;
use microshop_operator::resources::CREDENTIALS_CHECKSUM;
use microshop_operator::{Context, Settings, names};
use serde_json::{Value, json};

use super::fake_api::FakeApiServer;
use super::shop::{self, SHOP, namespace, spec};

/// A fake cluster holding the two Secrets and a Microshop in `namespace`.
pub struct Cluster {
    /// The fake API server.
    pub fake: FakeApiServer,
    /// The operator's context (its client is the operator's, RBAC-enforced).
    pub ctx: Arc<Context>,
    /// The Microshop's namespace.
    pub namespace: String,
}

impl Cluster {
    /// Seeds `namespace` with the admin Secrets (PostgreSQL at `pg_uri`) and a Microshop.
    pub fn new(namespace: &str, spec: &MicroshopSpec, pg_uri: &str) -> Self {
        let fake = FakeApiServer::new();
        shop::seed(&fake, namespace, spec, pg_uri);
        let ctx = Arc::new(Context::new(
            fake.client(),
            Metrics::new(),
            Settings::default(),
        ));
        Self {
            fake,
            ctx,
            namespace: namespace.to_owned(),
        }
    }

    /// A cluster in a namespace of its own, with the real PostgreSQL behind the admin Secret.
    pub fn start(spec: &MicroshopSpec) -> Self {
        Self::new(&namespace(), spec, &super::pg_admin_uri())
    }

    /// A `Retain` shop whose admin Secret points at a PostgreSQL that is down.
    pub fn without_postgres() -> Self {
        let port = super::closed_port();
        let uri = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        Self::new(&namespace(), &spec(DeletionPolicy::Retain), &uri)
    }

    /// The Microshops, as their users and the tests reach them (not as the operator).
    pub fn shops(&self) -> Api<Microshop> {
        Api::namespaced(self.fake.admin_client(), &self.namespace)
    }

    /// The Microshop as stored now.
    pub async fn shop(&self) -> Arc<Microshop> {
        Arc::new(self.shops().get(SHOP).await.expect("the Microshop exists"))
    }

    /// One pass, as the controller would run it.
    pub async fn reconcile(&self) -> Result<Action, microshop_operator::Error> {
        reconcile(self.shop().await, self.ctx.clone()).await
    }

    /// The finalizer pass, then a full pass.
    pub async fn create(&self) -> Action {
        self.reconcile().await.expect("finalizer pass");
        self.reconcile().await.expect("first full pass")
    }

    /// An object of the namespace as stored now.
    pub fn get(&self, plural: &str, name: &str) -> Option<Value> {
        self.fake.get(plural, &self.namespace, name)
    }

    /// The Microshop's condition of `type_`.
    pub fn condition(&self, type_: &str) -> Value {
        shop::condition(&self.fake, &self.namespace, type_)
            .unwrap_or_else(|| panic!("no {type_} condition"))
    }

    /// Marks every Deployment's pods ready, as the kubelet would.
    pub fn pods_become_ready(&self) {
        shop::pods_become_ready(&self.fake, &self.namespace);
    }

    /// Changes a Deployment as another controller or a person would: a merge patch under
    /// `manager`.
    pub async fn patch_deployment_as(&self, manager: &str, name: &str, patch: Value) {
        let params = kube::api::PatchParams {
            field_manager: Some(manager.into()),
            ..kube::api::PatchParams::default()
        };
        Api::<k8s_openapi::api::apps::v1::Deployment>::namespaced(
            self.fake.admin_client(),
            &self.namespace,
        )
        .patch(name, &params, &kube::api::Patch::Merge(patch))
        .await
        .expect("the Deployment accepts the change");
    }

    /// Changes the Microshop's spec as `kubectl apply` would (merge, generation bump).
    pub async fn edit(&self, patch: Value) {
        self.shops()
            .patch(
                SHOP,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&json!({"spec": patch})),
            )
            .await
            .expect("the Microshop accepts the change");
    }

    /// The Events published so far, as `"<type> <reason>"`.
    pub fn events(&self) -> Vec<String> {
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

    /// The credentials checksum on `service`'s pod template.
    pub fn checksum(&self, service: Service) -> String {
        self.get("deployments", &names::workload(SHOP, service))
            .expect("the Deployment exists")["spec"]["template"]["metadata"]["annotations"]
            [CREDENTIALS_CHECKSUM]
            .as_str()
            .expect("a checksum")
            .to_owned()
    }

    /// The environment of `service`'s container.
    pub fn env(&self, service: Service) -> Vec<Value> {
        self.get("deployments", &names::workload(SHOP, service))
            .expect("the Deployment exists")["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Drops what the test provisioned, whatever the operator did.
    pub async fn drop_everything(&self) {
        shop::drop_everything(&self.namespace).await;
    }
}

impl Drop for Cluster {
    /// A test that fails before its own clean-up still leaves no databases or queues behind
    /// (the operator's topologies are durable: nothing else would ever delete them). Drop runs
    /// inside the test's runtime, so a helper thread with its own runtime does the work.
    fn drop(&mut self) {
        let namespace = self.namespace.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for clean-up")
                .block_on(shop::drop_everything(&namespace));
        })
        .join()
        .ok();
    }
}

/// The UTF-8 value of `key` in a stored Secret (as the API server returns it: base64 `data`).
pub fn secret_value(secret: &Value, key: &str) -> String {
    let encoded = secret["data"][key].as_str().expect("key present");
    let bytes: k8s_openapi::ByteString =
        serde_json::from_value(Value::String(encoded.to_owned())).expect("base64");
    String::from_utf8(bytes.0).expect("utf-8")
}

/// Where the env var `name` comes from: `Some((secret, key))` for a Secret key reference.
pub fn secret_ref(env: &[Value], name: &str) -> Option<(String, String)> {
    let var = env.iter().find(|var| var["name"] == name)?;
    let selector = &var["valueFrom"]["secretKeyRef"];
    Some((
        selector["name"].as_str()?.to_owned(),
        selector["key"].as_str()?.to_owned(),
    ))
}

/// The plain value of the env var `name`, if it has one.
pub fn plain_value(env: &[Value], name: &str) -> Option<String> {
    let var = env.iter().find(|var| var["name"] == name)?;
    var["value"].as_str().map(str::to_owned)
}
