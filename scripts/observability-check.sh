#!/usr/bin/env bash
# A real Prometheus scrape of a real shop, part of `make test`:
#  1. starts a private shop (debug builds, ports 182xx: 8001 -> 18201, ..., 8090 -> 18290; its own
#     databases, RabbitMQ topology and run folder; never the one `make up` started);
#  2. starts Debian's `prometheus` on 127.0.0.1:19090 with k8s/prometheus/prometheus.yml pointed
#     at that shop, and the rules of k8s/prometheus/rules/;
#  3. runs the seed walkthrough (through the gateway) plus a log-in and a failed log-in;
#  4. asserts through Prometheus's HTTP API that every target is up, that
#     orders_total{status="CONFIRMED"} counted the order, and that the rules loaded; that every
#     metric the dashboard and the rules name is one the services export; and that no log line
#     of the whole run holds a password (the user's, the admin's, the database's), an access or
#     refresh token, or the token signing key — with the services' own code logging at DEBUG.
# Everything it started is stopped and removed on exit. Bounded: about a minute. Needs what
# scripts/k8s-tools.sh installs (prometheus, and tools/venv for the rule and dashboard parsing).
set -euo pipefail
cd "$(dirname "$0")/.."
export SHOP_PORT_BASE=18200 SHOP_DB_SUFFIX=_obs_check SHOP_RUN_DIR=.run/obs-check SHOP_PROFILE=debug \
  SHOP_TOPOLOGY_PREFIX="obs-check-$$."
source scripts/services.sh
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
prom_port=19090
work=$(mktemp -d)
prom_pid=""
cleanup() {
  if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; fi
  remove_private_shop "$admin_url"
  rm -rf "$work"
}
trap cleanup EXIT

# Our crates at DEBUG: what they log there must be as free of secrets as INFO.
RUST_LOG=info,gateway=debug,user_service=debug,product_service=debug,order_service=debug,payment_service=debug,notification_service=debug,payment_sandbox=debug,microshop_auth=debug,microshop_web=debug,access=debug \
  scripts/up.sh >/dev/null

# The committed scrape config, with the shop's targets (job microshop: the services and the
# payment sandbox, 127.0.0.1:8001 and on) moved to this private shop's ports (the same offset from
# its port base: 8005 -> base+5, 8090 -> base+90).
tools/venv/bin/python - "$work" "$port_base" <<'PY'
import pathlib, shutil, sys
import yaml
work, base = pathlib.Path(sys.argv[1]), int(sys.argv[2])
source = pathlib.Path("k8s/prometheus")
config = yaml.safe_load((source / "prometheus.yml").read_text())
for job in config["scrape_configs"]:
    if job["job_name"] == "microshop":
        for static in job["static_configs"]:
            static["targets"] = [f"127.0.0.1:{base + int(target.rsplit(':', 1)[1]) - 8000}"
                                 for target in static["targets"]]
