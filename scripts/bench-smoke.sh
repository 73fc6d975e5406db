#!/usr/bin/env bash
# The benchmark pipeline of `make bench` end to end in a few seconds, without thresholds: part of
# `make test`, so that `make bench` cannot rot. It runs a private shop (debug builds, ports
# 18101-18103, its own databases, RabbitMQ topology and run folder), checks that every measurement produced
# numbers, and removes the shop afterwards. It never touches the shop `make up` started.
set -euo pipefail
cd "$(dirname "$0")/.."
export SHOP_PORT_BASE=18100 SHOP_DB_SUFFIX=_bench_smoke SHOP_RUN_DIR=.run/bench-smoke SHOP_PROFILE=debug \
  SHOP_TOPOLOGY_PREFIX="bench-smoke-$$."
export BENCH_SECONDS=1 BENCH_EVENTS=300 BENCH_BUYERS=8 BENCH_CATALOG=2000 BENCH_SEARCH_RATE=10 \
  BENCH_LISTING_RATE=10 BENCH_BROWSE_RATE=20 BENCH_MEMORY_SECONDS=1 BENCH_MEMORY_CONNECTIONS=128 \
  BENCH_IDLE_SECONDS=1
source scripts/services.sh
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
work=$(mktemp -d)
cleanup() {
  remove_private_shop "$admin_url"
  rm -rf "$work"
}
trap cleanup EXIT

BENCH_OUT="$work/benchmarks.md" BENCH_RESULTS="$work/results" scripts/bench.sh
# The plans script at a size where sequential scans are the right plans: only that it runs and
# explains every shape (make bench's docs/search-plans.md is the 100,000-product check).
PLANS_PRODUCTS=2000 PLANS_CHECK=0 PLANS_OUT="$work/search-plans.md" PLANS_DB=microshop_search_plans_smoke \
  scripts/search-plans.sh 2>/dev/null
explained=$(grep -c '^### ' "$work/search-plans.md")
timed=$(grep -c 'plan, execution time [0-9.]* ms:' "$work/search-plans.md")
if [ "$explained" -lt 20 ] || [ "$timed" != $((2 * explained)) ]; then
  echo "bench smoke: search-plans.sh explained $explained shapes with $timed timed plans" >&2
  exit 1
fi
python3 - "$work/results" <<'PY'
import json, os, sys
results = sys.argv[1]
expected = [
    ("pgbench_simple", "tps"), ("pgbench_prepared", "tps"), ("hello", "rps"), ("get_product", "rps"),
    ("get_product_gateway", "rps"), ("browse_open", "rps"), ("browse_open", "p95_ms"),
    ("get_product_32", "rps"), ("get_product_32_uncached", "rps"),
    ("post_closed_16", "rps"), ("post_closed_64", "rps"), ("post_open_250", "rps"),
    ("post_open_500", "rps"), ("post_open_1000", "rps"), ("saga_250", "orders"), ("saga_1000", "orders"),
    ("post_lines_closed_16", "rps"), ("checkout_closed_16", "rps"), ("checkout_open_100", "rps"),
    ("checkout_open_200", "rps"), ("saga_checkout_100", "orders"),
    ("drain", "events_per_s"), ("rss_idle", "order-service"), ("rss_after", "order-service"),
    ("rss_idle", "gateway"), ("rss_after", "gateway"),
    ("memory", "load_max"), ("catalog", "live"), ("search_open", "rps"), ("listing_open", "rps"),
]
missing = []
for name, key in expected:
    try:
        with open(os.path.join(results, name + ".json")) as f:
            value = json.load(f).get(key)
    except (OSError, ValueError) as error:
        value = None
    if not value:
        missing.append(f"{name}.{key}")
if missing:
    sys.exit("bench smoke: no number for " + ", ".join(missing))
# Requests the shop refused would make the numbers lie (a token the services do not accept, a
# limit the benchmark runs into, the gateway's rate limits among them): every request of the
# closed loops must have been answered 2xx, and so must the searches, listings and browsing at
# the small rates set above. (The order open loops may ask for more than a debug build under
# `make test` can serve; their 503s are what is measured there.)
refused = []
for name, key in [("get_product", "http_errors"), ("get_product_gateway", "http_errors"),
                  ("get_product_32", "http_errors"),
                  ("get_product_32_uncached", "http_errors"), ("post_closed_16", "http_errors"),
                  ("post_closed_64", "http_errors"), ("post_lines_closed_16", "http_errors"),
                  ("checkout_closed_16", "non_2xx"), ("checkout_closed_16", "errors"),
                  ("browse_open", "non_2xx"), ("browse_open", "errors"), ("search_open", "non_2xx"),
                  ("search_open", "errors"), ("listing_open", "non_2xx"), ("listing_open", "errors")]:
    with open(os.path.join(results, name + ".json")) as f:
        count = json.load(f).get(key)
    if count:
        refused.append(f"{name}: {count} {key}")
with open(os.path.join(results, "memory.json")) as f:
    memory = json.load(f)
if memory["load"].get("http_errors") or not memory["load"].get("requests"):
    refused.append(f"memory run: {memory['load']}")
if not (memory["idle"].get("rss_kib") and memory["samples"]):
    refused.append(f"memory run: no memory samples {memory}")
if refused:
    sys.exit("bench smoke: requests were refused: " + "; ".join(refused))
PY
grep -q '^## Targets' "$work/benchmarks.md"
echo "bench smoke: every measurement of make bench ran and reported numbers"
