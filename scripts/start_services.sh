#!/usr/bin/env bash
# Start the Tollway swarm in the background: router :6103, ledger :6121, provider simulator :8100,
# gateway :6120. Waits until every /health answers, then prints where each listens and logs.
# Stop them with scripts/stop_services.sh (it stops exactly the processes started here).
#
# Whole or nothing: a service already running from an earlier start is kept and only the missing
# ones are started (run it again after one died); if a port is taken by another process, or a
# service does not come up, the services this run started are stopped again and the message says
# which port and which process holds it.
#   TOLLWAY_NO_SIMULATOR=1   do not start the simulator
#   TOLLWAY_ARTIFACTS_DIR    where data, logs and pid files go (default: artifacts)
#   TOLLWAY_{ROUTER,LEDGER,SIMULATOR,GATEWAY}_PORT   ports (default 6103, 6121, 8100, 6120)
set -euo pipefail
cd "$(dirname "$0")/.."

ARTIFACTS="${TOLLWAY_ARTIFACTS_DIR:-artifacts}"
LOGS="$ARTIFACTS/logs"
PIDS="$ARTIFACTS/run"
mkdir -p "$LOGS" "$PIDS"

# shellcheck source=scripts/swarm_ports.sh
. scripts/swarm_ports.sh  # PORTS, TOLLWAY, port_of, healthy, await_health
# the gateway finds the router and the ledger on the ports they are started on
export TOLLWAY_ROUTER_URL="${TOLLWAY_ROUTER_URL:-http://127.0.0.1:$(port_of router)}"
export TOLLWAY_LEDGER_URL="${TOLLWAY_LEDGER_URL:-http://127.0.0.1:$(port_of ledger)}"
# and the ledger's recommendations read the router's registry (docs/analytics.md#recommendations)
export TOLLWAY_LEDGER_ROUTER_URL="${TOLLWAY_LEDGER_ROUTER_URL:-$TOLLWAY_ROUTER_URL}"

SERVICES=(router ledger)
[ "${TOLLWAY_NO_SIMULATOR:-0}" = "1" ] || SERVICES+=(simulator)
SERVICES+=(gateway)

STARTED=()  # what this run started: stopped again if the start fails part-way

rollback() {
  local i svc pid
  [ "${#STARTED[@]}" -gt 0 ] || return 0
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    svc="${STARTED[$i]}"
    pid=$(cat "$PIDS/$svc.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
      echo "  stopped $svc (pid $pid), started by this run" >&2
    fi
    rm -f "$PIDS/$svc.pid"
  done
  STARTED=()
}
fail() {
  echo "$*" >&2
  if [ "${#STARTED[@]}" -gt 0 ]; then echo "undoing this start:" >&2; rollback; fi
  exit 1
}
trap 'fail "interrupted"' INT TERM

# A service of ours still running (pid file, live process, the right command) is kept.
ours_running() {
  local pidfile="$PIDS/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null && "${PORTS[@]}" is-service "$pid" "$1"; then return 0; fi
  rm -f "$pidfile"  # it died (or the pid was reused): start it again
  return 1
}

# First pass: every port the missing services need must be free, before anything starts.
TODO=()
taken=()
for svc in "${SERVICES[@]}"; do
  port=$(port_of "$svc")
  if ours_running "$svc"; then
    if healthy "$port"; then
      echo "$svc is already running (pid $(cat "$PIDS/$svc.pid"), :$port): kept"
      continue
    fi
    fail "$svc (pid $(cat "$PIDS/$svc.pid")) is running but does not answer /health on :$port; see $LOGS/$svc.log or run scripts/stop_services.sh"
  fi
  if holder=$("${PORTS[@]}" holder "$port"); then
    taken+=("port $port (for $svc) is taken by $holder")
  fi
  TODO+=("$svc")
done
if [ "${#taken[@]}" -gt 0 ]; then
  printf '%s\n' "${taken[@]}" >&2
  fail "nothing started; free the port(s) or choose others with TOLLWAY_<SERVICE>_PORT (a swarm from 'honcho start' stops with scripts/stop_services.sh)"
fi

launch() {
  local svc=$1 port
  port=$(port_of "$svc")
  if holder=$("${PORTS[@]}" holder "$port"); then  # taken since the first pass
    fail "cannot start $svc: port $port is taken by $holder"
  fi
  nohup "${TOLLWAY[@]}" serve "$svc" --port "$port" >>"$LOGS/$svc.log" 2>&1 &
  echo $! >"$PIDS/$svc.pid"
  STARTED+=("$svc")
}
# The router, ledger and simulator start side by side; the gateway, which follows the first two, after.
for wave in "router ledger simulator" "gateway"; do
  launched=()
  for svc in ${TODO[@]+"${TODO[@]}"}; do
    case " $wave " in *" $svc "*) launch "$svc"; launched+=("$svc") ;; esac
  done
  for svc in ${launched[@]+"${launched[@]}"}; do
    await_health "$svc" "$(port_of "$svc")" "$PIDS/$svc.pid" "$LOGS/$svc.log" 30 || fail "$svc did not start"
  done
done
trap - INT TERM

echo "Tollway is up:"
for svc in "${SERVICES[@]}"; do
  printf '  %-10s http://127.0.0.1:%s   pid %-7s log %s\n' "$svc" "$(port_of "$svc")" "$(cat "$PIDS/$svc.pid")" "$LOGS/$svc.log"
done
echo "Receipts: $ARTIFACTS/costs/<run_id>.jsonl    Stop: scripts/stop_services.sh"
