//! Tests of the in-memory Kubernetes API fake (`support::fake_api`) through real `kube::Api`
//! calls.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};
use support::fake_api::FakeApiServer;

fn secret(name: &str, labels: &Value) -> Secret {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": name, "labels": labels },
        "stringData": { "password": "hunter2" },
    }))
    .expect("a valid Secret")
}

fn deployment(name: &str, replicas: Option<i32>) -> Deployment {
    let mut spec = json!({
        "selector": { "matchLabels": { "app": name } },
        "template": {
            "metadata": { "labels": { "app": name } },
            "spec": { "containers": [{ "name": "app", "image": "shop:1" }] },
        },
    });
    if let Some(replicas) = replicas {
        spec["replicas"] = json!(replicas);
    }
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "labels": { "app": name } },
        "spec": spec,
    }))
    .expect("a valid Deployment")
}

fn microshops(server: &FakeApiServer) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "microshop.dev".into(),
        version: "v1alpha1".into(),
        api_version: "microshop.dev/v1alpha1".into(),
        kind: "Microshop".into(),
        plural: "microshops".into(),
    };
    Api::namespaced_with(server.admin_client(), "default", &resource)
}

fn insert_microshop(server: &FakeApiServer) {
    server.insert(json!({
        "apiVersion": "microshop.dev/v1alpha1",
        "kind": "Microshop",
        "metadata": { "name": "shop", "namespace": "default" },
        "spec": { "version": "1.0.0" },
    }));
}

/// The status of an expected API error.
fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

