#!/usr/bin/env bash
# Start N replicas of each Tollway service against PostgreSQL and Redis, for a trial of scale-out:
# N routers, N ledgers and N gateways on one database, one provider simulator, in the background.
# Each gateway is given every router and ledger address, its own replica's first, and fails over
# between them. Stop exactly what this started with scripts/stop_replicas.sh.
#
#   scripts/start_replicas.sh N        (N = 1..9; default 2)
#
# Port plan (base B = TOLLWAY_REPLICAS_BASE_PORT, default 7000), replica i = 1..N:
#   router-i B+100+i    ledger-i B+200+i    gateway-i B+300+i    simulator B+400
# Settings:
#   TOLLWAY_DATABASE_URL   the PostgreSQL every router and ledger uses (required; ?search_path=<schema>
#                          keeps the trial's tables in a schema of their own)
#   TOLLWAY_REDIS_URL      shared rate limits and cache of the gateways (default redis://127.0.0.1:6379/0)
#   TOLLWAY_ARTIFACTS_DIR  the trial's files go under <it>/replicas/: one directory per replica
#                          (receipts, state), logs/<name>.log, run/<name>.pid (default: artifacts)
# Whole or nothing: a taken port starts nothing; a replica that does not come up stops what this
# run started.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-2}"
case "$N" in [1-9]) ;; *) echo "usage: scripts/start_replicas.sh N   (N = 1..9 replicas of each service)" >&2; exit 2 ;; esac
: "${TOLLWAY_DATABASE_URL:?set TOLLWAY_DATABASE_URL=postgresql://user:password@host:5432/db (replicas share it)}"
export TOLLWAY_DATABASE_URL
export TOLLWAY_REDIS_URL="${TOLLWAY_REDIS_URL:-redis://127.0.0.1:6379/0}"
export TOLLWAY_RATE_LIMIT_BACKEND="${TOLLWAY_RATE_LIMIT_BACKEND:-redis}"
export TOLLWAY_CACHE_STORE="${TOLLWAY_CACHE_STORE:-redis}"

BASE="${TOLLWAY_REPLICAS_BASE_PORT:-7000}"
TRIAL="${TOLLWAY_ARTIFACTS_DIR:-artifacts}/replicas"
LOGS="$TRIAL/logs"
PIDS="$TRIAL/run"
mkdir -p "$LOGS" "$PIDS"
# shellcheck source=scripts/swarm_ports.sh
. scripts/swarm_ports.sh  # PORTS, TOLLWAY, healthy, await_health (port_of: this trial's, below)

port_of() {  # port_of NAME  (router-2, ledger-1, gateway-3, simulator)
  case "$1" in
    router-*) echo $((BASE + 100 + ${1#router-})) ;;
    ledger-*) echo $((BASE + 200 + ${1#ledger-})) ;;
    gateway-*) echo $((BASE + 300 + ${1#gateway-})) ;;
    simulator) echo $((BASE + 400)) ;;
  esac
}
urls_from() {  # urls_from SERVICE I: every replica's URL, replica I's first
  local svc=$1 first=$2 j out
  out="http://127.0.0.1:$(port_of "$svc-$first")"
  for j in $(seq 1 "$N"); do [ "$j" = "$first" ] || out="$out,http://127.0.0.1:$(port_of "$svc-$j")"; done
  echo "$out"
}

NAMES=()
for i in $(seq 1 "$N"); do NAMES+=("router-$i" "ledger-$i"); done
NAMES+=(simulator)
for i in $(seq 1 "$N"); do NAMES+=("gateway-$i"); done

for name in "${NAMES[@]}"; do
  if [ -f "$PIDS/$name.pid" ] && kill -0 "$(cat "$PIDS/$name.pid")" 2>/dev/null; then
    echo "a trial is already running ($name, pid $(cat "$PIDS/$name.pid")); stop it with scripts/stop_replicas.sh" >&2
    exit 1
  fi
done
taken=()
for name in "${NAMES[@]}"; do
  port=$(port_of "$name")
  if holder=$("${PORTS[@]}" holder "$port"); then taken+=("port $port (for $name) is taken by $holder"); fi
done
if [ "${#taken[@]}" -gt 0 ]; then
  printf '%s\n' "${taken[@]}" >&2
  echo "nothing started; choose other ports with TOLLWAY_REPLICAS_BASE_PORT" >&2
  exit 1
fi

STARTED=()
undo() {
  echo "undoing this start:" >&2
  TOLLWAY_ARTIFACTS_DIR="${TOLLWAY_ARTIFACTS_DIR:-artifacts}" scripts/stop_replicas.sh >&2 || true
  exit 1
}
trap undo INT TERM

launch() {  # launch NAME [VAR=value ...]
  local name=$1 svc=${1%-*}; shift
  [ "$name" = simulator ] && svc=simulator
  mkdir -p "$TRIAL/$name"
  env TOLLWAY_ARTIFACTS_DIR="$TRIAL/$name" "$@" \
    nohup "${TOLLWAY[@]}" serve "$svc" --port "$(port_of "$name")" >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
  STARTED+=("$name")
}
started() {  # started NAME: it answers /health within 60 s, or what this run started is stopped
  await_health "$1" "$(port_of "$1")" "$PIDS/$1.pid" "$LOGS/$1.log" 60 || undo
}

# routers, ledgers and the simulator side by side (the first of each applies the migrations; the
# others wait on its advisory lock), then the gateways, which follow them
for name in "${NAMES[@]}"; do case "$name" in gateway-*) ;; *) launch "$name" ;; esac; done
for name in "${STARTED[@]}"; do started "$name"; done
for i in $(seq 1 "$N"); do
  launch "gateway-$i" TOLLWAY_ROUTER_URL="$(urls_from router "$i")" TOLLWAY_LEDGER_URL="$(urls_from ledger "$i")"
done
for i in $(seq 1 "$N"); do started "gateway-$i"; done
trap - INT TERM

echo "Tollway replicas are up ($N of each, on one PostgreSQL and one Redis):"
for name in "${NAMES[@]}"; do
  printf '  %-10s http://127.0.0.1:%s   pid %-7s log %s\n' "$name" "$(port_of "$name")" "$(cat "$PIDS/$name.pid")" \
    "$LOGS/$name.log"
done
echo "Receipts: $TRIAL/gateway-<i>/costs/<run_id>.jsonl    Stop: scripts/stop_replicas.sh"
