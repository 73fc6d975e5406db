"""The Helm charts: lint, render, validate every manifest against the Kubernetes 1.33 schemas,
hold the security invariants, and refuse bad values through values.schema.json."""

import pathlib

import jsonschema
import kubernetes_validate
import pytest

from conftest import (CHARTS, KUBERNETES_VERSION, ROOT, chart_dir, helm, load_yaml, render,
                      values_files)



def cases(folder: str) -> list:
    return [pytest.param((chart, values), id=f"{chart}/{values.name}")
            for chart in CHARTS for values in values_files(chart, folder)]


GOOD = cases("ci")
BAD = cases("ci-bad")


def test_each_chart_has_three_values_files_and_bad_ones():
    for chart in CHARTS:
        names = {path.name for path in values_files(chart, "ci")}
        assert {"default-values.yaml", "ha-values.yaml", "minimal-values.yaml"} <= names, chart
        assert len(values_files(chart, "ci-bad")) >= 3, chart


@pytest.mark.parametrize("case", GOOD)
def test_lint_strict(case):
    chart, values = case
    result = helm("lint", "--strict", str(chart_dir(chart)), "-f", str(values))
    assert result.returncode == 0, result.stdout + result.stderr


def microshop_schema() -> dict:
    crd = load_yaml(ROOT / "k8s" / "crd" / "microshop.yaml")[0]
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def validate(doc: dict) -> None:
    """A built-in kind against the Kubernetes schema (strict: unknown fields fail); a Microshop
    against the generated CRD; a ServiceMonitor or PrometheusRule (Prometheus operator's CRDs) or an
    HTTPRoute (Gateway API, not built in) by its shape."""
    kind = doc["kind"]
    if kind == "Microshop":
        jsonschema.validate(doc, microshop_schema())
    elif kind == "ServiceMonitor":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert doc["spec"]["endpoints"] and doc["spec"]["selector"]
    elif kind == "PrometheusRule":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert doc["spec"]["groups"]
    elif kind == "HTTPRoute":
        assert doc["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert doc["spec"]["parentRefs"] and all(ref.get("name") for ref in doc["spec"]["parentRefs"])
        for rule in doc["spec"]["rules"]:
            assert rule["backendRefs"] and all(isinstance(ref["port"], int) for ref in rule["backendRefs"])
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("case", GOOD)
def test_rendered_manifests_are_valid_kubernetes(case):
    chart, values = case
    docs = render(chart, values, "--include-crds")
    assert docs, "nothing rendered"
    for doc in docs:
        try:
            validate(doc)
        except Exception as error:  # noqa: BLE001 - report which document failed
            pytest.fail(f"{doc['kind']}/{doc['metadata'].get('name')}: {error}")


def containers(doc: dict) -> list[tuple[dict, dict]]:
    pod = doc["spec"]["template"]["spec"]
    return [(pod, container) for container in pod["containers"]]


@pytest.mark.parametrize("case", GOOD)
def test_every_container_is_probed_bounded_and_locked_down(case):
    chart, values = case
    deployments = [doc for doc in render(chart, values) if doc["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        for pod, container in containers(deployment):
            where = f"{name}/{container['name']}"
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert probe in container, f"{where} has no {probe}"
            resources = container.get("resources", {})
            assert resources.get("requests"), f"{where} has no requests"
            assert resources.get("limits", {}).get("memory"), f"{where} has no memory limit"
            security = container.get("securityContext", {})
            non_root = security.get("runAsNonRoot", pod.get("securityContext", {}).get("runAsNonRoot"))
            assert non_root is True, f"{where} may run as root"
            assert security.get("readOnlyRootFilesystem") is True, f"{where} has a writable root"
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("capabilities", {}).get("drop") == ["ALL"], where
            assert pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault", where


@pytest.mark.parametrize("case", BAD)
def test_bad_values_are_refused_by_the_schema(case):
    chart, values = case
    result = helm("template", "t", str(chart_dir(chart)), "-f", str(values))
    assert result.returncode != 0, f"{values.name} was accepted"
    assert "schema" in result.stderr.lower(), result.stderr


def test_the_ha_values_turn_on_every_option():
    docs = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    kinds = {doc["kind"] for doc in docs}
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"} <= kinds
    autoscaled = {doc["spec"]["scaleTargetRef"]["name"] for doc in docs if doc["kind"] == "HorizontalPodAutoscaler"}
    for doc in docs:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] in autoscaled:
            assert "replicas" not in doc["spec"], f"{doc['metadata']['name']}: the HPA owns replicas"
    policies = [doc for doc in docs if doc["kind"] == "NetworkPolicy"]
    deny_all = [p for p in policies if p["spec"]["podSelector"] and not p["spec"].get("ingress") and not p["spec"].get("egress")
                and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}]
    assert deny_all, "a default deny-all policy"


def deployment_env(docs: list[dict]) -> dict[str, dict[str, dict]]:
    """Per workload (user, ..., payment-sandbox), its container's environment by name."""
    fullname = next(doc["metadata"]["name"] for doc in docs if doc["kind"] == "Deployment").rsplit("-", 1)[0]
    return {doc["metadata"]["name"].removeprefix(fullname + "-"):
            {e["name"]: e for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]}
            for doc in docs if doc["kind"] == "Deployment"}


