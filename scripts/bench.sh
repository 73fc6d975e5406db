#!/usr/bin/env bash
# `make bench`: measures the shop (release builds, a private shop started fresh by this script,
# from empty databases, and removed afterwards) and, in the same run, the machine's own ceilings
# (pgbench -S, a hello-world axum server), then writes docs/benchmarks.md. Every run sends
# traffic only to 127.0.0.1 and stops by itself.
#
#   BENCH_SECONDS         length of each measurement (30; the smoke test uses 1)
#   BENCH_EVENTS          events the consumer drains (20000)
#   BENCH_CATALOG         products of the search fixture (100000; the smoke test uses 2000)
#   BENCH_SEARCH_RATE     searches per second of the search open loop (10)
#   BENCH_LISTING_RATE    listings per second of the category-listing open loop (50)
#   BENCH_BROWSE_RATE     requests per second of the mixed browse open loop through the gateway
#                         (1000; the smoke test uses 20)
#   BENCH_MEMORY_SECONDS  length of the memory run (10)
#   BENCH_MEMORY_CONNECTIONS  its connections (1024)
#   BENCH_IDLE_SECONDS    idle time after it before the idle RSS is read (10)
#   BENCH_BUYERS          signed-in buyers, each with an address, the orders are spread over
#                         (1024; the smoke test uses 8)
#   BENCH_OUT             the report to write (docs/benchmarks.md)
#   BENCH_RESULTS         keep the raw JSON results in this folder (a temporary one by default)
#   PG_ADMIN_URL          the PostgreSQL server (postgres://postgres:postgres@127.0.0.1:5432)
# and the SHOP_* settings of scripts/services.sh (the smoke test names its own private shop).
set -euo pipefail
cd "$(dirname "$0")/.."
# A shop of its own for every run, unless the caller named one: a run must not inherit an
# earlier run's orders (unpaid, the order service cancels them ORDER_PAYMENT_TIMEOUT later: a
# second run once measured the first run's 400,000 cancellations along with itself), and the
# shop of `make up` keeps its data. That shop is stopped for the run, so that nothing else
# shares the two cores; `make up` starts it again.
private_shop=""
if [ -z "${SHOP_DB_SUFFIX:-}" ]; then
  scripts/down.sh >/dev/null 2>&1 || true
  export SHOP_PORT_BASE=18200 SHOP_DB_SUFFIX=_bench SHOP_RUN_DIR=.run/bench \
    SHOP_TOPOLOGY_PREFIX="bench-$$."
  private_shop=1
fi
source scripts/services.sh
seconds=${BENCH_SECONDS:-30}
events=${BENCH_EVENTS:-20000}
out=${BENCH_OUT:-docs/benchmarks.md}
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
orders_db=$(database_of order-service)
products_db=$(database_of product-service)
hello_port=$((port_base + 80))
products=1000
catalog=${BENCH_CATALOG:-100000}
search_rate=${BENCH_SEARCH_RATE:-10}
listing_rate=${BENCH_LISTING_RATE:-50}
browse_rate=${BENCH_BROWSE_RATE:-1000}
memory_seconds=${BENCH_MEMORY_SECONDS:-10}
idle_seconds=${BENCH_IDLE_SECONDS:-10}
memory_connections=${BENCH_MEMORY_CONNECTIONS:-1024}
# Buyers the orders are spread over, as in a shop: many more buyers than requests in flight. One
# buyer's orders are placed one at a time (a lock per buyer, which also counts their open
# orders), so with few buyers the benchmark measured buyers queueing for their own lock, and
# counts over thousands of open orders each, which no shop's buyer has (docs/performance.md).
buyers=${BENCH_BUYERS:-1024}
temporary_results=""
if [ -n "${BENCH_RESULTS:-}" ]; then results=$BENCH_RESULTS; mkdir -p "$results"
else results=$(mktemp -d); temporary_results=$results; fi
hello_pid="" sampler_pid=""
stop_helpers() {
  local pid
  for pid in $hello_pid $sampler_pid; do kill "$pid" 2>/dev/null || true; done
}
cleanup() {
  stop_helpers
  if [ -n "$private_shop" ]; then remove_private_shop "$admin_url"; fi
  if [ -n "$temporary_results" ]; then rm -rf "$temporary_results"; fi
}
trap stop_helpers ERR INT TERM
trap cleanup EXIT
# The memory run's 1,024 connections need as many descriptors in wrk and in the product service
# (which inherits this limit from `up.sh` below), beyond the usual soft limit of 1,024.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
  ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi

