# Sourced by start_services.sh, stop_services.sh, start_replicas.sh and stop_replicas.sh: where each
# service listens (start_replicas.sh defines its own port_of after this), whether it answers, and
# starting and stopping one process.
# shellcheck shell=bash
PORTS=(python3 scripts/swarm_ports.py)
if command -v tollway >/dev/null 2>&1; then TOLLWAY=(tollway); else TOLLWAY=(python3 -m services.cli.main); fi

port_of() {
  case "$1" in
    router) echo "${TOLLWAY_ROUTER_PORT:-6103}" ;;
    ledger) echo "${TOLLWAY_LEDGER_PORT:-6121}" ;;
    simulator) echo "${TOLLWAY_SIMULATOR_PORT:-8100}" ;;
    gateway) echo "${TOLLWAY_GATEWAY_PORT:-6120}" ;;
  esac
}

healthy() { "${PORTS[@]}" healthy "$1"; }

# await_health NAME PORT PIDFILE LOGFILE SECONDS: returns 0 once :PORT answers /health; 1 when the
# process exits first (its last log lines, and who holds the port, are shown) or SECONDS pass.
await_health() {
  local name=$1 port=$2 pidfile=$3 logfile=$4 seconds=$5 holder
  for _ in $(seq 1 $((seconds * 5))); do
    healthy "$port" && return 0
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$name exited during start; last log lines:" >&2
      tail -n 20 "$logfile" >&2
      if holder=$("${PORTS[@]}" holder "$port"); then echo "port $port is taken by $holder" >&2; fi
      return 1
    fi
    sleep 0.2
  done
  echo "$name did not answer /health on :$port within $seconds s; see $logfile" >&2
  return 1
}

# stop_pid PID WHAT [SECONDS]: SIGTERM, then SIGKILL if it is still there after SECONDS (10).
stop_pid() {
  local pid=$1 what=$2 tries=$((${3:-10} * 5))
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 "$tries"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$what (pid $pid) did not stop in ${3:-10} s; killing"
    kill -KILL "$pid"
  fi
  echo "stopped $what (pid $pid)"
}
