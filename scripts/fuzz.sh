#!/usr/bin/env bash
# Fuzzes every service through its own /openapi.json with schemathesis (property-based, driven by
# the document): a private shop (debug builds, ports 18401-18404 and the payment sandbox on 18490,
# its own databases, RabbitMQ topology and run folder) is started, seeded with a user and a
# product, fuzzed, and removed.
# Passes only when nothing is found. Part of `make test`; `make fuzz` runs it alone.
#   FUZZ_EXAMPLES  cases per operation (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
export SHOP_PORT_BASE=18400 SHOP_DB_SUFFIX=_fuzz SHOP_RUN_DIR=.run/fuzz SHOP_PROFILE=${SHOP_PROFILE:-debug} \
  SHOP_TOPOLOGY_PREFIX="fuzz-$$."
export FUZZ_EXAMPLES=${FUZZ_EXAMPLES:-60}
# The fuzzer is one caller sending thousands of requests: the gateway's rate limits (still
# checked in Redis for every request) are raised so that it fuzzes the routes, not the limiter.
export RATE_LIMIT_PER_SECOND=1000000 RATE_LIMIT_BURST=1000000
source scripts/services.sh
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
venv=tools/fuzz-venv
schemathesis_version=4.32.5

if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $schemathesis_version" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

trap 'remove_private_shop "$admin_url"' EXIT
remove_private_shop "$admin_url"
scripts/up.sh >/dev/null

# The admin's access token (the shop's first admin, from up.sh): every route, admin-only ones
# included, is fuzzed signed in; the fuzzer also tries them without it and expects 401.
# shellcheck disable=SC1091 # written by scripts/up.sh
source "$RUN_DIR/admin.env"
token=$(curl -fsS -X POST "$USERS_URL/api/users/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$ADMIN_EMAIL\", \"password\": \"$ADMIN_PASSWORD\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

# Something to find: a user and a product with stock, so reads by id can hit.
curl -fsS -o /dev/null -X POST "$USERS_URL/api/users" -H 'Content-Type: application/json' \
  -d '{"email": "fuzz@example.com", "name": "Fuzz", "password": "correct horse"}'
curl -fsS -o /dev/null -X POST "$PRODUCTS_URL/api/products" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token" -d '{"name": "Fuzzed", "price": 10.0, "stock": 1000000}'

failed=0
for url in "$USERS_URL" "$PRODUCTS_URL" "$ORDERS_URL" "$PAYMENTS_URL" "$NOTIFICATIONS_URL" "$GATEWAY_URL"; do
  echo "fuzz: $url/openapi.json"
  if ! SCHEMATHESIS_HOOKS=tests/fuzz/hooks.py "$venv/bin/schemathesis" \
      --config-file "${FUZZ_CONFIG:-tests/fuzz/schemathesis.toml}" run "$url/openapi.json" \
      --header "Authorization: Bearer $token" \
      --max-examples "$FUZZ_EXAMPLES" --no-color --report-dir "$RUN_DIR/report" >"$RUN_DIR/fuzz.log" 2>&1; then
    failed=1
    cat "$RUN_DIR/fuzz.log"
  else
    tail -n 3 "$RUN_DIR/fuzz.log"
  fi
done
[ "$failed" -eq 0 ] || { echo "fuzz: findings above" >&2; exit 1; }
echo "fuzz: nothing found in any service's API or the gateway's own"