scripts/deps.sh --bench-tools >/dev/null
if [ "$PROFILE" = release ]; then cargo build --release --quiet -p microshop-bench
else cargo build --quiet -p microshop-bench; fi
bench=target/$PROFILE/microshop-bench
commands=()
step() { echo "bench: $*" >&2; }
record() { commands+=("$1"); }
# wrk MODE CONNECTIONS URL [env...] -> one JSON line (bench/wrk/shop.lua prints it last)
wrk_run() {
  local mode=$1 connections=$2 url=$3; shift 3
  record "env MODE=$mode $* wrk -t2 -c$connections -d${seconds}s -s bench/wrk/shop.lua $url"
  env MODE="$mode" "$@" wrk -t2 -c"$connections" -d"${seconds}s" -s bench/wrk/shop.lua "$url" | tail -n 1
}
sql() { psql "$admin_url/$orders_db" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
rss_of() { ps -o rss= -p "$1" | tr -d ' '; }
# Resident and anonymous (the heap; the rest is the mapped binary) KiB of a process.
memory_of() { awk '/^VmRSS/ {rss = $2} /^RssAnon/ {anon = $2} END {printf "{\"rss_kib\": %d, \"anon_kib\": %d}", rss, anon}' "/proc/$1/status"; }
rss_json() {
  local svc first=1
  printf '{'
  for svc in gateway user-service product-service order-service; do
    [ $first = 1 ] || printf ', '; first=0
    printf '"%s": %s' "$svc" "$(rss_of "$(cat "$RUN_DIR/$svc.pid")")"
  done
  printf '}\n'
}
# What PostgreSQL's autovacuum does in production, between measurements: statistics and dead
# rows. Machines of this kind run PostgreSQL with autovacuum off (their conf.d), and a run's
# hundred thousand orders then left plans chosen without statistics (the reservations'
# ON UPDATE CASCADE scanned every held line: 16 ms per released order) and ever longer chains of
# dead row versions behind every lookup (docs/performance.md). Not right after seeding: statistics
# of still empty order tables made PostgreSQL cache plans that scan them whole as they grow.
vacuum_shop() {
  local entry
  for entry in "${SERVICES[@]}"; do
    [ -n "${entry##*:}" ] || continue
    psql "$admin_url/${entry##*:}" -qX -v ON_ERROR_STOP=1 -c "vacuum analyze" >/dev/null
  done
}
# Waits until no order is PENDING (the saga caught up), at most 60 s, then vacuums.
wait_for_saga() {
  for _ in $(seq 600); do
    if [ "$(sql "select count(*) from orders where status = 'PENDING'")" = 0 ]; then
      vacuum_shop
      return 0
    fi
    sleep 0.1
  done
  echo "bench: orders still PENDING after 60 s" >&2
}

step "starting the shop from fresh release builds"
# A run that was killed may have left its private shop behind: start from empty databases.
if [ -n "$private_shop" ]; then remove_private_shop "$admin_url"; else scripts/down.sh >/dev/null; fi
# The gateway's rate limits (50/s and a burst of 100 per caller by default) would refuse wrk,
# whose connections all come from one address: raised out of reach (the limiter counts whole
# milliseconds, so this is a burst of a billion requests, then 1,000/s), but still checked, so
# every request through the gateway pays its GCRA round trip to Redis as in production.
# Exported: the restarts below start services with them too.
limits=(RATE_LIMIT_PER_SECOND=1000000000 RATE_LIMIT_BURST=1000000000
  RATE_LIMIT_SENSITIVE_PER_MINUTE=1000000000 RATE_LIMIT_SENSITIVE_BURST=1000000000)
export "${limits[@]}"
record "(the shop runs with ${limits[*]}: the gateway's limits raised, still checked in Redis)"
# The benchmark's buyers order far beyond the per-buyer limit of open orders (a guard against
# floods, not a cost), and their tokens must outlive the whole run.
MAX_OPEN_ORDERS_PER_USER=1000000000 ACCESS_TOKEN_TTL=2h scripts/up.sh >/dev/null
sleep 2
rss_json >"$results/rss_idle.json"

step "reference: pgbench -S, scale 10, 32 clients"
pgbench_db="$admin_url/microshop_pgbench?sslmode=disable"
if [ "$(psql "$admin_url/postgres" -qtAX -c "select 1 from pg_database where datname = 'microshop_pgbench'")" != 1 ]; then
  psql "$admin_url/postgres" -qX -c "create database microshop_pgbench"
  pgbench -q -i -s 10 "$pgbench_db" >/dev/null 2>&1
fi
for mode in simple prepared; do
  record "pgbench -S -M $mode -c 32 -j 2 -T $seconds (scale 10, sslmode=disable like the services)"
  pgbench -S -M "$mode" -c 32 -j 2 -T "$seconds" "$pgbench_db" 2>/dev/null \
    | sed -nE 's/^tps = ([0-9.]+).*/{"tps": \1}/p' | head -n 1 >"$results/pgbench_$mode.json"
done

step "reference: hello-world axum, 64 connections"
record "$bench hello --port $hello_port"
"$bench" hello --port "$hello_port" & hello_pid=$!
sleep 0.5
wrk_run plain 64 "http://127.0.0.1:$hello_port/" >"$results/hello.json"
kill "$hello_pid"; wait "$hello_pid" 2>/dev/null || true; hello_pid=""

step "seeding $buyers buyers (signed in) and $products products"
# The buyers' tokens go to a private file, never to the recorded commands.
buyers_file=$RUN_DIR/bench-buyers.txt
# shellcheck disable=SC1091 # written by scripts/up.sh
seed=$(source "$RUN_DIR/admin.env" && ADMIN_EMAIL=$ADMIN_EMAIL ADMIN_PASSWORD=$ADMIN_PASSWORD \
  "$bench" seed --users "$USERS_URL" --products "$PRODUCTS_URL" --count "$products" \
  --buyers "$buyers" --buyers-file "$buyers_file")
first=$(sed -E 's/.*"first_product":([0-9]+).*/\1/' <<<"$seed")
ids=(FIRST="$first" COUNT="$products" BUYERS="$buyers_file")

step "GET /api/products/{id}, 64 connections"
wrk_run get-product 64 "$PRODUCTS_URL" "${ids[@]}" >"$results/get_product.json"
# The same requests through the front door at once, so the two differ only by the gateway: its
# rate-limit check in Redis, its edge (a token is checked when there is one) and one more hop.
step "GET /api/products/{id} through the gateway, 64 connections"
wrk_run get-product 64 "$GATEWAY_URL" "${ids[@]}" >"$results/get_product_gateway.json"

# With the 1,000 seeded products (the search catalogue comes last), so its searches stay cheap
# (bench/src/seed.rs says why they ask for a product's number); the buyers' carts are empty.
step "browse through the gateway (page, search, product, cart in turn), open loop, $browse_rate/s"
browse=("$bench" open --scenario browse --url "$GATEWAY_URL" --buyers "$buyers_file" --first-product "$first"
  --products "$products" --rate "$browse_rate" --seconds "$seconds")
record "${browse[*]}"
"${browse[@]}" >"$results/browse_open.json"

# Restarts the product service alone with extra environment (others keep running).
restart_products() {
  local pid; pid=$(cat "$RUN_DIR/product-service.pid")
  kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  env "$@" scripts/up.sh >/dev/null
}
step "GET /api/products/{id}, 32 connections, read cache on, then off (CACHE_ENABLED=false)"
wrk_run get-product 32 "$PRODUCTS_URL" "${ids[@]}" >"$results/get_product_32.json"
restart_products CACHE_ENABLED=false
record "(product service restarted with CACHE_ENABLED=false)"
wrk_run get-product 32 "$PRODUCTS_URL" "${ids[@]}" >"$results/get_product_32_uncached.json"
restart_products CACHE_ENABLED=true

step "memory: GET /api/products/{id}, $memory_connections connections for $memory_seconds s, then $idle_seconds s idle"
# The product service's resident memory, sampled every 0.1 s during the run (the largest sample
# counts) and read again once it has been idle for a while.
product_pid=$(cat "$RUN_DIR/product-service.pid")
before=$(memory_of "$product_pid")
(while kill -0 "$product_pid" 2>/dev/null; do memory_of "$product_pid"; echo; sleep 0.1; done) \
  >"$results/memory_samples.txt" &
sampler_pid=$!
record "env MODE=get-product ${ids[*]} wrk -t2 -c$memory_connections -d${memory_seconds}s -s bench/wrk/shop.lua $PRODUCTS_URL"
env MODE=get-product "${ids[@]}" wrk -t2 -c"$memory_connections" -d"${memory_seconds}s" -s bench/wrk/shop.lua \
  "$PRODUCTS_URL" | tail -n 1 >"$results/memory_load.json"
kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
sleep 1
after_1s=$(memory_of "$product_pid")
sleep "$((idle_seconds > 1 ? idle_seconds - 1 : 0))"
idle=$(memory_of "$product_pid")
python3 - "$results" "$memory_connections" "$memory_seconds" "$idle_seconds" "$before" "$after_1s" "$idle" <<'PY'
import json, sys
results, connections, seconds, idle_seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
before, after_1s, idle = (json.loads(a) for a in sys.argv[5:8])
with open(f"{results}/memory_samples.txt") as f:
    samples = [json.loads(line) for line in f if line.strip()]
with open(f"{results}/memory_load.json") as f:
    load = json.loads(f.read() or "{}")
peak = max(samples, key=lambda s: s["rss_kib"], default={})
with open(f"{results}/memory.json", "w") as f:
    json.dump({"connections": connections, "seconds": seconds, "idle_seconds": idle_seconds,
               "before": before, "load_max": peak, "samples": len(samples), "after_1s": after_1s,
               "idle": idle, "load": load}, f)
PY

record "vacuum analyze (each shop database, after every run that places orders, outside the measured time)"
for connections in 16 64; do
  step "POST /api/orders, closed loop, $connections connections"
  wrk_run post-order "$connections" "$ORDERS_URL" "${ids[@]}" >"$results/post_closed_$connections.json"
  wait_for_saga
done

step "POST /api/orders with 3 lines (items, address), closed loop, 16 connections"
wrk_run post-lines 16 "$ORDERS_URL" "${ids[@]}" >"$results/post_lines_closed_16.json"
wait_for_saga

step "checkout with 3 lines (3 x POST /api/cart/items, POST /api/orders/checkout), closed loop, 16 clients"
checkout=(--scenario checkout --url "$ORDERS_URL" --buyers "$buyers_file" --first-product "$first"
  --products "$products" --seconds "$seconds")
record "$bench closed ${checkout[*]} --connections 16"
"$bench" closed "${checkout[@]}" --connections 16 >"$results/checkout_closed_16.json"
wait_for_saga

# accepted -> CONFIRMED of the orders placed since $1, from the order's own timestamps:
# created_at is set when the order is written, updated_at when its status changes.
saga_since() {
  sql "select json_build_object(
      'orders', count(*),
      'confirmed', count(*) filter (where status = 'CONFIRMED'),
      'stuck', count(*) filter (where status = 'PENDING'),
      'p50_ms', 1000 * percentile_cont(0.50) within group (order by extract(epoch from updated_at - created_at)) filter (where status <> 'PENDING'),
      'p95_ms', 1000 * percentile_cont(0.95) within group (order by extract(epoch from updated_at - created_at)) filter (where status <> 'PENDING'),
      'p99_ms', 1000 * percentile_cont(0.99) within group (order by extract(epoch from updated_at - created_at)) filter (where status <> 'PENDING'))
    from orders where created_at >= '$1'"
}

