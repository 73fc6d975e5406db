#!/usr/bin/env bash
# Stops exactly the services `make up` started and its SMTP sink (the pids in .run/), gracefully.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

stopped=0
for pidfile in "$RUN_DIR"/*.pid; do
  [ -e "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  # The SMTP sink is a Python program; every other pid file is a service binary's.
  program=${name:0:15}
  [ "$name" = smtp-sink ] && program=python3
  if kill -0 "$pid" 2>/dev/null && [ "$(ps -p "$pid" -o comm=)" = "$program" ]; then
    kill -TERM "$pid"
    for _ in $(seq 250); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$name (pid $pid) did not stop within 25 s; killing it" >&2
      kill -KILL "$pid"
    fi
    echo "$name: stopped (pid $pid)"
    stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
done
[ "$stopped" -gt 0 ] || echo "nothing to stop"