#[tokio::test]
async fn create_fills_server_fields_and_get_and_list_honour_label_selectors() {
    let server = FakeApiServer::new();
    let secrets: Api<Secret> = Api::default_namespaced(server.admin_client());
    let pp = PostParams::default();

    let created = secrets
        .create(&pp, &secret("db", &json!({ "app": "shop", "tier": "db" })))
        .await
        .expect("create db");
    secrets
        .create(&pp, &secret("mq", &json!({ "app": "shop", "tier": "mq" })))
        .await
        .expect("create mq");
    let mut generated = secret("", &json!({ "app": "other" }));
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let generated = secrets.create(&pp, &generated).await.expect("create gen");

    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));
    let generated_name = generated.metadata.name.expect("a generated name");
    assert!(generated_name.starts_with("gen-") && generated_name.len() == 9);

    let fetched = secrets.get("db").await.expect("get db");
    assert_eq!(fetched.metadata.uid, created.metadata.uid);
    let stored = server.get("secrets", "default", "db").expect("stored");
    assert_eq!(text(&stored, "/stringData/password"), Some("hunter2"));

    let names = |list: kube::core::ObjectList<Secret>| -> Vec<String> {
        list.items
            .into_iter()
            .filter_map(|s| s.metadata.name)
            .collect()
    };
    let selected = secrets
        .list(&ListParams::default().labels("app=shop,tier=mq"))
        .await
        .expect("list by labels");
    assert_eq!(names(selected), ["mq"]);
    let shop = secrets
        .list(&ListParams::default().labels("app=shop"))
        .await
        .expect("list by app");
    assert_eq!(names(shop), ["db", "mq"]);
    assert_eq!(server.list("secrets", "default").len(), 3);

    // Cluster-wide collections span namespaces.
    let elsewhere: Api<Secret> = Api::namespaced(server.admin_client(), "other");
    elsewhere
        .create(&pp, &secret("db", &json!({})))
        .await
        .expect("create in other namespace");
    let all: Api<Secret> = Api::all(server.admin_client());
    let everything = all.list(&ListParams::default()).await.expect("list all");
    assert_eq!(everything.items.len(), 4);
    assert_eq!(
        elsewhere
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn missing_and_duplicate_objects_are_api_errors() {
    let server = FakeApiServer::new();
    let secrets: Api<Secret> = Api::default_namespaced(server.admin_client());

    let missing = api_error(secrets.get("nope").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert!(secrets.get_opt("nope").await.expect("get_opt").is_none());
    let missing = api_error(secrets.delete("nope", &DeleteParams::default()).await);
    assert_eq!(missing.code, 404);
    let patch = Patch::Merge(json!({ "metadata": { "labels": { "a": "b" } } }));
    let missing = api_error(secrets.patch("nope", &PatchParams::default(), &patch).await);
    assert_eq!(missing.code, 404);

    let pp = PostParams::default();
    secrets
        .create(&pp, &secret("db", &json!({})))
        .await
        .expect("create");
    let duplicate = api_error(secrets.create(&pp, &secret("db", &json!({}))).await);
    assert_eq!(
        (duplicate.code, duplicate.reason.as_str()),
        (409, "AlreadyExists")
    );
}

#[tokio::test]
async fn replace_keeps_identity_and_rejects_stale_resource_versions() {
    let server = FakeApiServer::new();
    let secrets: Api<Secret> = Api::default_namespaced(server.admin_client());
    let created = secrets
        .create(&PostParams::default(), &secret("db", &json!({})))
        .await
        .expect("create");

    let mut changed = created.clone();
    changed.string_data = Some([("password".to_owned(), "s3cret".to_owned())].into());
    let replaced = secrets
        .replace("db", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert_eq!(replaced.metadata.uid, created.metadata.uid);
    assert_eq!(
        replaced.metadata.creation_timestamp,
        created.metadata.creation_timestamp
    );
    assert_ne!(
        replaced.metadata.resource_version,
        created.metadata.resource_version
    );
    let stored = server.get("secrets", "default", "db").expect("stored");
    assert_eq!(text(&stored, "/stringData/password"), Some("s3cret"));

    // `changed` still carries the old resourceVersion.
    let stale = api_error(
        secrets
            .replace("db", &PostParams::default(), &changed)
            .await,
    );
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
}

/// Applies `body` (JSON) to the Deployment `name` as `manager`.
async fn apply_as(
    deployments: &Api<Deployment>,
    manager: &str,
    force: bool,
    body: &Value,
) -> Result<Deployment, kube::Error> {
    let mut params = PatchParams::apply(manager);
    params.force = force;
    let name = body["metadata"]["name"].as_str().expect("a name");
    deployments.patch(name, &params, &Patch::Apply(body)).await
}

/// Applies `body` as `manager` with `force`, which must succeed.
async fn applied(deployments: &Api<Deployment>, manager: &str, body: &Value) -> Deployment {
    apply_as(deployments, manager, true, body)
        .await
        .expect("the apply succeeds")
}

fn deployment_json(name: &str, replicas: Option<i32>) -> Value {
    serde_json::to_value(deployment(name, replicas)).expect("serialises")
}

#[tokio::test]
async fn server_side_apply_creates_and_records_who_owns_what() {
    let server = FakeApiServer::new();
    let deployments: Api<Deployment> = Api::default_namespaced(server.admin_client());
    let params = PatchParams::apply("microshop-operator").force();

    let created = deployments
        .patch(
            "shop-user",
            &params,
            &Patch::Apply(deployment("shop-user", Some(2))),
        )
        .await
        .expect("apply creates");
    assert_eq!(created.spec.and_then(|s| s.replicas), Some(2));
    assert_eq!(created.metadata.generation, Some(1));
    let request = server.requests().pop().expect("a request");
    assert_eq!(request.method, "PATCH");
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert!(request.query.contains("fieldManager=microshop-operator"));
    assert!(request.query.contains("force=true"));
    assert_eq!(request.name.as_deref(), Some("shop-user"));
    let managed = created.metadata.managed_fields.expect("managed fields");
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0].manager.as_deref(), Some("microshop-operator"));
    assert_eq!(managed[0].operation.as_deref(), Some("Apply"));
    let fields = &managed[0].fields_v1.as_ref().expect("FieldsV1").0;
    assert!(fields.pointer("/f:spec/f:replicas").is_some(), "{fields:#}");
    assert!(
        fields
            .pointer("/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"app\"}/f:image")
            .is_some(),
        "containers are keyed by name: {fields:#}"
    );
    assert!(
        fields.pointer("/f:metadata/f:name").is_none(),
        "the name is the server's"
    );
}

#[tokio::test]
async fn an_apply_removes_what_its_manager_stopped_setting_and_keeps_what_others_set() {
    let server = FakeApiServer::new();
    let deployments: Api<Deployment> = Api::default_namespaced(server.admin_client());
    let mut first = deployment_json("shop", Some(3));
    first["metadata"]["labels"]["tier"] = json!("backend");
    applied(&deployments, "operator", &first).await;
    // Someone else adds an annotation (kubectl edit: an update, another manager).
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    deployments
        .patch(
            "shop",
            &edit,
            &Patch::Merge(json!({"metadata": {"annotations": {"note": "theirs"}}})),
        )
        .await
        .expect("edits");

    // The next apply drops the label and the replica count.
    let version = server.version();
    applied(&deployments, "operator", &deployment_json("shop", None)).await;
    let stored = server
        .get("deployments", "default", "shop")
        .expect("stored");
    assert_eq!(
        stored.pointer("/metadata/labels/tier"),
        None,
        "removed: {stored:#}"
    );
    assert_eq!(text(&stored, "/metadata/labels/app"), Some("shop"));
    assert_eq!(
        text(&stored, "/metadata/annotations/note"),
        Some("theirs"),
        "not the operator's"
    );
    assert_eq!(
        stored.pointer("/spec/replicas"),
        Some(&json!(1)),
        "a replica count nobody owns is defaulted to 1"
    );
    assert_eq!(server.changes_since(version), ["MODIFIED deployments/shop"]);

    // The same apply again changes nothing: same resource version, no watch event.
    let version = server.version();
    applied(&deployments, "operator", &deployment_json("shop", None)).await;
    assert!(server.changes_since(version).is_empty());
}

#[tokio::test]
async fn a_field_another_manager_owns_conflicts_unless_the_apply_is_forced() {
    let server = FakeApiServer::new();
    let deployments: Api<Deployment> = Api::default_namespaced(server.admin_client());
    applied(&deployments, "operator", &deployment_json("shop", Some(2))).await;
    // An autoscaler writes the count (an update).
    let hpa = PatchParams {
        field_manager: Some("horizontal-pod-autoscaler".into()),
        ..PatchParams::default()
    };
    deployments
        .patch(
            "shop",
            &hpa,
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .expect("scales");

    let conflict = api_error(
        apply_as(
            &deployments,
            "operator",
            false,
            &deployment_json("shop", Some(2)),
        )
        .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(
        conflict.message.contains("f:spec.f:replicas")
            && conflict.message.contains("horizontal-pod-autoscaler"),
        "{}",
        conflict.message
    );
    // The same value as the owner's is no conflict: the field is then shared.
    apply_as(
        &deployments,
        "other",
        false,
        &deployment_json("shop", Some(5)),
    )
    .await
    .expect("an apply agreeing with the owner");

    let forced = apply_as(
        &deployments,
        "operator",
        true,
        &deployment_json("shop", Some(2)),
    )
    .await
    .expect("a forced apply takes the field");
    assert_eq!(forced.spec.and_then(|s| s.replicas), Some(2));
}

#[tokio::test]
async fn a_second_manager_keeps_a_field_the_first_stops_applying() {
    let server = FakeApiServer::new();
    let deployments: Api<Deployment> = Api::default_namespaced(server.admin_client());
    applied(&deployments, "operator", &deployment_json("shop", Some(4))).await;
    // The handover: a second manager applies the live count, then the first drops it.
    let handover = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "shop"}, "spec": {"replicas": 4},
    });
    applied(&deployments, "handover", &handover).await;
    applied(&deployments, "operator", &deployment_json("shop", None)).await;
    let history: Vec<Value> = server
        .history("deployments", "default", "shop")
        .iter()
        .map(|d| d["spec"]["replicas"].clone())
        .collect();
    assert!(
        history.iter().all(|r| *r == json!(4)),
        "never reset: {history:?}"
    );
}

