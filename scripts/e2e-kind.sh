#!/usr/bin/env bash
# End-to-end test on a real Kubernetes cluster (kind): builds both images from the Dockerfile,
# installs the dev PostgreSQL, RabbitMQ, Redis and mail sink (Mailpit), the operator chart and the
# sample Microshop (with the payment sandbox as its card provider and Mailpit as its mail server),
# runs the seed walkthrough (which pays its order on the sandbox's card page) against the shop the
# operator deployed, checks that the new user's welcome mail reached Mailpit, opens the storefront
# through the gateway (its catalogue page is HTML listing the walkthrough's product, /api/products
# answers through it), has the operator make and remove an Ingress to the gateway, then deletes the
# shop twice:
# with deletionPolicy Retain (workloads go, databases, roles and their Secrets stay) and with
# Delete (they go too). Exits 0 only when every step held; on failure it prints the cluster's
# state and the operator's logs.
#
# Needs docker (with a running daemon), kind, kubectl, helm and curl on PATH (tools/bin, where
# scripts/k8s-tools.sh puts helm and kubectl, is searched too). Not part of `make test`: this
# machine's CI has no Docker engine; .github/workflows/ci.yml runs it on GitHub Actions.
#
# Settings (environment):
#   CLUSTER=microshop-e2e  the kind cluster; created from k8s/kind-config.yaml unless it exists
#   KEEP_CLUSTER=1         keep the cluster this script created (it is deleted otherwise); a
#                          cluster that existed before the run is always kept
#   TAG=e2e-<sha>-<time>   the tag of both images
#   E2E_PORT_BASE=8000     local ports of the port-forwards: base (the gateway: the storefront),
#                          base+1..base+5 (user, product, order, payment, notification), base+90
#                          (the payment sandbox) and base+25 (Mailpit's API, 8025)
#   E2E_TIMEOUT=600        seconds each wait may take at most
set -euo pipefail
cd "$(dirname "$0")/.."
PATH=$PATH:$PWD/tools/bin

cluster=${CLUSTER:-microshop-e2e}
context=kind-$cluster
tag=${TAG:-e2e-$(git rev-parse --short HEAD 2>/dev/null || echo local)-$(date +%s)}
port_base=${E2E_PORT_BASE:-8000}
limit=${E2E_TIMEOUT:-600}
namespace=default
operator_namespace=microshop-system
shop=shop
# The services (each with its database), and every workload of the sample (the gateway, the
# shop's front door, and the sandbox too: neither has a database).
services=(user product order payment notification)
workloads=("${services[@]}" gateway payment-sandbox)
started=$SECONDS

# --- tools -----------------------------------------------------------------------------------
missing=0
need() { # tool, how to get it
  if ! command -v "$1" >/dev/null; then
    echo "e2e-kind: $1 is not on PATH; $2" >&2
    missing=1
  fi
}
need docker "install Docker Engine or Docker Desktop: https://docs.docker.com/engine/install/"
need kind "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "run scripts/k8s-tools.sh (puts it into tools/bin) or see https://kubernetes.io/docs/tasks/tools/"
need helm "run scripts/k8s-tools.sh (puts it into tools/bin) or see https://helm.sh/docs/intro/install/"
need curl "install curl with your system's package manager"
[ "$missing" -eq 0 ] || exit 2
if ! docker info >/dev/null 2>&1; then
  echo "e2e-kind: docker is installed but its daemon does not answer (is Docker running?)" >&2
  exit 2
fi

k() { kubectl --context "$context" "$@"; }
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - started))" "$*"; }
passed=()
ok() { echo "    ok: $*"; passed+=("$*"); }
fail() { echo "e2e-kind: FAILED: $*" >&2; exit 1; }

# Runs a command every 2 s until it succeeds, at most E2E_TIMEOUT seconds.
wait_until() { # description, command...
  local what=$1 deadline=$((SECONDS + limit))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting until $what"
    sleep 2
  done
}

