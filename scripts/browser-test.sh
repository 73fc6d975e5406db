#!/usr/bin/env bash
# The whole shop in a real browser: part of `make test` (and `make browser` alone). It runs a
# private shop (debug builds, ports 18300-18390, its own databases, RabbitMQ topology, Redis keys
# and run folder), drives the storefront in headless Chromium through tests/browser/shop.mjs
# (sign-up to delivery, review, mails, a declined card, CSRF; docs/storefront.md is the pages'
# contract) and removes the shop afterwards. It never touches the shop `make up` started.
# Each step's screenshot lands in target/browser/screenshots/ (NN-step.png; a failing step also
# leaves NN-step-FAILED.png and .html). Needs `make browser-deps` (Chromium, npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export SHOP_PORT_BASE=18300 SHOP_DB_SUFFIX=_browser SHOP_RUN_DIR=.run/browser SHOP_PROFILE=debug \
  SHOP_TOPOLOGY_PREFIX="browser-$$."
source scripts/services.sh
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
chromium=${CHROMIUM:-/usr/bin/chromium}
screenshots=target/browser/screenshots

if [ ! -x "$chromium" ] || [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "browser test: no Chromium at $chromium or no tests/browser/node_modules: run make browser-deps" >&2
  exit 1
fi

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -d "$RUN_DIR" ]; then
    echo "browser test failed; the end of the private shop's logs:" >&2
    for log in "$RUN_DIR"/*.log; do
      [ -e "$log" ] || continue
      echo "--- $log" >&2
      tail -n 25 "$log" >&2
    done
  fi
  remove_private_shop "$admin_url"
}
trap cleanup EXIT
# A run that was killed before its cleanup leaves its shop behind: start from nothing.
remove_private_shop "$admin_url"
# Something else on our ports would answer up.sh's readiness checks in our shop's place.
for entry in "${SERVICES[@]}" "smtp-sink:$SMTP_PORT:"; do
  IFS=: read -r name port _ <<<"$entry"
  if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    echo "browser test: 127.0.0.1:$port ($name's port) is taken by another program: $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:.*')" >&2
    exit 1
  fi
done

scripts/up.sh >/dev/null
# shellcheck disable=SC1091 # written by up.sh
source "$RUN_DIR/admin.env"

rm -rf "$screenshots"
mkdir -p "$screenshots"
started=$SECONDS
# shop.mjs bounds itself (BROWSER_TEST_BOUND_S, 300 s); timeout is the bound of last resort.
SHOP_URL=$GATEWAY_URL ADMIN_EMAIL=$ADMIN_EMAIL ADMIN_PASSWORD=$ADMIN_PASSWORD MAIL_DIR="$RUN_DIR/mail" \
  SCREENSHOT_DIR="$screenshots" CHROMIUM="$chromium" \
  timeout --kill-after=10 400 node tests/browser/shop.mjs
echo "browser test: the scenario passed in $((SECONDS - started)) s; screenshots in $screenshots/"