#[tokio::test]
async fn keyed_lists_merge_item_by_item_and_sets_by_value() {
    let server = FakeApiServer::new();
    let deployments: Api<Deployment> = Api::default_namespaced(server.admin_client());
    let with_env = |env: Value| {
        let mut body = deployment_json("shop", Some(1));
        body["spec"]["template"]["spec"]["containers"][0]["env"] = env;
        body
    };
    applied(
        &deployments,
        "a",
        &with_env(json!([{"name": "A", "value": "1"}])),
    )
    .await;
    applied(
        &deployments,
        "b",
        &with_env(json!([{"name": "B", "value": "2"}])),
    )
    .await;
    let env = |server: &FakeApiServer| {
        server
            .get("deployments", "default", "shop")
            .expect("stored")["spec"]["template"]["spec"]["containers"][0]["env"]
            .clone()
    };
    assert_eq!(
        env(&server),
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    );
    applied(&deployments, "a", &with_env(json!([]))).await;
    assert_eq!(
        env(&server),
        json!([{"name": "B", "value": "2"}]),
        "A's item went, B's stayed"
    );
}

#[tokio::test]
async fn quantities_are_stored_canonically_so_another_spelling_changes_nothing() {
    let server = FakeApiServer::new();
    let deployments: Api<Deployment> = Api::default_namespaced(server.admin_client());
    let mut body = deployment_json("shop", Some(1));
    body["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": {"memory": "0.5Gi"}});
    applied(&deployments, "operator", &body).await;
    let stored = server
        .get("deployments", "default", "shop")
        .expect("stored");
    let resources = &stored["spec"]["template"]["spec"]["containers"][0]["resources"];
    assert_eq!(
        *resources,
        json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "512Mi"}})
    );
    let version = server.version();
    applied(&deployments, "operator", &body).await;
    assert!(
        server.changes_since(version).is_empty(),
        "{:?}",
        server.changes_since(version)
    );
}

