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
  [ -n "$db" ] || continue
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
# Service keys, one per calling service, generated once per run folder: the order service calls
# the product service's internal routes, the payment service the order service's. Each caller
# sends its own; each called service accepts only its callers' (`<service>.callers`).
# The card provider's API key and webhook signing secret, shared by the payment service and the
# payment sandbox, likewise.
# The storefront's secret (it signs the forms' CSRF tokens) likewise.
for secret in order-service.key payment-service.key provider-api-key webhook-secret storefront-secret; do
  if [ ! -s "$keys/$secret" ]; then
    (umask 077 && openssl rand -hex 32 >"$keys/$secret")
    echo "created $RUN_DIR/keys/$secret"
  fi
done
(umask 077 && echo "order-service=$(cat "$keys/order-service.key")" >"$keys/product-service.callers")
(umask 077 && echo "payment-service=$(cat "$keys/payment-service.key")" >"$keys/order-service.callers")
rm -f "$keys/service-keys" # the single list of earlier versions
# The first admin, generated once per run folder: the user service creates the account at start
# (and never resets its password afterwards).
admin_env=$RUN_DIR/admin.env
if [ ! -s "$admin_env" ]; then
  (umask 077 && printf 'ADMIN_EMAIL=%s\nADMIN_PASSWORD=%s\n' "admin@example.com" \
    "$(openssl rand -base64 18 | tr '+/' '-_')" >"$admin_env")
  echo "created the admin account's credentials $admin_env"
fi
# shellcheck disable=SC1090 # generated just above
source "$admin_env"
running() { # name -> prints the pid when that service runs from our pid file
  local pidfile="$RUN_DIR/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && [ "$(ps -p "$pid" -o comm=)" = "${1:0:15}" ] && echo "$pid"
}

# The local SMTP sink the notification service sends to: every mail lands in $RUN_DIR/mail/ as
# one .eml file (scripts/smtp-sink.py on Debian's python3-aiosmtpd, installed by make deps).
# Started before the services and waited for, so that a taken port fails `make up` here.
sink_pidfile=$RUN_DIR/smtp-sink.pid
if [ -f "$sink_pidfile" ] && [ "$(ps -p "$(cat "$sink_pidfile")" -o comm= 2>/dev/null)" = python3 ]; then
  echo "smtp-sink: already running (pid $(cat "$sink_pidfile"))"
else
  sink_log=$RUN_DIR/smtp-sink.log
  : >>"$sink_log"
  sink_from=$(($(wc -c <"$sink_log") + 1)) # where this start's output begins in the log
  sink_listening() { tail -c "+$sink_from" "$sink_log" | grep '^smtp-sink: listening on' >/dev/null; }
  nohup python3 scripts/smtp-sink.py --host 127.0.0.1 --port "$SMTP_PORT" --dir "$RUN_DIR/mail" \
    >>"$sink_log" 2>&1 </dev/null &
  echo $! >"$sink_pidfile"
  for _ in $(seq 100); do
    if sink_listening || ! kill -0 $! 2>/dev/null; then break; fi
    sleep 0.1
  done
  if ! sink_listening; then
    kill $! 2>/dev/null || true
    rm -f "$sink_pidfile"
    echo "smtp-sink did not start on 127.0.0.1:$SMTP_PORT; the end of $sink_log:" >&2
    tail -n 20 "$sink_log" >&2
    exit 1
  fi
  echo "smtp-sink: started (pid $!)"
fi

for entry in "${SERVICES[@]}"; do
  IFS=: read -r name port db <<<"$entry"
  if pid=$(running "$name"); then echo "$name: already running (pid $pid)"; continue; fi
  # Each service gets only the secrets it needs: the user service the signing key and the
  # admin's password; the others the public key, their callers' keys, and their own key; the
  # payment service and the sandbox the provider's API key and webhook secret.
  secrets=(JWT_PUBLIC_KEYS="$keys/jwt-public.pem")
  case $name in
    user-service) secrets=(JWT_SIGNING_KEY="$keys/jwt-signing.pem"
      BOOTSTRAP_ADMIN_EMAIL="$ADMIN_EMAIL" BOOTSTRAP_ADMIN_PASSWORD="$ADMIN_PASSWORD") ;;
    product-service) secrets+=(SERVICE_KEYS="$keys/product-service.callers") ;;
    order-service) secrets+=(SERVICE_KEY="$keys/order-service.key" SERVICE_KEYS="$keys/order-service.callers") ;;
    payment-service) secrets+=(SERVICE_KEY="$keys/payment-service.key"
      PROVIDER_API_KEY="$keys/provider-api-key" WEBHOOK_SECRETS="$keys/webhook-secret") ;;
    payment-sandbox) secrets=(API_KEY="$keys/provider-api-key" WEBHOOK_SECRET="$keys/webhook-secret") ;;
    gateway) secrets+=(STOREFRONT_SECRET="$keys/storefront-secret") ;;
  esac
  # Redis (REDIS_URL, REDIS_KEY_PREFIX): the user service's log-in throttling, the product
  # service's read cache and the order service's carts; a private shop's keys carry its
  # topology prefix.
  # A fixed mmap threshold makes glibc return large freed blocks (argon2's 19 MiB) to the OS
  # instead of keeping them in its arenas: ~9 MiB instead of ~85 MiB after a burst of sign-ups.
  # No load balancer in front of a local shop: on `make down` the listener closes at once.
  GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=1048576} \
    HTTP_HOST=${HTTP_HOST:-127.0.0.1} HTTP_PORT=$port LOG_FORMAT=${LOG_FORMAT:-pretty} \
    SHUTDOWN_DRAIN_DELAY_MS=${SHUTDOWN_DRAIN_DELAY_MS:-0} \
    DATABASE_URL="$admin_url/$db?sslmode=${PG_SSLMODE:-disable}" \
    PRODUCT_SERVICE_URL="$PRODUCTS_URL" USER_SERVICE_URL="$USERS_URL" \
    ORDER_SERVICE_URL="$ORDERS_URL" PAYMENT_SERVICE_URL="$PAYMENTS_URL" PROVIDER_URL="$SANDBOX_URL" \
    NOTIFICATION_SERVICE_URL="$NOTIFICATIONS_URL" SHOP_URL="$GATEWAY_URL" \
    PUBLIC_URL="$SANDBOX_URL" WEBHOOK_URL="$PAYMENTS_URL/api/payments/callback" \
    SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" MAIL_FROM="Microshop <shop@localhost>" \
    REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}" REDIS_KEY_PREFIX="${TOPOLOGY_PREFIX:-microshop:}" \
    AMQP_TOPOLOGY_PREFIX="$TOPOLOGY_PREFIX" AMQP_TEMPORARY_TOPOLOGY="$([ -n "$TOPOLOGY_PREFIX" ] && echo true || echo false)" \
    nohup env "${secrets[@]}" "target/$PROFILE/$name" >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
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
echo "storefront: $GATEWAY_URL/   (open it in a browser; the API is under $GATEWAY_URL/api/)"
echo
for entry in "${SERVICES[@]}"; do
  IFS=: read -r name port _ <<<"$entry"
  printf '%-20s http://127.0.0.1:%s  (openapi: /openapi.json, metrics: /metrics)\n' "$name" "$port"
done
echo
printf '%-20s smtp://127.0.0.1:%s  (mail lands in %s/mail/)\n' "smtp-sink" "$SMTP_PORT" "$RUN_DIR"
echo
echo "admin account: $ADMIN_EMAIL, password in $admin_env (ADMIN_EMAIL, ADMIN_PASSWORD)"
echo "logs: make logs    stop: make down"
