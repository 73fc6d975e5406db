"""Prometheus rules, scrape configs and the Grafana dashboard: promtool checks and unit tests, the
chart's copies, and every metric name they use is one the services or the operator export."""

import json
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT, chart_dir, render

PROMETHEUS = ROOT / "k8s" / "prometheus"
RULES = PROMETHEUS / "rules" / "microshop.rules.yaml"
RULE_TESTS = PROMETHEUS / "rules" / "microshop.rules.test.yaml"
LOCAL_CONFIG = PROMETHEUS / "prometheus.yml"
KUBERNETES_CONFIG = PROMETHEUS / "prometheus-kubernetes.yml"
DASHBOARD = ROOT / "k8s" / "grafana" / "microshop-dashboard.json"
RUNBOOK = ROOT / "docs" / "runbook.md"
CHART_COPIES = {
    RULES: chart_dir("microshop") / "files" / "microshop.rules.yaml",
    DASHBOARD: chart_dir("microshop") / "files" / "microshop-dashboard.json",
}

# The metrics the services and the operator export, as documented for the rules and the dashboard.
# This list only keeps the rules and the dashboard consistent with it; the real-scrape test (the
# services' API tests reading /metrics) checks that the services actually export them.
EXPORTED_METRICS = {
    # every service (label service="user-service"|...|"notification-service", and the payment
    # sandbox)
    "http_requests_total",
    "http_request_duration_seconds",  # histogram
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
    "process_threads",
    # order-service (upstream_*, circuit_breaker_state: the payment service too)
    "orders_total",
    "orders_pending_stale",
    "upstream_requests_total",
    "circuit_breaker_state",
    # product-service
    "stock_reservations_total",
    "cache_requests_total",
    # order-service: retries of its upstream calls
    "upstream_retries_total",
    # every service: supervised background tasks
    "background_task_panics_total",
    # product-service, order-service, payment-service and notification-service
    "outbox_pending",
    "outbox_undelivered_total",
    "outbox_publish_seconds",  # histogram
    "events_consumed_total",
    "dlq_messages",
    # payment-service
    "payments_total",
    "payment_refunds_total",
    "payment_refunds_pending_stale",
    "payment_webhook_signature_failures_total",
    "payment_webhook_delay_seconds",  # histogram
    # payment-sandbox
    "sandbox_webhook_deliveries_total",
    "sandbox_checkouts_total",
    # notification-service
    "notifications_total",
    "notifications_queued",
    "notifications_oldest_queued_seconds",
    # gateway: its rate limits (rate_limiter_fallback_total: the user service's log-in throttle
    # too)
    "rate_limited_total",
    "rate_limiter_fallback_total",
    # the operator (no service label)
    "microshop_operator_reconciliations_total",
    "microshop_operator_reconcile_failures_total",
    "microshop_operator_reconcile_duration_seconds",  # histogram
    "microshop_operator_watch_errors_total",
    "microshop_operator_queue_depth",
    "microshop_operator_leader",
}
HISTOGRAMS = {
    "http_request_duration_seconds",
    "payment_webhook_delay_seconds",
    "outbox_publish_seconds",
    "microshop_operator_reconcile_duration_seconds",
}
# Series Prometheus itself makes for every target.
PROMETHEUS_SERIES = {"up"}

EXPECTED_ALERTS = {
    "MicroshopHighLatencyP95",
    "MicroshopErrorBudgetBurn",
    "MicroshopDeadLetters",
    "MicroshopOutboxBacklogGrowing",
    "MicroshopEventsUnroutable",
    "MicroshopBackgroundTaskPanics",
    "MicroshopCircuitBreakerOpen",
    "MicroshopOrdersStuckPending",
    "PaymentRefundsFailing",
    "PaymentWebhookSignatureFailures",
    "NotificationsFailing",
    "NotificationsBacklog",
    "RateLimiterOnFallback",
    "MicroshopTargetDown",
    "MicroshopOperatorWatchFailing",
    "MicroshopOperatorNoLeader",
    "MicroshopOperatorReconcileFailing",
}