#[test]
fn canonical_quantities_follow_kubernetes() {
    use support::ssa::canonical_quantity;
    for (given, canonical) in [
        ("0.5", "500m"),
        ("1000m", "1"),
        ("1500m", "1500m"),
        ("2000", "2k"),
        ("100", "100"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("0.5Gi", "512Mi"),
        ("0.1Gi", "107374182400m"),
        ("128974848", "128974848"),
        ("0", "0"),
    ] {
        assert_eq!(
            canonical_quantity(given).as_deref(),
            Some(canonical),
            "{given}"
        );
    }
}

#[tokio::test]
async fn merge_patch_null_deletes_a_key() {
    let server = FakeApiServer::new();
    let secrets: Api<Secret> = Api::default_namespaced(server.admin_client());
    secrets
        .create(
            &PostParams::default(),
            &secret("db", &json!({ "keep": "1", "drop": "2" })),
        )
        .await
        .expect("create");

    let patch = Patch::Merge(json!({ "metadata": { "labels": { "drop": null, "new": "3" } } }));
    let patched = secrets
        .patch("db", &PatchParams::default(), &patch)
        .await
        .expect("merge patch");
    let labels = patched.metadata.labels.expect("labels");
    assert_eq!(
        labels.keys().map(String::as_str).collect::<Vec<_>>(),
        ["keep", "new"]
    );
    // Strategic merge patches are merge patches here.
    let patch = Patch::Strategic(json!({ "metadata": { "labels": { "keep": null } } }));
    secrets
        .patch("db", &PatchParams::default(), &patch)
        .await
        .expect("strategic patch");
    let stored = server.get("secrets", "default", "db").expect("stored");
    assert_eq!(
        stored.pointer("/metadata/labels"),
        Some(&json!({ "new": "3" }))
    );
}

/// Sends an RFC 6902 patch by hand (works whether or not kube's `jsonpatch` feature is on).
async fn json_patch(
    client: &kube::Client,
    path: &str,
    operations: &Value,
) -> Result<Value, kube::Error> {
    let request = http::Request::patch(path)
        .header(http::header::CONTENT_TYPE, "application/json-patch+json")
        .body(serde_json::to_vec(operations).expect("serializable patch"))
        .expect("a valid request");
    client.request::<Value>(request).await
}

#[tokio::test]
async fn json_patch_applies_and_a_failed_test_is_invalid() {
    let server = FakeApiServer::new();
    let client = server.admin_client();
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    secrets
        .create(&PostParams::default(), &secret("db", &json!({ "a": "1" })))
        .await
        .expect("create");
    let path = "/api/v1/namespaces/default/secrets/db";

    let failed = api_error(
        json_patch(
            &client,
            path,
            &json!([
                { "op": "test", "path": "/metadata/labels/a", "value": "2" },
                { "op": "replace", "path": "/metadata/labels/a", "value": "3" },
            ]),
        )
        .await,
    );
    assert_eq!((failed.code, failed.reason.as_str()), (422, "Invalid"));
    let stored = server.get("secrets", "default", "db").expect("stored");
    assert_eq!(text(&stored, "/metadata/labels/a"), Some("1"));

    let patched = json_patch(
        &client,
        path,
        &json!([
            { "op": "test", "path": "/metadata/labels/a", "value": "1" },
            { "op": "replace", "path": "/metadata/labels/a", "value": "3" },
        ]),
    )
    .await
    .expect("json patch");
    assert_eq!(text(&patched, "/metadata/labels/a"), Some("3"));
}

#[tokio::test]
async fn status_subresource_semantics_for_microshops() {
    let server = FakeApiServer::new();
    insert_microshop(&server);
    let api = microshops(&server);

    // The status subresource changes only the status.
    let patch = Patch::Merge(json!({
        "spec": { "version": "9.9.9" },
        "status": { "phase": "Ready" },
    }));
    api.patch_status("shop", &PatchParams::default(), &patch)
        .await
        .expect("status patch");
    let stored = server.get("microshops", "default", "shop").expect("stored");
    assert_eq!(text(&stored, "/status/phase"), Some("Ready"));
    assert_eq!(text(&stored, "/spec/version"), Some("1.0.0"));
    assert_eq!(stored.pointer("/metadata/generation"), Some(&json!(1)));

    // The main resource ignores status changes.
    let patch = Patch::Merge(json!({
        "spec": { "version": "2.0.0" },
        "status": { "phase": "Broken" },
    }));
    let patched = api
        .patch("shop", &PatchParams::default(), &patch)
        .await
        .expect("main patch");
    assert_eq!(text(&patched.data, "/status/phase"), Some("Ready"));
    let stored = server.get("microshops", "default", "shop").expect("stored");
    assert_eq!(text(&stored, "/status/phase"), Some("Ready"));
    assert_eq!(text(&stored, "/spec/version"), Some("2.0.0"));
    assert_eq!(stored.pointer("/metadata/generation"), Some(&json!(2)));

    let fetched = api.get("shop").await.expect("get microshop");
    assert_eq!(fetched.metadata.generation, Some(2));
    let listed = api
        .list(&ListParams::default())
        .await
        .expect("list microshops");
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn generation_bumps_only_when_the_spec_changes() {
    let server = FakeApiServer::new();
    let deployments: Api<Deployment> = Api::default_namespaced(server.admin_client());
    deployments
        .create(&PostParams::default(), &deployment("shop-user", Some(1)))
        .await
        .expect("create");
    let version = |server: &FakeApiServer| -> u64 {
        let stored = server
            .get("deployments", "default", "shop-user")
            .expect("stored");
        text(&stored, "/metadata/resourceVersion")
            .expect("a resourceVersion")
            .parse()
            .expect("a numeric resourceVersion")
    };
    let before = version(&server);
    let pp = PatchParams::default();

    let labelled = deployments
        .patch(
            "shop-user",
            &pp,
            &Patch::Merge(json!({ "metadata": { "labels": { "x": "y" } } })),
        )
        .await
        .expect("label patch");
    assert_eq!(labelled.metadata.generation, Some(1));
    assert!(version(&server) > before);

    let scaled = deployments
        .patch(
            "shop-user",
            &pp,
            &Patch::Merge(json!({ "spec": { "replicas": 3 } })),
        )
        .await
        .expect("spec patch");
    assert_eq!(scaled.metadata.generation, Some(2));

    // `merge` plays the Deployment controller: no generation bump.
    server.merge(
        "deployments",
        "default",
        "shop-user",
        json!({ "status": { "readyReplicas": 3 } }),
    );
    let fetched = deployments.get("shop-user").await.expect("get");
    assert_eq!(fetched.metadata.generation, Some(2));
    assert_eq!(fetched.status.and_then(|s| s.ready_replicas), Some(3));
}

#[tokio::test]
async fn delete_waits_for_finalizers() {
    let server = FakeApiServer::new();
    let client = server.admin_client();
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    server.insert(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": "db", "finalizers": ["microshop.dev/cleanup"] },
    }));
    let stored = server.get("secrets", "default", "db").expect("inserted");
    assert_eq!(text(&stored, "/metadata/namespace"), Some("default"));
    assert!(text(&stored, "/metadata/uid").is_some());

    let deleted = secrets
        .delete("db", &DeleteParams::default())
        .await
        .expect("delete");
    let deleted = deleted.left().expect("the object, not a Status");
    assert!(deleted.metadata.deletion_timestamp.is_some());
    let stored = server.get("secrets", "default", "db").expect("still there");
    assert!(text(&stored, "/metadata/deletionTimestamp").is_some());

    json_patch(
        &client,
        "/api/v1/namespaces/default/secrets/db",
        &json!([{ "op": "remove", "path": "/metadata/finalizers" }]),
    )
    .await
    .expect("remove the finalizer");
    assert!(server.get("secrets", "default", "db").is_none());

    // Without finalizers, delete removes at once.
    secrets
        .create(&PostParams::default(), &secret("plain", &json!({})))
        .await
        .expect("create");
    secrets
        .delete("plain", &DeleteParams::default())
        .await
        .expect("delete plain");
    assert!(server.list("secrets", "default").is_empty());
}

