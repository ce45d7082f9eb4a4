"""Schemathesis against the OpenAPI document each service serves (/openapi.json), on real processes
guarded by an admin key (sent with every request): no server error, and every answer's status,
content type, headers and body as the document says. Bounded: TOLLWAY_FUZZ_SECONDS (60) a service,
every phase included; a fixed seed, one worker and no example database, so a run is reproducible.

Reproduce one locally against a running service:
    st run http://127.0.0.1:6121/openapi.json -H 'x-admin-key: <key>' --seed 20261202 --checks ...
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests.e2e.swarm import Swarm

SECONDS = int(os.environ.get("TOLLWAY_FUZZ_SECONDS", "60"))
SEED = "20261202"
CHECKS = ",".join(("not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_headers_conformance", "response_schema_conformance"))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Swarm:
    # a long-poll held past schemathesis's 15 s request timeout is its "network error": hold at most 5 s
    s = Swarm(tmp_path_factory.mktemp("fuzzed"), admin_key="adm-" + secrets.token_hex(8),
              extra_env={"TOLLWAY_LONGPOLL_MAX_WAIT_S": "5"})
    s.start_all()
    yield s
    s.stop_all()


@pytest.mark.timeout(SECONDS + 120)
@pytest.mark.parametrize("service", ["gateway", "ledger", "router"])  # the gateway first: the others' fuzz
def test_schemathesis_finds_no_server_error_and_no_mismatch(                # sets limits and budgets it follows
        fuzzed: Swarm, service: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    command = [sys.executable, "-m", "schemathesis.cli", "run", fuzzed.url(service) + "/openapi.json",
               "--checks", CHECKS, "--max-time", str(SECONDS), "--seed", SEED, "--workers", "1",
               "--generation-database", "none", "--header", f"x-admin-key: {fuzzed.admin_key}",
               "--request-timeout", "15", "--no-color"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 90,
                         cwd=tmp_path_factory.mktemp(f"st-{service}"))
    report = run.stdout[-12_000:] + run.stderr[-2_000:]
    assert run.returncode == 0, f"schemathesis found failures against the {service}:\n{report}"
    assert " passed" in run.stdout and "failure" not in run.stdout.rsplit("SUMMARY", 1)[-1], report
    assert "unhandled_error" not in fuzzed.log(service), f"the {service} logged an unhandled error"
