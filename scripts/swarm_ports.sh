# Sourced by start_services.sh and stop_services.sh: where each service listens.
# shellcheck shell=bash
PORTS=(python3 scripts/swarm_ports.py)

port_of() {
  case "$1" in
    router) echo "${TOLLWAY_ROUTER_PORT:-6103}" ;;
    ledger) echo "${TOLLWAY_LEDGER_PORT:-6121}" ;;
    simulator) echo "${TOLLWAY_SIMULATOR_PORT:-8100}" ;;
    gateway) echo "${TOLLWAY_GATEWAY_PORT:-6120}" ;;
  esac
}