#[tokio::test]
async fn writes_lists_exactly_the_writes_and_failures_can_be_injected() {
    let server = FakeApiServer::new();
    insert_microshop(&server);
    let client = server.admin_client();
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    secrets
        .create(&PostParams::default(), &secret("old", &json!({})))
        .await
        .expect("create old");
    server.clear_requests();
    assert!(server.requests().is_empty());

    secrets.get_opt("missing").await.expect("get_opt");
    secrets.list(&ListParams::default()).await.expect("list");
    secrets
        .create(&PostParams::default(), &secret("db", &json!({})))
        .await
        .expect("create");
    secrets
        .patch(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "labels": { "a": "b" } } })),
        )
        .await
        .expect("patch");
    microshops(&server)
        .patch_status(
            "shop",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "phase": "Ready" } })),
        )
        .await
        .expect("status");
    secrets
        .delete("old", &DeleteParams::default())
        .await
        .expect("delete");

    assert_eq!(
        server.writes(),
        [
            "POST secrets/",
            "PATCH secrets/db",
            "PATCH microshops/shop/status",
            "DELETE secrets/old",
        ]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].namespace.as_deref(), Some("default"));
    assert_eq!(requests[1].name, None);
    assert_eq!(requests[4].subresource.as_deref(), Some("status"));
    assert_eq!(
        requests[3]
            .body
            .as_ref()
            .and_then(|b| text(b, "/metadata/labels/a")),
        Some("b")
    );

    // Injected failures hit the next matching request only.
    server.fail_next("patch", "secrets", 500);
    let patch = Patch::Merge(json!({ "metadata": { "labels": { "c": "d" } } }));
    let injected = api_error(secrets.patch("db", &PatchParams::default(), &patch).await);
    assert_eq!(
        (injected.code, injected.reason.as_str()),
        (500, "InternalError")
    );
    let stored = server.get("secrets", "default", "db").expect("stored");
    assert_eq!(stored.pointer("/metadata/labels/c"), None);
    secrets
        .patch("db", &PatchParams::default(), &patch)
        .await
        .expect("the retry succeeds");
}

#[tokio::test]
async fn events_are_stored_and_watches_answer_empty() {
    let server = FakeApiServer::new();
    let client = server.admin_client();
    let event = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": { "name": "shop.1", "namespace": "default" },
        "eventTime": "2025-01-01T00:00:00.000000Z",
        "reason": "Reconciled",
        "action": "Reconcile",
        "type": "Normal",
        "reportingController": "microshop-operator",
        "reportingInstance": "test",
    });
    let request = http::Request::post("/apis/events.k8s.io/v1/namespaces/default/events")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&event).expect("serializable event"))
        .expect("a valid request");
    client
        .request::<Value>(request)
        .await
        .expect("post an event");
    assert_eq!(server.writes(), ["POST events/"]);
    let events = server.list("events", "default");
    assert_eq!(events.len(), 1);
    assert_eq!(text(&events[0], "/reason"), Some("Reconciled"));

    let request =
        http::Request::get("/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=1")
            .body(Vec::new())
            .expect("a valid request");
    let body = client.request_text(request).await.expect("a watch");
    assert!(body.is_empty());
}