(work / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
shutil.copytree(source / "rules", work / "rules")
PY
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$prom_port/-/ready" 2>/dev/null && break
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$prom_port/-/ready" || { cat "$work/prometheus.log" >&2; exit 1; }

password="correct horse"
ADMIN_ENV=$RUN_DIR/admin.env SHOP_URL=$GATEWAY_URL MAIL_DIR=$RUN_DIR/mail scripts/walkthrough.sh >"$work/walkthrough.log"
email=$(sed -nE 's/.*"email":"([^"]+)".*/\1/p' "$work/walkthrough.log" | head -n 1)
# A session used every way a token travels: a bearer header, a refresh, a log-out.
session=$(curl -fsS -X POST "$USERS_URL/api/users/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$email\", \"password\": \"$password\"}")
token_of() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
access=$(token_of access_token <<<"$session")
refresh=$(token_of refresh_token <<<"$session")
curl -fsS -o /dev/null "$ORDERS_URL/api/orders" -H "Authorization: Bearer $access"
renewed=$(curl -fsS -X POST "$USERS_URL/api/users/refresh" -H 'Content-Type: application/json' \
  -d "{\"refresh_token\": \"$refresh\"}")
curl -sS -o /dev/null -X POST "$USERS_URL/api/users/refresh" -H 'Content-Type: application/json' \
  -d "{\"refresh_token\": \"$refresh\"}"
curl -sS -o /dev/null -X POST "$USERS_URL/api/users/logout" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $(token_of access_token <<<"$renewed")" \
  -d "{\"refresh_token\": \"$(token_of refresh_token <<<"$renewed")\"}"
curl -sS -o /dev/null -X POST "$USERS_URL/api/users/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$email\", \"password\": \"$password wrong\"}"
curl -sS -o /dev/null "$PRODUCTS_URL/api/products" -X POST -H "Authorization: Bearer $access.tampered"

tools/venv/bin/python - "$prom_port" "$RUN_DIR" "$password" "$admin_url" "$access" "$refresh" <<'PY'
import json, pathlib, re, sys, time, urllib.parse, urllib.request
port, run_dir, password, admin_url, access_token, refresh_token = sys.argv[1:]
api = f"http://127.0.0.1:{port}/api/v1"

def get(path, **params):
    url = f"{api}/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]

def query(expr):
    return get("query", query=expr)["result"]

import yaml  # noqa: E402
config = yaml.safe_load(pathlib.Path("k8s/prometheus/prometheus.yml").read_text())
expected = sum(len(static["targets"]) for job in config["scrape_configs"] if job["job_name"] == "microshop"
               for static in job["static_configs"])
deadline = time.monotonic() + 45
while True:
    targets = get("targets")["activeTargets"]
    shop = [t for t in targets if t["labels"].get("job") == "microshop"]
    up = [t for t in shop if t["health"] == "up"]
    confirmed = query('sum(orders_total{status="CONFIRMED"})')
    counted = confirmed and float(confirmed[0]["value"][1]) >= 1
    if len(shop) == expected and len(up) == expected and counted:
        break
    if time.monotonic() > deadline:
        sys.exit(f"prometheus check: targets {[(t['scrapeUrl'], t['health'], t.get('lastError')) for t in shop]}, "
                 f"orders_total CONFIRMED {confirmed}")
    time.sleep(1)
print(f"prometheus check: {len(up)} targets up, orders_total{{status=\"CONFIRMED\"}} = {confirmed[0]['value'][1]}")

groups = get("rules")["groups"]
rules = [rule for group in groups for rule in group["rules"]]
if not any(rule["type"] == "alerting" for rule in rules):
    sys.exit("prometheus check: the alert rules did not load")
bad = [rule["name"] for rule in rules if rule.get("health") not in ("ok", "unknown")]
if bad:
    sys.exit(f"prometheus check: rules failing to evaluate: {bad}")
print(f"prometheus check: {len(rules)} rules loaded and evaluating")

# Every metric the dashboard and the rules name is one the running services export.
sys.path.insert(0, "tests/k8s")
from test_observability import metric_names as metric_names_in  # noqa: E402
exported = set(get("label/__name__/values"))
wanted = {}
dashboard = json.loads(pathlib.Path("k8s/grafana/microshop-dashboard.json").read_text())
def exprs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from exprs(item)
for expr in exprs(dashboard):
    for name in metric_names_in(expr):
        wanted.setdefault(name, "dashboard")
for group in yaml.safe_load(pathlib.Path("k8s/prometheus/rules/microshop.rules.yaml").read_text())["groups"]:
    recorded = {rule["record"] for rule in group["rules"] if "record" in rule}
    for rule in group["rules"]:
        for name in metric_names_in(rule["expr"]):
            if name not in recorded:
                wanted.setdefault(name, "rules")
recorded_all = {rule["name"] for rule in rules if rule["type"] == "recording"}
operator_only = {name for name in wanted if name.startswith("microshop_operator_")}
missing = sorted(name for name in wanted if name not in exported and name not in recorded_all
                 and name not in operator_only and name != "up")
if missing:
    sys.exit(f"prometheus check: named but not exported by the services: {missing}")
print(f"prometheus check: all {len(wanted)} metric names of the dashboard and rules exist "
      f"({len(operator_only)} are the operator's, which does not run here)")

# No secret in any log line of the run.
admin = dict(line.split("=", 1) for line in (pathlib.Path(run_dir) / "admin.env").read_text().split())
signing_key = "".join((pathlib.Path(run_dir) / "keys" / "jwt-signing.pem").read_text().split("\n")[1:-2])
secrets = {"the user's password": password,
           "the admin's password": admin["ADMIN_PASSWORD"],
           "the database password": urllib.parse.urlsplit(admin_url).password or "postgres:postgres@",
           # A token's signature is what makes it a credential; its payload may be named.
           "an access token": access_token.rsplit(".", 1)[1],
           "a refresh token": refresh_token,
           "the token signing key": signing_key}
for log in pathlib.Path(run_dir).glob("*.log"):
    text = log.read_text(errors="replace")
    for what, secret in secrets.items():
        if secret and (secret if what != "the database password" else f":{secret}@") in text:
            sys.exit(f"prometheus check: {log.name} contains {what}")
print(f"prometheus check: no secret in any log line ({', '.join(secrets)})")
PY
