#!/usr/bin/env bash
# `make bench`: measures the shop (release builds, restarted fresh by this script) and, in the
# same run, the machine's own ceilings (pgbench -S, a hello-world axum server), then writes
# docs/benchmarks.md. Every run sends traffic only to 127.0.0.1 and stops by itself.
#
#   BENCH_SECONDS  length of each measurement (30; the smoke test uses 1)
#   BENCH_EVENTS   events the consumer drains (20000)
#   BENCH_OUT      the report to write (docs/benchmarks.md)
#   BENCH_RESULTS  keep the raw JSON results in this folder (a temporary one by default)
#   PG_ADMIN_URL   the PostgreSQL server (postgres://postgres:postgres@127.0.0.1:5432)
# and the SHOP_* settings of scripts/services.sh (the smoke test runs a private shop).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
seconds=${BENCH_SECONDS:-30}
events=${BENCH_EVENTS:-20000}
out=${BENCH_OUT:-docs/benchmarks.md}
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
orders_db=${SERVICES[2]##*:}
hello_port=$((port_base + 80))
products=1000
# Buyers the orders are spread over: one buyer's orders are placed one at a time.
buyers=${BENCH_BUYERS:-64}
if [ -n "${BENCH_RESULTS:-}" ]; then results=$BENCH_RESULTS; mkdir -p "$results"
else results=$(mktemp -d); trap 'rm -rf "$results"' EXIT; fi
hello_pid=""
trap 'if [ -n "$hello_pid" ]; then kill "$hello_pid" 2>/dev/null || true; fi' ERR INT TERM

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
rss_json() {
  local svc first=1
  printf '{'
  for svc in user-service product-service order-service; do
    [ $first = 1 ] || printf ', '; first=0
    printf '"%s": %s' "$svc" "$(ps -o rss= -p "$(cat "$RUN_DIR/$svc.pid")" | tr -d ' ')"
  done
  printf '}\n'
}
# Waits until no order is PENDING (the saga caught up), at most 60 s.
wait_for_saga() {
  for _ in $(seq 600); do
    [ "$(sql "select count(*) from orders where status = 'PENDING'")" = 0 ] && return 0
    sleep 0.1
  done
  echo "bench: orders still PENDING after 60 s" >&2
}

step "restarting the shop from fresh release builds"
scripts/down.sh >/dev/null
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

for connections in 16 64; do
  step "POST /api/orders, closed loop, $connections connections"
  wrk_run post-order "$connections" "$ORDERS_URL" "${ids[@]}" >"$results/post_closed_$connections.json"
  wait_for_saga
done

for rate in 250 500 1000; do
  step "POST /api/orders, open loop, $rate/s"
  since=$(sql "select now()")
  open=("$bench" open --scenario order --url "$ORDERS_URL" --buyers "$buyers_file" --first-product "$first"
    --products "$products" --rate "$rate" --seconds "$seconds")
  record "${open[*]}"
  "${open[@]}" >"$results/post_open_$rate.json"
  wait_for_saga
  # accepted -> CONFIRMED from the order's own timestamps: created_at is set when the order is
  # written, updated_at when its status changes.
  sql "select json_build_object(
      'orders', count(*),
      'confirmed', count(*) filter (where status = 'CONFIRMED'),
      'stuck', count(*) filter (where status = 'PENDING'),
      'p50_ms', 1000 * percentile_cont(0.50) within group (order by extract(epoch from updated_at - created_at)) filter (where status <> 'PENDING'),
      'p95_ms', 1000 * percentile_cont(0.95) within group (order by extract(epoch from updated_at - created_at)) filter (where status <> 'PENDING'),
      'p99_ms', 1000 * percentile_cont(0.99) within group (order by extract(epoch from updated_at - created_at)) filter (where status <> 'PENDING'))
    from orders where created_at >= '$since'" >"$results/saga_$rate.json"
done

step "consumer alone: $events queued order.created events"
drain=("$bench" drain --events "$events" --binary "target/$PROFILE/product-service" --port "$((port_base + 82))"
  --jwt-public-keys "$RUN_DIR/keys/jwt-public.pem")
record "${drain[*]}"
"${drain[@]}" >"$results/drain.json"

rss_json >"$results/rss_after.json"
printf '%s\n' "${commands[@]}" >"$results/commands.txt"
python3 scripts/bench_report.py "$results" "$seconds" >"$out"
step "wrote $out"