# --------------------------------------------------------------------------- promtool

def promtool(*args: str, cwd: pathlib.Path = PROMETHEUS) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is missing: install it with `apt-get install prometheus` "
                    "(Debian's package ships promtool)")
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_promtool_check_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass():
    result = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_local_config():
    # Also checks the rule file it loads.
    result = promtool("check", "config", str(LOCAL_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_kubernetes_config(tmp_path):
    result = promtool("check", "config", "--syntax-only", str(KUBERNETES_CONFIG))
    if result.returncode == 0:
        return
    output = result.stdout + result.stderr
    # Debian builds Prometheus without Kubernetes service discovery, so its promtool does not
    # know kubernetes_sd_configs. Check the Kubernetes part here and the rest (relabelling,
    # globals) with promtool, on a copy whose discovery is swapped for an empty static list.
    assert "field kubernetes_sd_configs not found" in output, output
    config = yaml.safe_load(KUBERNETES_CONFIG.read_text())
    for job in config["scrape_configs"]:
        sds = job.pop("kubernetes_sd_configs")
        assert sds and all(set(sd) == {"role"} and sd["role"] == "pod" for sd in sds), job["job_name"]
        job["static_configs"] = [{"targets": []}]
    copy = tmp_path / KUBERNETES_CONFIG.name
    copy.write_text(yaml.safe_dump(config))
    result = promtool("check", "config", "--syntax-only", str(copy), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- the rules

def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def runbook_anchors() -> set[str]:
    """GitHub's anchors of the runbook's headings (lower case, spaces to dashes)."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", RUNBOOK.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings}


def test_the_alerts_are_the_expected_ones():
    assert {rule["alert"] for rule in alerts()} == EXPECTED_ALERTS


def test_every_alert_has_severity_summary_description_and_a_runbook_section():
    anchors = runbook_anchors()
    for rule in alerts():
        name = rule["alert"]
        assert rule.get("labels", {}).get("severity") in {"critical", "warning"}, name
        annotations = rule.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), name
        assert annotations.get("runbook") == f"docs/runbook.md#{name.lower()}", name
        assert name.lower() in anchors, f"docs/runbook.md has no section {name}"
    assert "microshopctl dlq" in RUNBOOK.read_text()


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
             for case in test.get("alert_rule_test", [])]
    for name in EXPECTED_ALERTS:
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case.get("exp_alerts") for case in mine), f"{name}: no case where it fires"
        assert any(not case.get("exp_alerts") for case in mine), f"{name}: no case where it does not"
        for case in mine:
            for alert in case.get("exp_alerts") or []:
                assert set(alert["exp_annotations"]) == {"summary", "description", "runbook"}, name
                assert alert["exp_labels"].get("severity"), name


def test_the_recording_rules_have_unit_tests():
    tested = {case["expr"].split()[0] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("promql_expr_test", [])}
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    assert recorded <= tested, f"untested: {recorded - tested}"


# --------------------------------------------------------------------------- the dashboard

def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def all_panels(panels: list[dict]) -> list[dict]:
    found = []
    for panel in panels:
        found.append(panel)
        found += all_panels(panel.get("panels", []))
    return found


def test_the_dashboard_is_valid_and_every_panel_has_a_query():
    board = dashboard()
    assert board["schemaVersion"] == 39
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    service = variables["service"]
    assert service["type"] == "query"
    assert service["datasource"]["uid"] == "${datasource}"
    query = service["query"]["query"] if isinstance(service["query"], dict) else service["query"]
    assert query == "label_values(http_requests_total, service)"
    panels = all_panels(board["panels"])
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    graphs = [panel for panel in panels if panel["type"] != "row"]
    assert graphs
    for panel in graphs:
        title = panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", title
        assert panel.get("targets"), f"{title} has no query"
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"{title} has an empty query"
            assert target["datasource"]["uid"] == "${datasource}", title
    rows = {panel["title"] for panel in panels if panel["type"] == "row"}
    assert len(rows) >= 7, rows


# --------------------------------------------------------------------------- metric names

PROMQL_WORDS = {
    # aggregation operators
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile", "limitk", "limit_ratio",
    # binary operators, modifiers and literals
    "and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "atan2", "inf", "nan",
}
IDENTIFIER = re.compile(r"(?<![\w.:$])[a-zA-Z_:][\w:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: its identifiers without function and
    aggregation names (followed by `(`), label names (inside `{...}`, `by (...)`), durations,
    strings, numbers and keywords."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges and subqueries
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in IDENTIFIER.finditer(expr):
        name = match.group()
        if name.lower() in PROMQL_WORDS or re.match(r"\s*\(", expr[match.end():]):
            continue  # a keyword, or a function / aggregation called
        names.add(name)
    return names


def test_the_metric_name_extractor():
    assert metric_names('histogram_quantile(0.95, sum by (le, service) '
                        '(rate(http_request_duration_seconds_bucket{service=~"$service"}[$__rate_interval])))') == {
        "http_request_duration_seconds_bucket"}
    assert metric_names('max by (job, service) (outbox_pending) > 100 and max by (job, service) '
                        '(deriv(outbox_pending[10m])) > 0') == {"outbox_pending"}
    assert metric_names('sum without (outcome) (rate(a_total{outcome="error"}[5m])) > 1e3 '
                        'or on (x) group_left (y) b offset 5m') == {"a_total", "b"}
    assert metric_names('up{job=~"microshop|microshop-operator"} == 0') == {"up"}
    assert metric_names('service:http_requests_errors:ratio_rate1h > (14.4 * 0.01)') == {
        "service:http_requests_errors:ratio_rate1h"}


def known(name: str, recorded: set[str]) -> bool:
    if name in EXPORTED_METRICS or name in PROMETHEUS_SERIES or name in recorded:
        return True
    base, _, suffix = name.rpartition("_")
    return suffix in {"bucket", "sum", "count"} and base in HISTOGRAMS


def test_the_rules_and_the_dashboard_use_only_exported_metrics():
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    used = {}
    for rule in rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, []).append(rule.get("record") or rule.get("alert"))
    for panel in all_panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            for name in metric_names(target["expr"]):
                used.setdefault(name, []).append(f"panel {panel['title']!r}")
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "service")
    used.setdefault("http_requests_total", []).append("variable service")
    assert "http_requests_total" in variable["definition"]
    unknown = {name: where for name, where in used.items() if not known(name, recorded)}
    assert not unknown, f"not exported by the services or the operator: {unknown}"
    # The dashboard works without the recording rules loaded.
    dashboard_names = {name for name, where in used.items() if any(w.startswith("panel") for w in where)}
    assert not dashboard_names & recorded
    # Every exported metric shows up somewhere.
    seen = {re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in HISTOGRAMS
            else name for name in used}
    important = EXPORTED_METRICS - {name for name in EXPORTED_METRICS if name.startswith("process_")}
    assert important <= seen, f"never graphed nor alerted on: {important - seen}"


# --------------------------------------------------------------------------- the chart

def test_the_chart_copies_are_byte_identical():
    for original, copy in CHART_COPIES.items():
        assert copy.exists(), f"{copy.relative_to(ROOT)} is missing: cp {original.relative_to(ROOT)} {copy.relative_to(ROOT)}"
        assert copy.read_bytes() == original.read_bytes(), (
            f"{copy.relative_to(ROOT)} differs from {original.relative_to(ROOT)}: copy it again")


def test_the_chart_ships_the_rules_and_the_dashboard_when_asked():
    docs = render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml")
    rule = next(doc for doc in docs if doc["kind"] == "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    config_maps = [doc for doc in docs if doc["kind"] == "ConfigMap"
                   and doc["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert len(config_maps) == 1
    assert config_maps[0]["data"]["microshop-dashboard.json"] == DASHBOARD.read_text()
    for values in ("default-values.yaml", "minimal-values.yaml"):
        kinds = {doc["kind"] for doc in render("microshop", chart_dir("microshop") / "ci" / values)}
        assert not kinds & {"PrometheusRule", "ConfigMap"}, values


# --------------------------------------------------------------------------- pod discovery

def relabel(labels: dict, configs: list[dict]) -> dict | None:
    """Prometheus' relabelling (keep, drop, replace) of one target; None when dropped."""
    labels = dict(labels)
    for config in configs:
        action = config.get("action", "replace")
        value = config.get("separator", ";").join(labels.get(name, "") for name in config.get("source_labels", []))
        match = re.fullmatch(config.get("regex", "(.*)"), value)
        if action == "keep" and not match:
            return None
        if action == "drop" and match:
            return None
        if action == "replace" and match:
            replacement = re.sub(r"\$(\d+)|\$\{(\d+)\}", lambda m: rf"\g<{m.group(1) or m.group(2)}>",
                                 config.get("replacement", "$1"))
            result = match.expand(replacement)
            if result:
                labels[config["target_label"]] = result
            else:
                labels.pop(config["target_label"], None)
    return labels


def pod_targets(deployment: dict, pod_ip: str) -> list[dict]:
    """The discovered labels of a pod of `deployment`, as kubernetes_sd_configs' pod role makes
    them: one target per declared container port."""
    template = deployment["spec"]["template"]
    sanitize = lambda name: re.sub(r"[^a-zA-Z0-9_]", "_", name)
    meta = {
        "__meta_kubernetes_namespace": "shop",
        "__meta_kubernetes_pod_name": deployment["metadata"]["name"] + "-abc12",
        "__meta_kubernetes_pod_phase": "Running",
        "__metrics_path__": "/metrics",
    }
    meta |= {f"__meta_kubernetes_pod_label_{sanitize(k)}": v for k, v in template["metadata"].get("labels", {}).items()}
    meta |= {f"__meta_kubernetes_pod_annotation_{sanitize(k)}": v
             for k, v in template["metadata"].get("annotations", {}).items()}
    ports = [port["containerPort"] for container in template["spec"]["containers"] for port in container.get("ports", [])]
    return [meta | {"__address__": f"{pod_ip}:{port}"} for port in ports] or [meta | {"__address__": pod_ip}]


def test_the_kubernetes_config_finds_the_charts_pods():
    config = yaml.safe_load(KUBERNETES_CONFIG.read_text())
    jobs = {job["job_name"]: job["relabel_configs"] for job in config["scrape_configs"]}
    assert set(jobs) == {"microshop", "microshop-operator"}
    shop = [doc for doc in render("microshop", chart_dir("microshop") / "ci" / "ha-values.yaml") if doc["kind"] == "Deployment"]
    operator = [doc for doc in render("microshop-operator", chart_dir("microshop-operator") / "ci" / "default-values.yaml")
                if doc["kind"] == "Deployment"]
    assert len(shop) == 7 and len(operator) == 1, "the services, the gateway, the payment service and its sandbox"
    for expected_job, deployments in (("microshop", shop), ("microshop-operator", operator)):
        for deployment in deployments:
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            for target in pod_targets(deployment, "10.1.2.3"):
                found = {job: relabel(target, configs) for job, configs in jobs.items()}
                kept = {job: labels for job, labels in found.items() if labels is not None}
                name = deployment["metadata"]["name"]
                assert set(kept) == {expected_job}, f"{name} is scraped by {set(kept)}"
                labels = kept[expected_job]
                assert labels["__address__"] == f"10.1.2.3:{annotations['prometheus.io/port']}", name
                assert labels["__metrics_path__"] == annotations["prometheus.io/path"], name
                assert labels["namespace"] == "shop" and labels["pod"], name
                assert "service" not in labels, f"{name}: a target label `service` would hide the services' own"
    # A pod that opts out is not scraped.
    opted_out = pod_targets(shop[0], "10.1.2.4")[0] | {"__meta_kubernetes_pod_annotation_prometheus_io_scrape": "false"}
    assert all(relabel(opted_out, configs) is None for configs in jobs.values())
