#!/usr/bin/env bash
# Start the Tollway swarm in the background: router :6103, ledger :6121, provider simulator :8100,
# gateway :6120. Waits until every /health answers, then prints where each listens and logs.
# Stop them with scripts/stop_services.sh (it stops exactly the processes started here).
#   TOLLWAY_NO_SIMULATOR=1   do not start the simulator
#   TOLLWAY_ARTIFACTS_DIR    where data, logs and pid files go (default: artifacts)
set -euo pipefail
cd "$(dirname "$0")/.."

ARTIFACTS="${TOLLWAY_ARTIFACTS_DIR:-artifacts}"
LOGS="$ARTIFACTS/logs"
PIDS="$ARTIFACTS/run"
mkdir -p "$LOGS" "$PIDS"

if command -v tollway >/dev/null 2>&1; then TOLLWAY=(tollway); else TOLLWAY=(python3 -m services.cli.main); fi

port_of() {
  case "$1" in
    router) echo "${TOLLWAY_ROUTER_PORT:-6103}" ;;
    ledger) echo "${TOLLWAY_LEDGER_PORT:-6121}" ;;
    simulator) echo "${TOLLWAY_SIMULATOR_PORT:-8100}" ;;
    gateway) echo "${TOLLWAY_GATEWAY_PORT:-6120}" ;;
  esac
}

healthy() { python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

SERVICES=(router ledger)
[ "${TOLLWAY_NO_SIMULATOR:-0}" = "1" ] || SERVICES+=(simulator)
SERVICES+=(gateway)

for svc in "${SERVICES[@]}"; do
  port=$(port_of "$svc")
  pidfile="$PIDS/$svc.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$svc is already running (pid $(cat "$pidfile")); run scripts/stop_services.sh first" >&2
    exit 1
  fi
  if healthy "$port"; then
    echo "port $port is already served by another process; $svc not started" >&2
    exit 1
  fi
  nohup "${TOLLWAY[@]}" serve "$svc" --port "$port" >>"$LOGS/$svc.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    healthy "$port" && break
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$svc exited during start; last log lines:" >&2
      tail -n 20 "$LOGS/$svc.log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    sleep 0.2
  done
  if ! healthy "$port"; then
    echo "$svc did not answer /health on :$port within 30 s; see $LOGS/$svc.log" >&2
    exit 1
  fi
done

echo "Tollway is up:"
for svc in "${SERVICES[@]}"; do
  printf '  %-10s http://127.0.0.1:%s   pid %-7s log %s\n' "$svc" "$(port_of "$svc")" "$(cat "$PIDS/$svc.pid")" "$LOGS/$svc.log"
done
echo "Receipts: $ARTIFACTS/costs/<run_id>.jsonl    Stop: scripts/stop_services.sh"
