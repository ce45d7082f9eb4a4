#!/usr/bin/env bash
# Stop the replicas scripts/start_replicas.sh started (its pid files under
# $TOLLWAY_ARTIFACTS_DIR/replicas/run), and only those: gateways first, so each ships its last
# receipts, then the simulator, the ledgers and the routers. A pid whose process is not the Tollway
# service it was started as (it died and the pid was reused) is left alone.
set -uo pipefail
cd "$(dirname "$0")/.."
PIDS="${TOLLWAY_ARTIFACTS_DIR:-artifacts}/replicas/run"
# shellcheck source=scripts/swarm_ports.sh
. scripts/swarm_ports.sh  # PORTS, stop_pid

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
