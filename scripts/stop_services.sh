#!/usr/bin/env bash
# Stop the processes scripts/start_services.sh started (and only those), gateway first so it
# can flush its receipts to the ledger.
set -uo pipefail
cd "$(dirname "$0")/.."
PIDS="${TOLLWAY_ARTIFACTS_DIR:-artifacts}/run"

for svc in gateway simulator ledger router; do
  pidfile="$PIDS/$svc.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$svc (pid $pid) did not stop in 10 s; killing"
      kill -KILL "$pid"
    fi
    echo "stopped $svc (pid $pid)"
  fi
  rm -f "$pidfile"
done
