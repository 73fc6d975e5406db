//! The committed CRD YAML is what `crdgen` prints, and the schema enforces what DESIGN §8 says.

use kube::CustomResourceExt;
use microshop_operator::crd::Microshop;
use serde_json::Value;

const COPIES: [&str; 2] = [
    "../k8s/crd/microshop.yaml",
    "../charts/microshop-operator/crds/microshop.yaml",
];

#[test]
fn committed_crd_yaml_matches_crdgen() {
    let generated = microshop_operator::crd_yaml();
    for copy in COPIES {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(copy);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `make crd`", path.display()));
        assert!(
            committed == generated,
            "{} differs from what crdgen prints; run `make crd` and commit the result",
            path.display()
        );
    }
}

fn crd() -> Value {
    serde_json::to_value(Microshop::crd()).expect("serialises")
}

fn spec_schema() -> Value {
    crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
}

#[test]
fn names_scope_columns_and_status_subresource() {
    let crd = crd();
    assert_eq!(crd["metadata"]["name"], "microshops.microshop.dev");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["kind"], "Microshop");
    assert_eq!(
        crd["spec"]["names"]["shortNames"],
        serde_json::json!(["shop"])
    );
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, ["Ready", "Replicas", "URL", "Age"]);
}

#[test]
fn the_schema_bounds_every_field_users_set() {
    let spec = spec_schema();
    let service = &spec["properties"]["services"]["properties"]["order"]["properties"];
    let number = |v: &Value| v.as_f64();
    assert_eq!(number(&service["replicas"]["minimum"]), Some(0.0));
    let autoscaling = &service["autoscaling"]["properties"];
    assert_eq!(number(&autoscaling["minReplicas"]["minimum"]), Some(1.0));
    assert_eq!(number(&autoscaling["targetCPU"]["maximum"]), Some(100.0));
    assert_eq!(
        spec["properties"]["deletionPolicy"]["enum"],
        serde_json::json!(["Retain", "Delete"])
    );
    assert_eq!(
        spec["properties"]["image"]["properties"]["pullPolicy"]["enum"],
        serde_json::json!(["Always", "IfNotPresent", "Never"])
    );
    assert!(spec["properties"]["image"]["properties"]["tag"]["pattern"].is_string());
    assert_eq!(
        spec["required"],
        serde_json::json!(["postgres", "rabbitmq"])
    );
}

#[test]
fn immutable_fields_are_guarded_by_cel_rules() {
    let spec = spec_schema();
    let rule = |schema: &Value| {
        schema["x-kubernetes-validations"][0]["rule"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(
        rule(&spec["properties"]["postgres"]).as_deref(),
        Some("self == oldSelf")
    );
    assert!(rule(&spec["properties"]["rabbitmq"]).is_some_and(|r| r.contains("oldSelf.vhost")));
    let root = &crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert!(rule(root).is_some_and(|r| r.contains("self.metadata.name")));
}

#[test]
fn the_admin_email_defaults_and_follows_the_user_services_rule() {
    let admin = &spec_schema()["properties"]["admin"];
    assert_eq!(
        admin["default"],
        serde_json::json!({"email": "admin@example.com"})
    );
    let email = &admin["properties"]["email"];
    assert_eq!(email["default"], "admin@example.com");
    assert_eq!(email["maxLength"].as_f64(), Some(254.0));
    // The same pattern the user service checks its bootstrap address against, so that the API
    // server refuses what would keep the user service from starting.
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../services/shared/domain/src/email.rs"),
    )
    .expect("the user service's e-mail rule");
    let rule = source
        .split("EMAIL_PATTERN: &str =")
        .nth(1)
        .and_then(|rest| rest.split("r\"").nth(1))
        .and_then(|rest| rest.split("\";").next())
        .expect("EMAIL_PATTERN is a raw string literal");
    assert_eq!(email["pattern"], rule);
}

#[test]
fn redis_is_optional_and_names_a_secret_key_like_rabbitmq() {
    let spec = spec_schema();
    assert_eq!(
        spec["required"],
        serde_json::json!(["postgres", "rabbitmq"]),
        "a shop runs without Redis"
    );
    let redis = &spec["properties"]["redis"];
    assert_eq!(redis["required"], serde_json::json!(["secretRef"]));
    assert_eq!(
        redis["properties"]["secretRef"],
        spec["properties"]["rabbitmq"]["properties"]["secretRef"]
            .as_object()
            .map(|reference| {
                let mut reference = reference.clone();
                reference.insert(
                    "description".into(),
                    redis["properties"]["secretRef"]["description"].clone(),
                );
                Value::Object(reference)
            })
            .expect("rabbitmq.secretRef"),
        "the same name and key, with the same bounds"
    );
    assert!(
        redis.get("x-kubernetes-validations").is_none(),
        "Redis may change: it holds throttling counters, a cache and carts, nothing durable"
    );
}

#[test]
fn the_payment_sandbox_is_off_by_default_and_a_real_provider_needs_a_url_and_its_keys() {
    let spec = spec_schema();
    let sandbox = &spec["properties"]["paymentSandbox"];
    assert_eq!(sandbox["default"], serde_json::json!({"enabled": false}));
    assert!(sandbox["properties"]["publicUrl"]["pattern"].is_string());
    let provider = &spec["properties"]["paymentProvider"];
    assert!(provider["properties"]["url"]["pattern"].is_string());
    assert_eq!(
        provider["properties"]["secretRef"]["required"],
        serde_json::json!(["name"])
    );
    assert_eq!(
        spec["required"],
        serde_json::json!(["postgres", "rabbitmq"]),
        "a shop runs without payments"
    );
    let rules: Vec<&str> = spec["x-kubernetes-validations"]
        .as_array()
        .expect("the spec's CEL rules")
        .iter()
        .filter_map(|rule| rule["rule"].as_str())
        .collect();
    assert!(
        rules
            .iter()
            .any(|r| r.contains("paymentProvider.url") && r.contains("paymentSandbox.enabled")),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r.contains("paymentProvider.secretRef")),
        "{rules:?}"
    );
    let payment = &spec["properties"]["services"]["properties"]["payment"]["properties"];
    assert_eq!(payment["replicas"]["minimum"].as_f64(), Some(0.0));
    assert!(payment["autoscaling"].is_object());
}

