#!/usr/bin/env bash
# Makes sure PostgreSQL, RabbitMQ and Redis answer on their loopback ports, that shellcheck
# (the script and workflow checks of `make test`, tests/k8s/test_ci.py) is installed, and that
# python3-aiosmtpd is, for the local SMTP sink (scripts/smtp-sink.py) of `make up` and the tests.
# Idempotent: a server that already answers is never touched. A missing one is installed from
# Debian's packages (as root or through sudo) and started; then we wait for its port.
# `--bench-tools` also installs what `make bench` runs (wrk, pgbench); `--browser` what the browser
# test runs (Debian's chromium, Node.js and npm; `make browser-deps` then runs `npm ci`).
set -euo pipefail

answers() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "deps: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

apt_updated=""
install_packages() {
  if ! command -v apt-get >/dev/null; then
    echo "deps: $* not installed and this is not a Debian-like system; install it yourself" >&2
    exit 1
  fi
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

with_systemd() { [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; }

wait_for() { # name port log
  for _ in $(seq 120); do
    if answers "$2"; then echo "$1: running on 127.0.0.1:$2"; return 0; fi
    sleep 0.5
  done
  echo "deps: $1 did not come up on 127.0.0.1:$2 within 60 s; look at $3" >&2
  exit 1
}

postgres() {
  if answers 5432; then echo "postgresql: already running"; return; fi
  local fresh=""
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    install_packages postgresql; fresh=1
  fi
  local version
  version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
  if [ ! -d "/etc/postgresql/$version/main" ]; then as_root pg_createcluster "$version" main; fi
  if with_systemd; then as_root systemctl start "postgresql@$version-main"
  else as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start; fi
  wait_for postgresql 5432 "/var/log/postgresql/postgresql-$version-main.log"
  if [ -n "$fresh" ]; then
    # The default URLs carry the password `postgres`; a fresh Debian install has none set.
    as_root runuser -u postgres -- psql -qX -c "alter role postgres password 'postgres'"
  fi
}

rabbitmq() {
  if answers 5672; then echo "rabbitmq: already running"; return; fi
  command -v rabbitmq-server >/dev/null || install_packages rabbitmq-server
  if with_systemd; then as_root systemctl start rabbitmq-server
  else
    # Quorum queues hold file descriptors; the 1,024 a shell session allows run out under tests.
    as_root sh -c 'ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null; exec rabbitmq-server -detached'
  fi
  wait_for rabbitmq 5672 /var/log/rabbitmq/
}

redis() {
  if answers 6379; then echo "redis: already running"; return; fi
  command -v redis-server >/dev/null || install_packages redis-server
  if with_systemd; then as_root systemctl start redis-server
  else as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --logfile /tmp/microshop-redis.log; fi
  wait_for redis 6379 /tmp/microshop-redis.log
}

# `make test` checks scripts/*.sh, .ci/run and the GitHub workflows with shellcheck; `make up`
# generates the token signing key with openssl.
lint_tools() {
  command -v shellcheck >/dev/null || install_packages shellcheck
  command -v openssl >/dev/null || install_packages openssl
  echo "shellcheck: $(shellcheck --version | sed -n 's/^version: //p') present"
}

# The local SMTP sink runs on Debian's aiosmtpd, which only Debian's own python3 can import
# (scripts/smtp-sink.py moves to it when the python3 on PATH, say pyenv's, cannot).
smtp_sink() {
  python3 -c 'import aiosmtpd' 2>/dev/null || /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
    install_packages python3-aiosmtpd
  echo "aiosmtpd: present (the SMTP sink)"
}

# `make bench` also needs wrk and pgbench (and python3 for its report).
bench_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v pgbench >/dev/null || missing+=(postgresql-client)
  command -v python3 >/dev/null || missing+=(python3)
  if [ ${#missing[@]} -gt 0 ]; then install_packages "${missing[@]}"; fi
  echo "bench tools: wrk, pgbench, python3 present"
}

# The browser test (scripts/browser-test.sh) drives Debian's Chromium with playwright-core, which
# never downloads a browser of its own: it starts /usr/bin/chromium (CHROMIUM overrides the path).
browser() {
  local missing=()
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then install_packages "${missing[@]}"; fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "deps: the browser test's playwright-core needs Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
  fi
  echo "browser: $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -n 1), node $(node --version) present"
}

postgres
rabbitmq
redis
lint_tools
smtp_sink
case "${1:-}" in
  --bench-tools) bench_tools ;;
  --browser) browser ;;
esac
