#!/usr/bin/env bash
# Stops exactly the services `make up` started (the pids in .run/), gracefully. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

stopped=0
for pidfile in "$RUN_DIR"/*.pid; do
  [ -e "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null && [ "$(ps -p "$pid" -o comm=)" = "${name:0:15}" ]; then
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
