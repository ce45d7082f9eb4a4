#!/usr/bin/env bash
# Gateway overhead benchmark: the same mock upstream direct, through the Tollway swarm (started on
# its own ports) and through LiteLLM's proxy where installed; prints a markdown table for plain
# requests (wrk) and one for streams (time to first token, total time).
#   scripts/bench.sh                     # 10 s per row, concurrency 1, 16, 64
#   scripts/bench.sh --seconds 5 --concurrency 1,64 --no-litellm
#   scripts/bench.sh --only-stream       # streaming rows only: time to first token and total, c=1,16
#   LITELLM_BIN=/path/to/venv scripts/bench.sh
#   scripts/bench.sh --baseline /tmp/tollway-base   # and a swarm from another checkout (`git worktree add
#                                                   # /tmp/tollway-base <commit>`), same rounds, with a verdict
#   scripts/bench.sh --baseline-database-url 'postgresql://postgres@127.0.0.1:5432/test?search_path=bench'
#                                        # this swarm beside its twin with the ledger and router on PostgreSQL
# Needs wrk (not with --only-stream), node and taskset; runs with $PYTHON, or the first
# python3/python that has httpx.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  for candidate in python python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import httpx" 2>/dev/null; then
      PYTHON=$candidate; break
    fi
  done
fi
if [ -z "${PYTHON:-}" ]; then
  echo "bench: no python with httpx found; activate Tollway's virtualenv or set PYTHON=" >&2
  exit 2
fi
exec "$PYTHON" scripts/bench/run.py "$@"
