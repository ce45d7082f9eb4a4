#!/usr/bin/env bash
# Stop the Tollway swarm, gateway first so it can flush its receipts to the ledger:
#  - the processes scripts/start_services.sh started (its pid files), and only those;
#  - a swarm started by `honcho start` (the Procfile) on the same ports: its honcho is stopped,
#    which stops its four services;
#  - any other Tollway service found on the swarm's ports is named and left running (not ours).
# Uses TOLLWAY_ARTIFACTS_DIR and TOLLWAY_*_PORT as start_services.sh does.
set -uo pipefail
cd "$(dirname "$0")/.."
PIDS="${TOLLWAY_ARTIFACTS_DIR:-artifacts}/run"
# shellcheck source=scripts/swarm_ports.sh
. scripts/swarm_ports.sh  # PORTS, port_of, stop_pid

for svc in gateway simulator ledger router; do
  pidfile="$PIDS/$svc.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null && "${PORTS[@]}" is-service "$pid" "$svc"; then
    stop_pid "$pid" "$svc"
  fi
  rm -f "$pidfile"
done

# What is still on the swarm's ports: a honcho swarm (stopped whole), or someone else's (named).
HONCHOS=()
for svc in gateway simulator ledger router; do
  port=$(port_of "$svc")
  pid=$("${PORTS[@]}" pid "$port") || continue
  "${PORTS[@]}" is-service "$pid" "$svc" || continue
  if honcho=$("${PORTS[@]}" honcho "$pid"); then
    case " ${HONCHOS[*]-} " in *" $honcho "*) ;; *) HONCHOS+=("$honcho") ;; esac
  else
    echo "$svc on :$port (pid $pid) was not started by start_services.sh nor by honcho; left running (kill $pid stops it)"
  fi
done
for honcho in ${HONCHOS[@]+"${HONCHOS[@]}"}; do
  stop_pid "$honcho" "the swarm of 'honcho start'" 20
done