for rate in 250 500 1000; do
  step "POST /api/orders, open loop, $rate/s"
  since=$(sql "select now()")
  open=("$bench" open --scenario order --url "$ORDERS_URL" --buyers "$buyers_file" --first-product "$first"
    --products "$products" --rate "$rate" --seconds "$seconds")
  record "${open[*]}"
  "${open[@]}" >"$results/post_open_$rate.json"
  wait_for_saga
  saga_since "$since" >"$results/saga_$rate.json"
done

for rate in 100 200; do
  step "checkout with 3 lines, open loop, $rate checkouts/s"
  since=$(sql "select now()")
  record "$bench open ${checkout[*]} --rate $rate"
  "$bench" open "${checkout[@]}" --rate "$rate" >"$results/checkout_open_$rate.json"
  wait_for_saga
  saga_since "$since" >"$results/saga_checkout_$rate.json"
done

step "consumer alone: $events queued order.created events"
drain=("$bench" drain --events "$events" --binary "target/$PROFILE/product-service" --port "$((port_base + 82))"
  --jwt-public-keys "$RUN_DIR/keys/jwt-public.pem")
record "${drain[*]}"
"${drain[@]}" >"$results/drain.json"

step "seeding the search catalogue: $catalog products in 50 categories (SQL fixture into $products_db)"
# Straight into the running shop's database (bench/fixtures/catalog.sql says why), after every
# measurement above, so that those stay the 1,000-product runs they always were. The fixture
# tops up: a second run finds its products there and adds none.
record "psql -v count=$catalog -f bench/fixtures/catalog.sql $products_db"
psql "$admin_url/$products_db" -qX -v ON_ERROR_STOP=1 -v count="$catalog" -f bench/fixtures/catalog.sql >/dev/null
psql "$admin_url/$products_db" -qtAX -c "select json_build_object('fixture', $catalog, 'products', count(*),
    'live', count(*) filter (where archived_at is null),
    'categories', (select count(*) from categories)) from products" >"$results/catalog.json"

# At rates the machine sustains (a search ranks every match: tens of milliseconds of PostgreSQL
# time each at 100,000 products, docs/search-plans.md), so the latencies are service times, not
# queueing behind an overload.
for scenario in search listing; do
  case $scenario in
    search) rate=$search_rate; step "GET /api/products/search?q=..., $catalog products, open loop, $rate/s" ;;
    listing) rate=$listing_rate; step "GET /api/products?category=...&sort=price, $catalog products, open loop, $rate/s" ;;
  esac
  open=("$bench" open --scenario "$scenario" --url "$PRODUCTS_URL" --rate "$rate" --seconds "$seconds")
  record "${open[*]}"
  "${open[@]}" >"$results/${scenario}_open.json"
done

rss_json >"$results/rss_after.json"
printf '%s\n' "${commands[@]}" >"$results/commands.txt"
python3 scripts/bench_report.py "$results" "$seconds" >"$out"
step "wrote $out"
if [ -n "$private_shop" ]; then step "the shop of make up was stopped for the run: make up starts it again"; fi