# --- cleanup and diagnostics -----------------------------------------------------------------
created_cluster=""
forwards=()
stop_forwards() {
  local pid
  for pid in ${forwards[@]+"${forwards[@]}"}; do kill "$pid" 2>/dev/null || true; done
  forwards=()
}
diagnostics() {
  echo
  echo "==================== diagnostics (cluster $cluster, image tag $tag) ===================="
  local kd=(kubectl --context "$context" --request-timeout=20s)
  "${kd[@]}" get microshop -A -o wide || true
  "${kd[@]}" describe microshop -n "$namespace" "$shop" || true
  "${kd[@]}" get pods -A -o wide || true
  "${kd[@]}" get deployments,services,secrets,ingresses -n "$namespace" || true
  "${kd[@]}" get events -A --sort-by=.lastTimestamp | tail -n 80 || true
  echo "---- operator logs ----"
  "${kd[@]}" logs -n "$operator_namespace" deploy/microshop-operator --all-containers --tail=300 || true
  local log
  for log in "$logs"/*.log; do
    [ -e "$log" ] || continue
    echo "---- $(basename "$log") ----"
    tail -n 30 "$log"
  done
}
on_exit() {
  local rc=$?
  set +e
  stop_forwards
  [ "$rc" -eq 0 ] || diagnostics
  if [ -n "$created_cluster" ] && [ "${KEEP_CLUSTER:-}" != 1 ]; then
    echo "e2e-kind: deleting kind cluster $cluster (KEEP_CLUSTER=1 keeps it)"
    kind delete cluster --name "$cluster" >/dev/null 2>&1
  else
    echo "e2e-kind: kind cluster $cluster kept (kubectl --context $context; kind delete cluster --name $cluster)"
  fi
  rm -rf "$logs"
  exit "$rc"
}
logs=$(mktemp -d)
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- checks ----------------------------------------------------------------------------------
# The database and role of a service: <namespace>_<shop>_<service>, other characters as `_`.
database() { printf '%s_%s_%s' "$namespace" "$shop" "$1" | tr -c 'A-Za-z0-9' '_'; }
psql_list() { # query: one value a line
  k exec -n "$namespace" deploy/postgres -- psql -U postgres -tAc "$1"
}
workloads_gone() {
  local left
  left=$(k get deployments -n "$namespace" -l "microshop.dev/shop=$shop" -o name) || return 1
  [ -z "$left" ]
}
db_secrets_exist() {
  local service
  for service in "${services[@]}"; do
    k get secret -n "$namespace" "$shop-$service-db" -o name >/dev/null || return 1
  done
}
db_secrets_gone() {
  local service left
  for service in "${services[@]}"; do
    left=$(k get secret -n "$namespace" "$shop-$service-db" -o name --ignore-not-found) || return 1
    [ -z "$left" ] || return 1
  done
}
databases_and_roles() { # present|absent
  local dbs roles service name
  dbs=$(psql_list "select datname from pg_database") || return 1
  roles=$(psql_list "select rolname from pg_roles") || return 1
  for service in "${services[@]}"; do
    name=$(database "$service")
    if [ "$1" = present ]; then
      grep -qx "$name" <<<"$dbs" || return 1
      grep -qx "$name" <<<"$roles" || return 1
    else
      if grep -qx "$name" <<<"$dbs" || grep -qx "$name" <<<"$roles"; then return 1; fi
    fi
  done
}
apply_shop() { # deletion policy
  k apply -n "$namespace" -f k8s/samples/microshop.yaml
  # The sandbox's checkout URLs point where the walkthrough reaches its card page: the
  # port-forward of step f.
  local public_url="http://localhost:$((port_base + 90))"
  k patch -n "$namespace" "microshop/$shop" --type merge \
    -p "{\"spec\":{\"deletionPolicy\":\"$1\",\"paymentSandbox\":{\"enabled\":true,\"publicUrl\":\"$public_url\"}}}"
  [ "$(k get -n "$namespace" "microshop/$shop" -o jsonpath='{.spec.deletionPolicy}')" = "$1" ] ||
    fail "microshop/$shop does not have deletionPolicy $1"
  k wait -n "$namespace" "microshop/$shop" --for=condition=Ready --timeout="${limit}s"
}
delete_shop() {
  k delete -n "$namespace" "microshop/$shop" --wait=true --timeout="${limit}s"
  [ -z "$(k get -n "$namespace" "microshop/$shop" -o name --ignore-not-found)" ] ||
    fail "microshop/$shop still exists after its deletion"
  wait_until "the Deployments of $shop are gone" workloads_gone
}

# --- a. the cluster --------------------------------------------------------------------------
step "a. kind cluster $cluster"
clusters=$(kind get clusters 2>/dev/null || true)
if grep -qx "$cluster" <<<"$clusters"; then
  echo "    reusing the existing cluster"
else
  created_cluster=1
  kind create cluster --name "$cluster" --config k8s/kind-config.yaml --wait "${limit}s"
fi
kind export kubeconfig --name "$cluster" >/dev/null
k get nodes
ok "kind cluster $cluster is up"

# --- b. images -------------------------------------------------------------------------------
step "b. build microshop:$tag and microshop-operator:$tag, load them into the cluster"
export DOCKER_BUILDKIT=1
docker build --target microshop -t "microshop:$tag" .
docker build --target microshop-operator -t "microshop-operator:$tag" .
kind load docker-image "microshop:$tag" "microshop-operator:$tag" --name "$cluster"
ok "images microshop:$tag and microshop-operator:$tag built and loaded"

# --- c. dev dependencies ---------------------------------------------------------------------
step "c. dev PostgreSQL, RabbitMQ, Redis and Mailpit (k8s/dev/)"
k apply -n "$namespace" -f k8s/dev/postgres.yaml -f k8s/dev/rabbitmq.yaml -f k8s/dev/redis.yaml \
  -f k8s/dev/mailpit.yaml
k rollout status -n "$namespace" deployment/postgres --timeout="${limit}s"
k rollout status -n "$namespace" deployment/rabbitmq --timeout="${limit}s"
k rollout status -n "$namespace" deployment/redis --timeout="${limit}s"
k rollout status -n "$namespace" deployment/mailpit --timeout="${limit}s"
ok "PostgreSQL, RabbitMQ, Redis and Mailpit are ready"

# --- d. the operator -------------------------------------------------------------------------
step "d. operator chart"
helm --kube-context "$context" upgrade --install microshop-operator charts/microshop-operator \
  -n "$operator_namespace" --create-namespace \
  --set image.repository=microshop-operator --set image.tag="$tag" --set shopImage="microshop:$tag" \
  --wait --timeout "${limit}s"
k rollout status -n "$operator_namespace" deployment/microshop-operator --timeout="${limit}s"
ok "operator chart installed, operator ready"

# --- e. the sample Microshop -----------------------------------------------------------------
step "e. sample Microshop (k8s/samples/microshop.yaml)"
apply_shop Retain
images=$(k get deployments -n "$namespace" -l "microshop.dev/shop=$shop" \
  -o jsonpath='{range .items[*]}{.metadata.name}={.spec.template.spec.containers[0].image}{"\n"}{end}')
while IFS= read -r line; do echo "    $line"; done <<<"$images"
for workload in "${workloads[@]}"; do
  grep -qx "$shop-$workload=microshop:$tag" <<<"$images" ||
    fail "deployment $shop-$workload does not run microshop:$tag (the chart's shopImage)"
done
# The sandbox keeps its state in memory: one pod, replaced rather than rolled.
sandbox=$(k get deployment -n "$namespace" "$shop-payment-sandbox" -o jsonpath='{.spec.replicas} {.spec.strategy.type}')
[ "$sandbox" = "1 Recreate" ] || fail "deployment $shop-payment-sandbox is \"$sandbox\", not one pod with strategy Recreate"
[ -n "$(k get -n "$namespace" secret "$shop-payment-provider" -o jsonpath='{.data.api-key}')" ] ||
  fail "Secret $shop-payment-provider has no api-key (the sandbox's generated keys)"
# The notification service sends through the sample's SMTP Secret (spec.smtp), read by reference.
mail=$(k get deployment -n "$namespace" "$shop-notification" -o jsonpath='{range .spec.template.spec.containers[0].env[*]}{.name}={.value}{.valueFrom.secretKeyRef.name}/{.valueFrom.secretKeyRef.key}{"\n"}{end}')
grep -qx "MAIL_TRANSPORT=smtp/" <<<"$mail" || fail "deployment $shop-notification does not send mail over SMTP: $mail"
grep -qx "SMTP_URL=shop-smtp/SMTP_URL" <<<"$mail" ||
  fail "deployment $shop-notification does not read SMTP_URL from Secret shop-smtp: $mail"
# The gateway's pods share the storefront's key, which the operator generated once.
gateway=$(k get deployment -n "$namespace" "$shop-gateway" -o jsonpath='{range .spec.template.spec.containers[0].env[*]}{.name}={.value}{.valueFrom.secretKeyRef.name}/{.valueFrom.secretKeyRef.key}{"\n"}{end}')
grep -qx "STOREFRONT_SECRET=$shop-storefront/STOREFRONT_SECRET" <<<"$gateway" ||
  fail "deployment $shop-gateway does not read STOREFRONT_SECRET from Secret $shop-storefront: $gateway"
storefront_key=$(k get secret -n "$namespace" "$shop-storefront" -o jsonpath='{.data.STOREFRONT_SECRET}' | base64 -d)
[ "${#storefront_key}" -eq 64 ] || fail "Secret $shop-storefront does not hold a 32-byte hex STOREFRONT_SECRET"
ok "microshop/$shop is Ready; its Deployments (the payment and notification services, the gateway and the sandbox too) run microshop:$tag"

# --- f. the walkthrough ----------------------------------------------------------------------
step "f. seed walkthrough through port-forwards to localhost:$((port_base + 1))-$((port_base + 5)) and :$((port_base + 90)), the storefront on :$port_base"
# Each workload on base + (its port - 8000): the gateway's 8000 -> base, 8001 -> base+1, ..., the
# sandbox's 8090 -> base+90.
local_ports=()
for workload in "${workloads[@]}"; do
  remote=$(k get service -n "$namespace" "$shop-$workload" -o jsonpath='{.spec.ports[0].port}')
  port=$((port_base + remote - 8000))
  local_ports+=("$port")
  # kubectl itself, not the k function: $! must be the process the trap kills.
  kubectl --context "$context" port-forward -n "$namespace" "service/$shop-$workload" "$port:$remote" \
    >"$logs/port-forward-$workload.log" 2>&1 &
  forwards+=("$!")
done
# Mailpit's API (its web UI's port), to find the welcome mail.
mail_port=$((port_base + 25))
local_ports+=("$mail_port")
kubectl --context "$context" port-forward -n "$namespace" service/mailpit "$mail_port:8025" \
  >"$logs/port-forward-mailpit.log" 2>&1 &
forwards+=("$!")
forwarding() {
  local pid port
  for pid in "${forwards[@]}"; do kill -0 "$pid" 2>/dev/null || fail "a port-forward exited (see its log below)"; done
  for port in "${local_ports[@]}"; do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  done
}
wait_until "the port-forwards answer" forwarding
# The first admin the operator created (Secret <shop>-admin) creates the product.
admin_password() { k get secret -n "$namespace" "$shop-admin" -o jsonpath='{.data.ADMIN_PASSWORD}' | base64 -d; }
first_admin_password=$(admin_password)
ADMIN_EMAIL=$(k get secret -n "$namespace" "$shop-admin" -o jsonpath='{.data.ADMIN_EMAIL}' | base64 -d) \
ADMIN_PASSWORD=$first_admin_password \
USER_SERVICE_URL=http://127.0.0.1:$((port_base + 1)) \
PRODUCT_SERVICE_URL=http://127.0.0.1:$((port_base + 2)) \
ORDER_SERVICE_URL=http://127.0.0.1:$((port_base + 3)) \
  scripts/walkthrough.sh
# The payment and notification services and the sandbox serve their API descriptions too.
for port in $((port_base + 4)) $((port_base + 5)) $((port_base + 90)); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" || fail "127.0.0.1:$port/health/ready is not 200"
  curl -fsS -o /dev/null "http://127.0.0.1:$port/openapi.json" || fail "127.0.0.1:$port/openapi.json is not 200"
done
ok "walkthrough: the order was CONFIRMED, then PAID on the sandbox's card page; the stock went from 50 to 47"
# The walkthrough registered a user: the notification service mails a welcome through Mailpit.
mail_arrived() {
  local total
  total=$(curl -fsS "http://127.0.0.1:$mail_port/api/v1/messages?limit=1" | grep -o '"total": *[0-9]*' | grep -o '[0-9]*$') ||
    return 1
  [ "${total:-0}" -ge 1 ]
}
wait_until "a mail reaches Mailpit (the welcome of the walkthrough's user)" mail_arrived
ok "mail: the notification service delivered the welcome mail to Mailpit over SMTP"
# The storefront, as a browser opens it: the gateway serves the catalogue page as HTML, and it
# lists the product the walkthrough created; the API answers through the gateway too.
gateway_url=http://127.0.0.1:$port_base
page=$logs/catalogue.html
answer=$(curl -sS -o "$page" -w '%{http_code} %{content_type}' "$gateway_url/") ||
  fail "GET $gateway_url/ (the storefront through the gateway) did not answer"
case $answer in
  "200 text/html"*) ;;
  *) fail "GET $gateway_url/ (the storefront's catalogue) answered \"$answer\", not 200 with HTML" ;;
esac
grep -qi '<html' "$page" || fail "GET $gateway_url/ did not return an HTML page: $(head -c 300 "$page")"
grep -q 'Laptop' "$page" || fail "the catalogue page does not list the walkthrough's product Laptop"
products=$(curl -fsS "$gateway_url/api/products") || fail "GET $gateway_url/api/products through the gateway failed"
grep -q '"Laptop"' <<<"$products" || fail "GET $gateway_url/api/products through the gateway does not list Laptop: $products"
stop_forwards
ok "storefront: $gateway_url/ is the catalogue (HTML, with the walkthrough's product); /api/products answers through the gateway"

# --- f2. the Ingress ------------------------------------------------------------------------------
# kind runs no ingress controller here, so nothing serves the Ingress; the API server stores it,
# and that is the operator's part: it makes it from spec.ingress and removes it when switched off,
# and the shop's address (SHOP_URL, the cookie's Secure flag) follows.
step "f2. spec.ingress: the operator applies an Ingress to the gateway, then removes it"
e2e_host=shop.e2e.test
env_of() { # deployment, variable: its plain value
  k get deployment -n "$namespace" "$1" -o jsonpath="{.spec.template.spec.containers[0].env[?(@.name==\"$2\")].value}"
}
k patch -n "$namespace" "microshop/$shop" --type merge \
  -p "{\"spec\":{\"ingress\":{\"enabled\":true,\"host\":\"$e2e_host\",\"tlsSecretName\":\"$shop-tls\"}}}"
ingress_routes_the_host() {
  local rule
  rule=$(k get ingress -n "$namespace" "$shop-gateway" \
    -o jsonpath='{.spec.rules[0].host} {.spec.rules[0].http.paths[0].backend.service.name} {.spec.tls[0].secretName}' 2>/dev/null) ||
    return 1
  [ "$rule" = "$e2e_host $shop-gateway $shop-tls" ]
}
shop_ready() { # Ready, and the status describes the spec as it is now
  local generation observed ready
  read -r generation observed ready < <(k get -n "$namespace" "microshop/$shop" \
    -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}{"\n"}') ||
    return 1
  [ "$generation" = "$observed" ] && [ "$ready" = True ]
}
wait_until "ingress/$shop-gateway routes $e2e_host to service $shop-gateway" ingress_routes_the_host
shop_url_is() { # url, secure cookies
  [ "$(env_of "$shop-notification" SHOP_URL)" = "$1" ] && [ "$(env_of "$shop-payment" SHOP_URL)" = "$1" ] &&
    [ "$(env_of "$shop-gateway" STOREFRONT_SECURE_COOKIES)" = "$2" ]
}
wait_until "the shop's address is https://$e2e_host" shop_url_is "https://$e2e_host" true
wait_until "microshop/$shop is Ready on its new spec" shop_ready
k patch -n "$namespace" "microshop/$shop" --type merge -p '{"spec":{"ingress":{"enabled":false}}}'
ingress_gone() { [ -z "$(k get ingress -n "$namespace" "$shop-gateway" -o name --ignore-not-found)" ]; }
wait_until "ingress/$shop-gateway is removed" ingress_gone
wait_until "the shop's address is the port-forward's again" shop_url_is "http://localhost:8000" false
wait_until "microshop/$shop is Ready on its new spec" shop_ready
ok "ingress: made for https://$e2e_host (SHOP_URL and Secure cookies followed), removed when switched off"

# --- g. deletion with Retain -----------------------------------------------------------------
step "g. delete microshop/$shop with deletionPolicy Retain"
databases_and_roles present || fail "the databases and roles of $shop do not exist while it runs"
delete_shop
db_secrets_exist || fail "a database Secret of $shop was deleted although the policy is Retain"
databases_and_roles present || fail "a database or role of $shop was dropped although the policy is Retain"
# The admin account lives on in the retained user database, so its Secret does too.
[ -n "$(k get -n "$namespace" secret "$shop-admin" -o name --ignore-not-found)" ] ||
  fail "Secret $shop-admin was deleted although the policy is Retain (the retained account's password would be lost)"
[ -z "$(k get -n "$namespace" secret "$shop-admin" -o jsonpath='{.metadata.ownerReferences}')" ] ||
  fail "Secret $shop-admin still has an owner reference after the shop was deleted with Retain"
ok "Retain: Deployments gone; Secrets $shop-{user,product,order,payment,notification}-db and $shop-admin, databases and roles $(database user) etc. kept"

# --- h. deletion with Delete -----------------------------------------------------------------
# The whole sample file goes at once, its admin Secrets with the shop: the operator holds them
# (finalizer) until its cleanup has used them, so nothing is left behind and nothing is stuck.
step "h. re-create microshop/$shop with deletionPolicy Delete, then kubectl delete -f the sample"
apply_shop Delete
[ "$(admin_password)" = "$first_admin_password" ] ||
  fail "the re-created shop generated a new admin password; the retained account still has the old one"
ok "microshop/$shop (Delete) is Ready again on its retained databases, with the same first admin"
k delete -n "$namespace" -f k8s/samples/microshop.yaml --wait=true --timeout="${limit}s"
[ -z "$(k get -n "$namespace" "microshop/$shop" -o name --ignore-not-found)" ] ||
  fail "microshop/$shop still exists after its deletion"
wait_until "the Deployments of $shop are gone" workloads_gone
wait_until "the database Secrets of $shop are gone" db_secrets_gone
wait_until "the databases and roles of $shop are dropped" databases_and_roles absent
admin_secrets_gone() {
  [ -z "$(k get -n "$namespace" secret pg-admin rabbitmq -o name --ignore-not-found)" ]
}
wait_until "the admin Secrets are released and gone" admin_secrets_gone
shop_admin_gone() { [ -z "$(k get -n "$namespace" secret "$shop-admin" -o name --ignore-not-found)" ]; }
wait_until "Secret $shop-admin is deleted with the shop" shop_admin_gone
ok "Delete: Deployments, database Secrets, databases, roles, $shop-admin and the admin Secrets gone"

# --- i. summary ------------------------------------------------------------------------------
step "i. summary"
for line in "${passed[@]}"; do echo "    passed: $line"; done
echo "e2e-kind: all ${#passed[@]} steps passed in $((SECONDS - started))s (cluster $cluster, images *:$tag)"