#[test]
fn the_smtp_server_is_optional_and_named_by_a_secret_and_notification_is_a_service() {
    let spec = spec_schema();
    assert_eq!(
        spec["required"],
        serde_json::json!(["postgres", "rabbitmq"]),
        "a shop runs without a mail server (its notifications are logged)"
    );
    let smtp = &spec["properties"]["smtp"];
    assert_eq!(smtp["required"], serde_json::json!(["secretRef"]));
    assert_eq!(
        smtp["properties"]["secretRef"]["required"],
        serde_json::json!(["name"]),
        "the keys are fixed: SMTP_URL and MAIL_FROM"
    );
    assert!(
        smtp.get("x-kubernetes-validations").is_none(),
        "the mail server may change: its Secret rolls the notification pods"
    );
    let shop_url = &spec["properties"]["shopUrl"];
    assert!(shop_url["pattern"].is_string());
    assert_eq!(shop_url["maxLength"].as_f64(), Some(2048.0));
    let notification = &spec["properties"]["services"]["properties"]["notification"]["properties"];
    assert_eq!(notification["replicas"]["minimum"].as_f64(), Some(0.0));
    assert!(notification["autoscaling"].is_object());
}

#[test]
fn the_ingress_is_off_by_default_needs_a_host_when_on_and_gateway_is_a_service() {
    let spec = spec_schema();
    let ingress = &spec["properties"]["ingress"];
    assert_eq!(ingress["default"], serde_json::json!({"enabled": false}));
    let host = &ingress["properties"]["host"];
    assert!(
        host["pattern"]
            .as_str()
            .is_some_and(|p| p.starts_with("^[a-z0-9]")),
        "a DNS name, no scheme or port (tests/k8s tries bad ones)"
    );
    assert_eq!(host["maxLength"].as_f64(), Some(253.0));
    for field in ["className", "tlsSecretName"] {
        assert!(
            ingress["properties"][field]["pattern"].is_string(),
            "{field}"
        );
    }
    assert!(ingress["properties"]["annotations"].is_object());
    let rule = ingress["x-kubernetes-validations"][0]["rule"]
        .as_str()
        .expect("a CEL rule");
    assert!(
        rule.contains("self.enabled") && rule.contains("has(self.host)"),
        "{rule}"
    );
    let gateway = &spec["properties"]["services"]["properties"]["gateway"]["properties"];
    assert_eq!(gateway["replicas"]["minimum"].as_f64(), Some(0.0));
    assert!(gateway["autoscaling"].is_object());
    assert!(gateway["resources"].is_object());
}
