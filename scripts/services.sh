# The services `make up` runs locally: name, port, database. Sourced by up.sh, down.sh and bench.sh.
# A second, private shop (the benchmark smoke test in `make test`) overrides SHOP_PORT_BASE,
# SHOP_DB_SUFFIX, SHOP_RUN_DIR, SHOP_PROFILE and SHOP_TOPOLOGY_PREFIX (its own, self-deleting
# RabbitMQ exchanges and queues), so it never touches the one `make up` started.
# shellcheck shell=bash
port_base=${SHOP_PORT_BASE:-8000}
db_suffix=${SHOP_DB_SUFFIX:-}
SERVICES=(
  # The front door: /api/... of every service on one port (no database).
  "gateway:$port_base:"
  "user-service:$((port_base + 1)):users_db$db_suffix"
  "product-service:$((port_base + 2)):products_db$db_suffix"
  "order-service:$((port_base + 3)):orders_db$db_suffix"
  "payment-service:$((port_base + 4)):payments_db$db_suffix"
  "notification-service:$((port_base + 5)):notifications_db$db_suffix"
  # The stand-in card provider: no database (its state is in memory).
  "payment-sandbox:$((port_base + 90)):"
)
RUN_DIR=${SHOP_RUN_DIR:-.run}
# release (make up, make bench) or debug (the smoke test reuses the test build)
# shellcheck disable=SC2034 # used by the scripts that source this file
PROFILE=${SHOP_PROFILE:-release}
# shellcheck disable=SC2034 # used by the scripts that source this file
TOPOLOGY_PREFIX=${SHOP_TOPOLOGY_PREFIX:-}
# shellcheck disable=SC2034
GATEWAY_URL=http://127.0.0.1:$port_base
# shellcheck disable=SC2034
USERS_URL=http://127.0.0.1:$((port_base + 1))
# shellcheck disable=SC2034
PRODUCTS_URL=http://127.0.0.1:$((port_base + 2))
# shellcheck disable=SC2034
ORDERS_URL=http://127.0.0.1:$((port_base + 3))
# shellcheck disable=SC2034
PAYMENTS_URL=http://127.0.0.1:$((port_base + 4))
# shellcheck disable=SC2034
NOTIFICATIONS_URL=http://127.0.0.1:$((port_base + 5))
# shellcheck disable=SC2034
SANDBOX_URL=http://127.0.0.1:$((port_base + 90))
# The local SMTP sink the notification service sends to (scripts/smtp-sink.py): mail lands in
# $RUN_DIR/mail/, one .eml file per message.
# shellcheck disable=SC2034
SMTP_PORT=$((port_base + 25))

# The database of service $1 (e.g. orders_db for order-service).
database_of() {
  local entry
  for entry in "${SERVICES[@]}"; do
    if [ "${entry%%:*}" = "$1" ]; then echo "${entry##*:}"; return; fi
  done
}

# Stops a private shop (one started with the SHOP_* settings above) and removes its databases,
# run folder and Redis keys (carts, caches, rate limits: all under its topology prefix; never
# touched without one, so the shop of `make up` keeps its own). $1: the PostgreSQL server URL
# without a database.
remove_private_shop() {
  scripts/down.sh >/dev/null 2>&1 || true
  local entry
  for entry in "${SERVICES[@]}"; do
    [ -n "${entry##*:}" ] || continue
    psql "$1/postgres" -qX -c "drop database if exists ${entry##*:} with (force)" >/dev/null 2>&1 || true
  done
  rm -rf "$RUN_DIR"
  if [ -n "$TOPOLOGY_PREFIX" ] && command -v redis-cli >/dev/null; then
    local redis=${REDIS_URL:-redis://127.0.0.1:6379/0}
    redis-cli -u "$redis" --scan --pattern "$TOPOLOGY_PREFIX*" 2>/dev/null |
      xargs -r -d '\n' -n 500 redis-cli -u "$redis" del >/dev/null 2>&1 || true
  fi
}
