#!/usr/bin/env bash
# Clone to first receipt, timed as a new user goes: a fresh clone into a temporary directory, the
# README's install (venv + pip install -e '.[dev,semantic]'), scripts/start_services.sh, one
# provider registered with POST /register, one request routed through the gateway, and its
# receipt line read from artifacts/costs/<run>.jsonl. Prints each step's seconds and the total,
# with the machine's cores and load average (the figure depends on both). The swarm runs on free
# ports (never the defaults) and is stopped, and the clone removed, at the end.
#
#   scripts/clone_to_receipt.sh [REPOSITORY]     default: this checkout's repository
#   TOLLWAY_COLD_PIP=1   install with pip's cache off (PIP_NO_CACHE_DIR=1): every package downloaded
#   TOLLWAY_KEEP=1       keep the clone (its path is printed)
set -euo pipefail

SOURCE="${1:-$(cd "$(dirname "$0")/.." && git rev-parse --show-toplevel)}"
WORK=$(mktemp -d /tmp/tollway-first-receipt.XXXXXX)
CLONE="$WORK/tollway"
started_all=$(date +%s.%N)
last=$started_all

step() {  # step NAME: the seconds since the previous step
  local now
  now=$(date +%s.%N)
  printf '  %-48s %7.1f s\n' "$1" "$(echo "$now - $last" | bc)"
  last=$now
}
cleanup() {
  if [ -x "$CLONE/scripts/stop_services.sh" ] && [ -d "$CLONE/artifacts/run" ]; then
    (cd "$CLONE" && scripts/stop_services.sh >/dev/null 2>&1) || true
  fi
  if [ "${TOLLWAY_KEEP:-0}" = "1" ]; then echo "kept: $CLONE"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "clone to first receipt: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "pip cache: $([ "${TOLLWAY_COLD_PIP:-0}" = "1" ] && echo "off (cold)" || echo "as it is (warm when packages were installed before)")"

git clone --quiet "$SOURCE" "$CLONE"
cd "$CLONE"
step "git clone"

python3 -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
if [ "${TOLLWAY_COLD_PIP:-0}" = "1" ]; then export PIP_NO_CACHE_DIR=1; fi
pip install -q -e '.[dev,semantic]' >"$WORK/pip.log" 2>&1 || { tail -n 20 "$WORK/pip.log"; exit 1; }
step "venv + pip install -e '.[dev,semantic]'"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export TOLLWAY_ROUTER_PORT=$(free_port) TOLLWAY_LEDGER_PORT=$(free_port)
export TOLLWAY_SIMULATOR_PORT=$(free_port) TOLLWAY_GATEWAY_PORT=$(free_port)
scripts/start_services.sh >"$WORK/start.log" 2>&1 || { cat "$WORK/start.log"; exit 1; }
step "scripts/start_services.sh (all four healthy)"

ROUTER=http://localhost:$TOLLWAY_ROUTER_PORT GATEWAY=http://localhost:$TOLLWAY_GATEWAY_PORT
SIM=http://localhost:$TOLLWAY_SIMULATOR_PORT
curl -sS -f -X POST "$ROUTER/register" -H 'content-type: application/json' \
  -d '{"name":"my-gpt4","model":"gpt-4","context_window":8192,"input_per_mtok":"30","output_per_mtok":"60","endpoint":"'"$SIM"'"}' \
  >/dev/null
wait_for() {  # wait_for WHAT COMMAND...: polls every 50 ms, gives up after 60 s
  local what=$1
  shift
  for _ in $(seq 1 1200); do "$@" && return 0; sleep 0.05; done
  echo "$what did not happen within 60 s" >&2
  exit 1
}
gateway_has_gpt4() { curl -sS -f "$GATEWAY/v1/models" | grep -q '"gpt-4"'; }
wait_for "the gateway listing gpt-4" gateway_has_gpt4  # the gateway follows the registry
step "register a provider (until the gateway has it)"

curl -sS -f "$GATEWAY/v1/chat/completions" -H 'content-type: application/json' -H 'X-Tollway-Run: first-run' \
  -d '{"model":"gpt-4","messages":[{"role":"user","content":"Hello!"}],"max_tokens":20}' >/dev/null
step "route one request"

wait_for "the receipt line" test -s artifacts/costs/first-run.jsonl
receipt=$(head -n 1 artifacts/costs/first-run.jsonl)
step "first receipt line"

printf '  %-48s %7.1f s\n' "total, clone to first receipt" "$(echo "$last - $started_all" | bc)"
echo "receipt: $(echo "$receipt" | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["provider"], r["model"], r["cost_usd"], "USD")')"
