#!/usr/bin/env bash
# Runs the shop locally: creates the databases, builds release binaries and starts every service
# that is not already running, in the background (pids and logs in .run/). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
# TLS to a database on the same machine only costs CPU (25 % of GET /api/products/{id} throughput,
# docs/benchmarks.md); set PG_SSLMODE=require when PG_ADMIN_URL points elsewhere.

for entry in "${SERVICES[@]}"; do
  IFS=: read -r _ _ db <<<"$entry"
  exists=$(psql "$admin_url/postgres" -qtAX -c "select 1 from pg_database where datname = '$db'")
  if [ "$exists" != 1 ]; then
    psql "$admin_url/postgres" -qX -v ON_ERROR_STOP=1 -c "create database $db" && echo "created database $db"
  fi
done

packages=()
for entry in "${SERVICES[@]}"; do packages+=(-p "${entry%%:*}"); done
if [ "$PROFILE" = release ]; then
  SQLX_OFFLINE=true cargo build --release --bins --quiet "${packages[@]}"
else
  SQLX_OFFLINE=true cargo build --bins --quiet "${packages[@]}"
fi

mkdir -p "$RUN_DIR"
# The access-token signing key (Ed25519), generated once per run folder and kept: the user
# service signs with it, every service verifies with its public half.
keys=$PWD/$RUN_DIR/keys
if [ ! -s "$keys/jwt-signing.pem" ]; then
  mkdir -p "$keys" && chmod 700 "$keys"
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$keys/jwt-signing.pem")
  openssl pkey -in "$keys/jwt-signing.pem" -pubout -out "$keys/jwt-public.pem"
  echo "created the token signing key $RUN_DIR/keys/jwt-signing.pem"
fi
running() { # name -> prints the pid when that service runs from our pid file
  local pidfile="$RUN_DIR/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && [ "$(ps -p "$pid" -o comm=)" = "${1:0:15}" ] && echo "$pid"
}

for entry in "${SERVICES[@]}"; do
  IFS=: read -r name port db <<<"$entry"
  if pid=$(running "$name"); then echo "$name: already running (pid $pid)"; continue; fi
  # A fixed mmap threshold makes glibc return large freed blocks (argon2's 19 MiB) to the OS
  # instead of keeping them in its arenas: ~9 MiB instead of ~85 MiB after a burst of sign-ups.
  GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=1048576} \
  # No load balancer in front of a local shop: on `make down` the listener closes at once.
  HTTP_HOST=${HTTP_HOST:-127.0.0.1} HTTP_PORT=$port LOG_FORMAT=${LOG_FORMAT:-pretty} \
    SHUTDOWN_DRAIN_DELAY_MS=${SHUTDOWN_DRAIN_DELAY_MS:-0} \
    DATABASE_URL="$admin_url/$db?sslmode=${PG_SSLMODE:-disable}" \
    USER_SERVICE_URL="$USERS_URL" PRODUCT_SERVICE_URL="$PRODUCTS_URL" \
    AMQP_TOPOLOGY_PREFIX="$TOPOLOGY_PREFIX" AMQP_TEMPORARY_TOPOLOGY="$([ -n "$TOPOLOGY_PREFIX" ] && echo true || echo false)" \
    JWT_SIGNING_KEY="$keys/jwt-signing.pem" JWT_PUBLIC_KEYS="$keys/jwt-public.pem" \
    nohup "target/$PROFILE/$name" >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  echo "$name: started (pid $!)"
done

for entry in "${SERVICES[@]}"; do
  IFS=: read -r name port _ <<<"$entry"
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null && break
    if ! running "$name" >/dev/null; then break; fi
    sleep 0.1
  done
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
    echo "$name did not become ready; the end of $RUN_DIR/$name.log:" >&2
    tail -n 30 "$RUN_DIR/$name.log" >&2
    exit 1
  fi
done

echo
for entry in "${SERVICES[@]}"; do
  IFS=: read -r name port _ <<<"$entry"
  printf '%-16s http://127.0.0.1:%s  (openapi: /openapi.json, metrics: /metrics)\n' "$name" "$port"
done
echo
echo "logs: make logs    stop: make down"