def test_without_a_card_provider_no_payment_service_is_rendered():
    docs = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml")
    env = deployment_env(docs)
    assert set(env) == {"user", "product", "order", "notification", "gateway"}
    # The order service accepts no payment-service key it could not find in the Secret.
    assert "SERVICE_KEYS" not in env["order"] and "PAYMENT_SERVICE_KEY" not in env["order"]


def test_each_service_gets_only_the_secrets_it_needs():
    docs = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml",
                  "--set", "paymentSandbox.enabled=true")
    env = deployment_env(docs)
    assert set(env) == {"user", "product", "order", "payment", "notification", "gateway", "payment-sandbox"}
    fullname = "t-microshop"
    secret = lambda e: (e["valueFrom"]["secretKeyRef"]["name"].removeprefix(fullname + "-"),
                        e["valueFrom"]["secretKeyRef"]["key"])
    # Only the user service signs tokens and knows the first admin's password.
    assert secret(env["user"]["JWT_SIGNING_KEY"]) == ("jwt", "JWT_SIGNING_KEY")
    assert env["user"]["BOOTSTRAP_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["optional"] is True
    # Sign-ins come through the gateway: the user service throttles by the address it appends.
    assert env["user"]["CLIENT_ADDRESS_HEADER"]["value"] == "x-forwarded-for"
    for name in ("product", "order", "payment", "notification", "gateway"):
        assert "JWT_SIGNING_KEY" not in env[name] and "BOOTSTRAP_ADMIN_PASSWORD" not in env[name]
        assert secret(env[name]["JWT_PUBLIC_KEYS"]) == ("jwt", "JWT_PUBLIC_KEYS")
    # Each caller sends its own key; the service it calls accepts it (and no other): the product
    # service the order service's, the order service the payment service's.
    for caller, called in (("order", "product"), ("payment", "order")):
        variable = f"{caller.upper()}_SERVICE_KEY"
        assert secret(env[caller]["SERVICE_KEY"]) == ("service-keys", f"{caller}-service")
        assert secret(env[called][variable]) == ("service-keys", f"{caller}-service")
        assert env[called]["SERVICE_KEYS"]["value"] == f"{caller}-service=$({variable})"
        names = list(env[called])
        assert names.index(variable) < names.index("SERVICE_KEYS"), "defined before use"
    # The order service calls the user service (a buyer's address, with the buyer's token), and
    # only it does (besides the gateway, which forwards to every service); every service
    # publishes events, the sandbox and the gateway do not.
    assert env["order"]["USER_SERVICE_URL"]["value"] == "http://t-microshop-user:8001"
    assert env["order"]["PAYMENT_SERVICE_URL"]["value"] == "http://t-microshop-payment:8004"
    assert all("USER_SERVICE_URL" not in env[name] for name in env if name not in ("order", "gateway"))
    assert all(("AMQP_URL" in env[name]) == (name not in ("payment-sandbox", "gateway")) for name in env)
    assert all(("DATABASE_URL" in env[name]) == (name not in ("payment-sandbox", "gateway")) for name in env)
    # The payment service and the sandbox share the provider's keys; the sandbox reads nothing
    # else.
    payment, sandbox = env["payment"], env["payment-sandbox"]
    assert payment["ORDER_SERVICE_URL"]["value"] == "http://t-microshop-order:8003"
    assert payment["PROVIDER_URL"]["value"] == "http://t-microshop-payment-sandbox:8090"
    assert secret(payment["PROVIDER_API_KEY"]) == secret(sandbox["API_KEY"]) == ("payment-provider", "api-key")
    assert secret(payment["WEBHOOK_SECRETS"]) == secret(sandbox["WEBHOOK_SECRET"]) == ("payment-provider", "webhook-secret")
    assert sandbox["WEBHOOK_URL"]["value"] == "http://t-microshop-payment:8004/api/payments/callback"
    assert sandbox["PUBLIC_URL"]["value"] == "http://localhost:8090"
    # Buyers come back from paying to the storefront, where the mails link too.
    assert payment["SHOP_URL"]["value"] == env["notification"]["SHOP_URL"]["value"] == "http://localhost:8000"
    read = {name for name, e in sandbox.items() if "valueFrom" in e}
    assert read == {"API_KEY", "WEBHOOK_SECRET"}, read
    # The notification service calls no other service (no service key); without a mail server or
    # an SMS webhook it stores and logs what it would send.
    notification = env["notification"]
    read = {name: secret(e) for name, e in notification.items() if "valueFrom" in e}
    assert read == {"DATABASE_URL": ("notification-db", "DATABASE_URL"), "AMQP_URL": ("amqp", "AMQP_URL"),
                    "JWT_PUBLIC_KEYS": ("jwt", "JWT_PUBLIC_KEYS")}, read
    assert notification["HTTP_PORT"]["value"] == "8005"
    assert notification["MAIL_TRANSPORT"]["value"] == "log"
    assert notification["SMS_PROVIDER"]["value"] == "log"
    assert notification["SHOP_URL"]["value"] == "http://localhost:8000"
    assert "NOTIFICATION_MAX_ATTEMPTS" not in notification, "the service's default"


def test_redis_is_the_user_product_order_and_gateway_services_when_configured_and_the_policy_lets_them_reach_it():
    default = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml")
    ha = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    def env(docs, service):
        deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith(f"-{service}"))
        return {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "REDIS_URL" not in env(default, "user"), "no Redis unless one is named"
    user = env(ha, "user")
    assert user["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "redis-shop", "key": "REDIS_URL"}
    assert user["REDIS_KEY_PREFIX"]["value"] == "prod.shop:"
    for service in ("product", "order", "gateway"):
        redis = env(ha, service)
        assert redis["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "redis-shop", "key": "REDIS_URL"}, service
        assert redis["REDIS_KEY_PREFIX"]["value"] == "prod.shop:", service
    assert "REDIS_URL" not in env(default, "order"), "no Redis unless one is named"
    for name in ("shop-user", "shop-product", "shop-order", "shop-gateway"):
        policy = next(d for d in ha if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name)
        assert any(p["port"] == 6380 for rule in policy["spec"]["egress"] for p in rule.get("ports", [])), policy
    # The order service reaches the product, user and payment services, nothing else.
    order = next(d for d in ha if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "shop-order")
    called = [peer for rule in order["spec"]["egress"] for peer in rule.get("to", []) if "podSelector" in peer
              and peer["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component")]
    assert [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in called] == ["product", "user", "payment"], called
    user = next(d for d in ha if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "shop-user")
    callers = [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
               for rule in user["spec"]["ingress"] for peer in rule.get("from", []) if "podSelector" in peer
               and peer["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component")]
    assert "order" in callers, callers


def policy_peers(policy: dict, direction: str) -> list[str]:
    """The release's workloads a NetworkPolicy lets in (ingress) or out to (egress)."""
    side = "from" if direction == "ingress" else "to"
    return [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
            for rule in policy["spec"].get(direction, []) for peer in rule.get(side, [])
            if peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")]


def test_the_payment_sandbox_runs_one_replaced_pod_and_talks_only_to_the_payment_service():
    docs = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    named = lambda kind, name: [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    sandbox = named("Deployment", "shop-payment-sandbox")[0]
    assert sandbox["spec"]["replicas"] == 1
    assert sandbox["spec"]["strategy"] == {"type": "Recreate"}
    assert sandbox["spec"]["template"]["spec"]["containers"][0]["command"] == ["payment-sandbox"]
    assert sandbox["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "payment-sandbox"
    assert not named("HorizontalPodAutoscaler", "shop-payment-sandbox")
    assert not named("PodDisruptionBudget", "shop-payment-sandbox"), "one pod: a budget would block drains"
    assert named("PodDisruptionBudget", "shop-payment"), "the payment service is a service like the others"
    assert named("Service", "shop-payment-sandbox")[0]["spec"]["ports"][0]["port"] == 8090
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    assert {"payment", "payment-sandbox"} <= set(monitor["spec"]["selector"]["matchExpressions"][0]["values"])
    policy = lambda name: named("NetworkPolicy", name)[0]
    assert policy_peers(policy("shop-payment-sandbox"), "ingress") == ["payment"]
    assert policy_peers(policy("shop-payment-sandbox"), "egress") == ["payment"]
    assert policy_peers(policy("shop-payment"), "egress") == ["order", "payment-sandbox"]
    assert sorted(policy_peers(policy("shop-payment"), "ingress")) == ["gateway", "order", "payment-sandbox"]
    assert policy_peers(policy("shop-order"), "ingress") == ["payment", "gateway"]
    egress_ports = {p["port"] for rule in policy("shop-payment-sandbox")["spec"]["egress"] for p in rule.get("ports", [])}
    assert 5432 not in egress_ports and 5672 not in egress_ports, "no database, no broker"


def test_the_notification_service_mails_through_the_smtp_secret_and_reaches_only_its_servers():
    docs = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    notification = deployment_env(docs)["notification"]
    assert notification["MAIL_TRANSPORT"]["value"] == "smtp"
    assert notification["SMTP_URL"]["valueFrom"]["secretKeyRef"] == {"name": "shop-mail-server", "key": "SMTP_URL"}
    assert notification["MAIL_FROM"]["valueFrom"]["secretKeyRef"] == {
        "name": "shop-mail-server", "key": "MAIL_FROM", "optional": True}, "a sender is optional"
    assert notification["SMS_PROVIDER"]["value"] == "webhook"
    assert notification["SMS_WEBHOOK_URL"]["value"] == "https://sms-gateway.example/v1/messages"
    assert notification["SMS_WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "shop-sms-webhook", "key": "SMS_WEBHOOK_SECRET"}
    assert notification["SHOP_URL"]["value"] == "https://shop.example"
    assert notification["NOTIFICATION_MAX_ATTEMPTS"]["value"] == "6"
    assert all("SMTP_URL" not in env for name, env in deployment_env(docs).items() if name != "notification")
    named = lambda kind, name: [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert named("PodDisruptionBudget", "shop-notification"), "a service like the others"
    assert named("Service", "shop-notification")[0]["spec"]["ports"][0]["port"] == 8005
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    assert "notification" in monitor["spec"]["selector"]["matchExpressions"][0]["values"]
    # It calls no other workload and only the gateway calls it (its /api/notifications); it
    # reaches the mail server and the webhook.
    policy = named("NetworkPolicy", "shop-notification")[0]
    assert policy_peers(policy, "egress") == [] and policy_peers(policy, "ingress") == ["gateway"]
    to = {p["port"]: rule.get("to") for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert to[465] == [{"ipBlock": {"cidr": "198.51.100.25/32"}}], policy
    assert to[443] == [{"ipBlock": {"cidr": "198.51.100.80/32"}}], policy
    # Without them, no such egress.
    default = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml",
                     "--set", "networkPolicy.enabled=true")
    policy = next(d for d in default if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-notification"))
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert ports == {53, 5432, 5672}, ports


def named(docs: list[dict], kind: str, name: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]


def public_address(docs: list[dict]) -> tuple[str, str, str]:
    """SHOP_URL of the payment (when it runs) and notification services, and the gateway's
    STOREFRONT_SECURE_COOKIES."""
    env = deployment_env(docs)
    payment = env.get("payment", {}).get("SHOP_URL", {}).get("value")
    return payment, env["notification"]["SHOP_URL"]["value"], env["gateway"]["STOREFRONT_SECURE_COOKIES"]["value"]


def test_the_gateway_is_the_shops_front_door_two_pods_probed_with_no_database():
    docs = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml")
    deployment = named(docs, "Deployment", "t-microshop-gateway")[0]
    assert deployment["spec"]["replicas"] == 2, "two pods by default"
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["gateway"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "8000"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "gateway"
    service = named(docs, "Service", "t-microshop-gateway")[0]
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    env = deployment_env(docs)["gateway"]
    fullname = "t-microshop"
    for upstream, port in (("user", 8001), ("product", 8002), ("order", 8003), ("payment", 8004), ("notification", 8005)):
        assert env[f"{upstream.upper()}_SERVICE_URL"]["value"] == f"http://{fullname}-{upstream}:{port}"
    read = {name: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for name, e in env.items() if "valueFrom" in e}
    assert read == {"JWT_PUBLIC_KEYS": (f"{fullname}-jwt", "JWT_PUBLIC_KEYS"),
                    "STOREFRONT_SECRET": (f"{fullname}-storefront", "STOREFRONT_SECRET")}, read
    assert env["STOREFRONT_SECURE_COOKIES"]["value"] == "false", "no Ingress: a plain-HTTP port-forward"
    for absent in ("DATABASE_URL", "AMQP_URL", "REDIS_URL", "CORS_ALLOWED_ORIGINS", "RATE_LIMIT_PER_SECOND",
                   "RATE_LIMIT_BURST", "RATE_LIMIT_SENSITIVE_PER_MINUTE", "RATE_LIMIT_SENSITIVE_BURST",
                   "CLIENT_ADDRESS_HEADER"):
        assert absent not in env, f"the gateway gets no {absent} by default"
    assert not {d["kind"] for d in docs} & {"Ingress", "HTTPRoute", "HorizontalPodAutoscaler", "PodDisruptionBudget"}

    # Every option on: an HPA instead of a replica count, a budget, scraped, its settings.
    ha = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    assert "replicas" not in named(ha, "Deployment", "shop-gateway")[0]["spec"]
    assert named(ha, "HorizontalPodAutoscaler", "shop-gateway")[0]["spec"]["minReplicas"] == 3
    assert named(ha, "PodDisruptionBudget", "shop-gateway")
    monitor = next(d for d in ha if d["kind"] == "ServiceMonitor")
    assert "gateway" in monitor["spec"]["selector"]["matchExpressions"][0]["values"]
    env = deployment_env(ha)["gateway"]
    assert env["STOREFRONT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "shop-storefront-key", "key": "csrf-key"}
    assert env["CORS_ALLOWED_ORIGINS"]["value"] == "https://admin.shop.example,https://partners.shop.example"
    assert (env["RATE_LIMIT_PER_SECOND"]["value"], env["RATE_LIMIT_BURST"]["value"],
            env["RATE_LIMIT_SENSITIVE_PER_MINUTE"]["value"], env["RATE_LIMIT_SENSITIVE_BURST"]["value"]) == \
        ("20", "40", "10", "5")
    # Behind the ingress controller, clients are told apart by the address it forwards.
    assert env["CLIENT_ADDRESS_HEADER"]["value"] == "x-forwarded-for"
    assert env["REDIS_KEY_PREFIX"]["value"] == "prod.shop:", "its rate limits are counted in Redis"


def test_the_ingress_routes_its_host_to_the_gateway_and_makes_the_shops_address():
    default = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml",
                     "--set", "paymentSandbox.enabled=true")
    assert public_address(default) == ("http://localhost:8000", "http://localhost:8000", "false")

    # With TLS: https://<host> everywhere, and a Secure session cookie.
    ha = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    ingress = named(ha, "Ingress", "shop-gateway")[0]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example"], "secretName": "shop-example-tls"}]
    assert ingress["spec"]["rules"] == [{"host": "shop.example", "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "shop-gateway", "port": {"name": "http"}}}}]}}]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert public_address(ha) == ("https://shop.example", "https://shop.example", "true")

    # Without TLS, on the default class: plain HTTP.
    plain = render("microshop", chart_dir("microshop") / "ci" / "ingress-values.yaml")
    ingress = named(plain, "Ingress", "t-microshop-gateway")[0]
    assert "tls" not in ingress["spec"] and "ingressClassName" not in ingress["spec"]
    assert ingress["spec"]["rules"][0]["host"] == "shop.test"
    assert public_address(plain) == (None, "http://shop.test", "false")
    assert deployment_env(plain)["gateway"]["CLIENT_ADDRESS_HEADER"]["value"] == "x-forwarded-for"

    # shopUrl wins over the host (TLS ended in front of the controller), and the deprecated
    # notifications.shopUrl is still honoured.
    given = render("microshop", chart_dir("microshop") / "ci" / "ingress-values.yaml",
                   "--set", "shopUrl=https://www.shop.test", "--set", "paymentSandbox.enabled=true")
    assert public_address(given) == ("https://www.shop.test", "https://www.shop.test", "true")
    old = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml",
                 "--set", "notifications.shopUrl=https://old.shop.test")
    assert public_address(old) == (None, "https://old.shop.test", "true")


def test_the_gateway_takes_anyones_traffic_or_gateway_froms_and_reaches_only_the_services():
    docs = render("microshop", chart_dir("microshop") / "ci" / "ingress-values.yaml")
    policy = named(docs, "NetworkPolicy", "t-microshop-gateway")[0]
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}], "from anywhere"
    assert policy_peers(policy, "egress") == ["user", "product", "order", "notification"]
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert ports == {53, 8001, 8002, 8003, 8005}, "no database, no broker, no Redis without one"
    for service in ("user", "product", "order", "notification"):
        callee = named(docs, "NetworkPolicy", f"t-microshop-{service}")[0]
        assert "gateway" in policy_peers(callee, "ingress"), service

    # Named sources only: the ingress controller (gatewayFrom), then ingressFrom.
    ha = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    policy = named(ha, "NetworkPolicy", "shop-gateway")[0]
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert rule["from"][0] == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    assert len(rule["from"]) == 3, rule
    assert "payment" in policy_peers(policy, "egress")


def test_an_httproute_can_stand_in_for_the_ingress():
    docs = render("microshop", chart_dir("microshop") / "ci" / "httproute-values.yaml")
    assert not named(docs, "Ingress", "shop-gateway")
    route = named(docs, "HTTPRoute", "shop-gateway")[0]
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateway-system", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == ["shop.example.org"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "shop-gateway", "port": 8000}]
    assert public_address(docs) == (None, "https://shop.example.org", "true")


def notes(values: pathlib.Path, *extra: str) -> str:
    """What `helm install` prints after installing (NOTES.txt), rendered without a cluster."""
    result = helm("install", "t", str(chart_dir("microshop")), "--dry-run=client", "-f", str(values), *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("NOTES:", 1)[1]


def test_the_notes_say_how_to_open_the_storefront():
    text = notes(chart_dir("microshop") / "ci" / "default-values.yaml")
    assert "kubectl -n default port-forward svc/t-microshop-gateway 8000:8000" in text
    assert "then http://localhost:8000/" in text
    assert "t-microshop-storefront (key STOREFRONT_SECRET)" in text
    text = notes(chart_dir("microshop") / "ci" / "ha-values.yaml")
    assert "https://shop.example/" in text and "Ingress shop-gateway" in text


def test_the_longest_full_name_keeps_every_object_name_a_dns_label():
    docs = render("microshop", chart_dir("microshop") / "ci" / "default-values.yaml",
                  "--set", "fullnameOverride=" + "s" * 50)
    names = [doc["metadata"]["name"] for doc in docs]
    assert "s" * 50 + "-notification" in names
    assert all(len(name) <= 63 for name in names), names


def test_a_real_card_provider_replaces_the_sandbox():
    docs = render("microshop", chart_dir("microshop") / "ci" / "provider-values.yaml")
    env = deployment_env(docs)
    assert "payment-sandbox" not in env
    payment = env["payment"]
    assert payment["PROVIDER_URL"]["value"] == "https://api.pay.example/v2"
    assert payment["PROVIDER_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "card-provider-keys", "key": "secret-key"}
    assert payment["WEBHOOK_SECRETS"]["valueFrom"]["secretKeyRef"] == {"name": "card-provider-keys", "key": "signing-secret"}
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "shop-payment")
    provider = [rule for rule in policy["spec"]["egress"] if any(p["port"] == 443 for p in rule.get("ports", []))]
    assert provider and provider[0]["to"] == [{"ipBlock": {"cidr": "203.0.113.0/24"}}], policy


def test_the_minimal_values_render_no_optional_objects():
    docs = render("microshop", chart_dir("microshop") / "ci" / "minimal-values.yaml")
    kinds = {doc["kind"] for doc in docs}
    assert kinds <= {"Deployment", "Service"}, kinds


def test_the_operator_chart_ships_the_generated_crd():
    chart_crd = (chart_dir("microshop-operator") / "crds" / "microshop.yaml").read_text()
    assert chart_crd == (ROOT / "k8s" / "crd" / "microshop.yaml").read_text()


API_CALLS = ROOT / "operator" / "tests" / "rbac" / "api-calls.txt"
RECORDED = ROOT / "target" / "api-calls"


def read_calls(text: str) -> set[tuple[str, str, str]]:
    calls = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            group, resource, verb = line.split()
            calls.add(("" if group == "core" else group, resource, verb))
    return calls


def granted(docs: list[dict]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for doc in docs if doc["kind"] in ("ClusterRole", "Role")
            for rule in doc["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


@pytest.mark.parametrize("values", ["default-values.yaml", "ha-values.yaml"])
def test_the_operator_may_do_exactly_what_its_tests_saw_it_do(values):
    """The rules grant exactly the calls the fake API server recorded the operator making
    (operator/tests/rbac/api-calls.txt, written by `make rbac-calls`; the fake refuses any
    other call with 403, so a new call fails the Rust tests first)."""
    docs = render("microshop-operator", chart_dir("microshop-operator") / "ci" / values)
    calls = read_calls(API_CALLS.read_text())
    assert calls, "the recorded calls"
    rules = granted(docs)
    assert not any("*" in entry for entry in rules), "no wildcards"
    assert rules == calls, f"granted but never used: {sorted(rules - calls)}; used but not granted: {sorted(calls - rules)}"
    # The lease is the only thing granted in the operator's own namespace.
    lease_roles = [doc for doc in docs if doc["kind"] == "Role" and doc["metadata"]["name"].endswith("-leader-election")]
    assert granted(lease_roles) == {c for c in calls if c[0] == "coordination.k8s.io"}


def test_a_namespaced_install_binds_a_role_in_that_namespace_only():
    docs = render("microshop-operator", chart_dir("microshop-operator") / "ci" / "ha-values.yaml")
    kinds = {doc["kind"] for doc in docs}
    assert not {"ClusterRole", "ClusterRoleBinding"} & kinds
    bindings = [doc for doc in docs if doc["kind"] == "RoleBinding"]
    namespaces = {doc["metadata"].get("namespace") for doc in bindings}
    assert "shop" in namespaces, namespaces
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["WATCH_NAMESPACE"] == "shop"


def test_the_calls_file_is_what_this_test_run_recorded():
    """`make test` runs the Rust tests with MICROSHOP_API_CALLS_DIR: every call they made is in
    the file (else they would have failed with 403), and nothing in the file went unused."""
    files = sorted(RECORDED.glob("*.txt")) if RECORDED.is_dir() else []
    if not files:
        pytest.skip("no recorded calls: run through `make test` (or `make rbac-calls`)")
    recorded = set().union(*(read_calls(f.read_text()) for f in files))
    calls = read_calls(API_CALLS.read_text())
    assert recorded == calls, (
        f"in the file but no test made them: {sorted(calls - recorded)}; "
        f"made but not in the file: {sorted(recorded - calls)} (run `make rbac-calls`)"
    )


def test_the_operator_runs_as_two_replicas_with_leader_election_by_default():
    docs = render("microshop-operator", chart_dir("microshop-operator") / "ci" / "default-values.yaml")
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert "strategy" not in deployment["spec"], "RollingUpdate is safe with a Lease"
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LEADER_ELECTION"]["value"] == "true"
    assert env["LEASE_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert any(doc["kind"] == "PodDisruptionBudget" for doc in docs)


def test_sample_and_dev_manifests_are_valid():
    for path in [ROOT / "k8s" / "samples" / "microshop.yaml", *sorted((ROOT / "k8s" / "dev").glob("*.yaml"))]:
        for doc in load_yaml(path):
            try:
                validate(doc)
            except Exception as error:  # noqa: BLE001
                pytest.fail(f"{path.relative_to(ROOT)}: {doc['kind']}/{doc['metadata']['name']}: {error}")


@pytest.mark.parametrize("path,value", [
    (("services", "order", "replicas"), -1),
    (("deletionPolicy",), "Destroy"),
    (("image", "tag"), "latest; rm -rf /"),
    (("image", "pullPolicy"), "Sometimes"),
    (("services", "order", "autoscaling", "targetCPU"), 150),
    (("services", "payment", "replicas"), -1),
    (("paymentSandbox", "enabled"), "yes"),
    (("paymentSandbox", "publicUrl"), "localhost:8090"),
    (("paymentProvider", "url"), "pay.example/v2"),
    (("services", "notification", "replicas"), -1),
    (("smtp", "secretRef"), {}),
    (("shopUrl",), "shop.example"),
    (("services", "gateway", "replicas"), -1),
    (("ingress", "host"), "https://shop.example.com"),
    (("ingress", "host"), "shop.example.com:443"),
    (("ingress", "className"), "Nginx Ingress"),
    (("ingress", "enabled"), "yes"),
])
def test_the_crd_schema_refuses_bad_microshops(path, value):
    sample = next(doc for doc in load_yaml(ROOT / "k8s" / "samples" / "microshop.yaml") if doc["kind"] == "Microshop")
    jsonschema.validate(sample, microshop_schema())
    target = sample["spec"]
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sample, microshop_schema())
