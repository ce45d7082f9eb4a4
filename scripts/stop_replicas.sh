#!/usr/bin/env bash
# Stop the replicas scripts/start_replicas.sh started (its pid files under
# $TOLLWAY_ARTIFACTS_DIR/replicas/run), and only those: gateways first, so each ships its last
# receipts, then the simulator, the ledgers and the routers. A pid whose process is not the Tollway
# service it was started as (it died and the pid was reused) is left alone.
set -uo pipefail
cd "$(dirname "$0")/.."
PIDS="${TOLLWAY_ARTIFACTS_DIR:-artifacts}/replicas/run"
PORTS=(python3 scripts/swarm_ports.py)

stop_pid() {  # stop_pid PID NAME
  local pid=$1 name=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name (pid $pid) did not stop in 10 s; killing"
    kill -KILL "$pid"
  fi
  echo "stopped $name (pid $pid)"
}

[ -d "$PIDS" ] || { echo "no replicas started here ($PIDS)"; exit 0; }
for pattern in 'gateway-*' simulator 'ledger-*' 'router-*'; do
  for pidfile in "$PIDS"/$pattern.pid; do
    [ -f "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    svc=${name%-*}
    [ "$name" = simulator ] && svc=simulator
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null && "${PORTS[@]}" is-service "$pid" "$svc"; then
      stop_pid "$pid" "$name" &
    fi
  done
  wait
  rm -f "$PIDS"/$pattern.pid
done
