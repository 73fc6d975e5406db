#!/usr/bin/env bash
# Regenerates (or with --check, verifies) each service's `.sqlx/` offline query data, which lets
# `sqlx::query!` check SQL at compile time without a database (CI, Docker builds).
# Each service gets a scratch database migrated from its own migrations/, dropped afterwards.
# Only library and binary targets are prepared: tests use runtime queries, and the order
# service's tests build the other services, whose queries need their own databases.
set -euo pipefail
cd "$(dirname "$0")/.."
# Usage: sqlx-prepare.sh [--check] [service ...]   (default: every service)
mode=
if [ "${1:-}" = --check ]; then mode=--check; shift; fi
only=("$@")
admin_url=${PG_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432}
sqlx=${SQLX:-sqlx}
for dir in services/*/; do
  svc=$(basename "$dir")
  [ -d "$dir/migrations" ] || continue
  if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $svc "* ]]; then continue; fi
  db="microshop_sqlx_${svc}_$$"
  psql "$admin_url/postgres" -qX -v ON_ERROR_STOP=1 -c "create database $db" >/dev/null
  trap 'psql "$admin_url/postgres" -qX -c "drop database if exists $db" >/dev/null' EXIT
  "$sqlx" migrate run --source "$dir/migrations" --database-url "$admin_url/$db" >/dev/null
  (cd "$dir" && DATABASE_URL="$admin_url/$db" SQLX_OFFLINE=false PATH="$(dirname "$(command -v "$sqlx")"):$PATH" cargo sqlx prepare ${mode:+"$mode"})
  psql "$admin_url/postgres" -qX -c "drop database if exists $db" >/dev/null
  trap - EXIT
done
