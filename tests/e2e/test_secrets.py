"""Provider keys on real processes (issue 13, items 4 and 5).

A provider that quotes the key it was sent in its error (whole and in part, in each format's key
header) gets it into nothing Tollway keeps or answers: client responses (plain and streamed, body
and headers), receipts on disk, the ledger's receipts, and every file the services wrote (their
logs included) hold neither the key nor its first 12 characters, but `[redacted]`. The router's
health probes, which send the keys too, run throughout. And api_key_env may only name a variable
the operator allowed: TOLLWAY_ADMIN_KEY (with no admin key set, as by default) is a 400.
"""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm

KEYS = {  # each in the environment of every service, under a name the default allows
    "TOLLWAY_PROVIDER_KEY_ECHO": "sk-echo-" + secrets.token_hex(20),
    "ANTHROPIC_API_KEY": "sk-ant-echo-" + secrets.token_hex(20),
    "TOLLWAY_PROVIDER_KEY_GEMINI": "AIzaEcho" + secrets.token_hex(16),
}
RUN = "secrets-run"
MARKER = "[redacted]"


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("secrets"),
              extra_env={**KEYS, "TOLLWAY_HEALTH_CHECK_INTERVAL_S": "0.2"})  # probes (with the keys) all along
    s.start_all()
    yield s
    s.stop_all()


def echoing(swarm: Swarm, name: str, model: str, fmt: str, env: str, status: int = 400) -> dict:
    return {"name": name, "model": model, "context_window": 8192, "input_per_mtok": "1", "output_per_mtok": "2",
            "endpoint": f"{swarm.url('simulator')}/sim/echo_key={status}", "api_format": fmt, "api_key_env": env}


@pytest.fixture(scope="module")
def providers(swarm):
    with httpx.Client(timeout=30) as http:
        for body in (echoing(swarm, "echo-openai", "echo-model", "openai", "TOLLWAY_PROVIDER_KEY_ECHO"),
                     echoing(swarm, "echo-anthropic", "echo-ant", "anthropic", "ANTHROPIC_API_KEY"),
                     echoing(swarm, "echo-gemini", "echo-gem", "gemini", "TOLLWAY_PROVIDER_KEY_GEMINI"),
                     # refused as the provider's setup: the next is tried, then a 502 quoting both
                     echoing(swarm, "setup-openai", "echo-fallback", "openai", "TOLLWAY_PROVIDER_KEY_ECHO", 401),
                     echoing(swarm, "setup-gemini", "echo-fallback", "gemini", "TOLLWAY_PROVIDER_KEY_GEMINI", 403)):
            register(http, swarm, body)
        for model in ("echo-model", "echo-ant", "echo-gem", "echo-fallback"):
            swarm.wait_for_model(model)


def exposed(text: str) -> list[str]:
    """Which keys (whole, or their first 12 characters) `text` holds."""
    return [name for name, key in KEYS.items() if key in text or key[:12] in text]


def test_the_simulator_does_echo_the_key(swarm):
    key = KEYS["TOLLWAY_PROVIDER_KEY_ECHO"]
    resp = httpx.post(swarm.url("simulator") + "/sim/echo_key=400/v1/chat/completions",
                      headers={"authorization": f"Bearer {key}"},
                      json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 400 and key in resp.text and f"starting {key[:16]}" in resp.text


def test_echoed_keys_reach_no_response_receipt_ledger_row_or_log(swarm, providers):
    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    headers = {"x-tollway-run": RUN, "x-tollway-agent": "secrets"}
    gateway = swarm.url("gateway")
    answers: list[httpx.Response] = []
    with httpx.Client(timeout=30, headers=headers) as http:
        for i in range(8):  # the reviewer's case: 8 requests, plain and streamed
            answers.append(http.post(gateway + "/v1/chat/completions",
                                     json={**chat, "model": "echo-model", "stream": i % 2 == 1}))
        for model in ("echo-ant", "echo-gem", "echo-fallback"):
            for stream in (False, True):
                answers.append(http.post(gateway + "/v1/chat/completions",
                                         json={**chat, "model": model, "stream": stream}))
        answers.append(http.post(gateway + "/route", json={"run_id": RUN, "requirements": {"model": "echo-model"},
                                                           "payload": chat}))
        answers.append(http.post(gateway + "/v1/messages", json={**chat, "model": "echo-ant"}))
        answers.append(http.post(gateway + "/v1/messages", json={**chat, "model": "echo-ant", "stream": True}))

    statuses = [a.status_code for a in answers]
    assert statuses == [400] * 8 + [400, 400, 400, 400, 502, 502] + [400, 400, 400], [a.text for a in answers]
    for a in answers:
        assert MARKER in a.text, a.text  # the provider's words came through, redacted
        assert not exposed(a.text + json.dumps(dict(a.headers))), (a.request.url, a.text)

    def shipped() -> bool:
        page = httpx.get(swarm.url("ledger") + f"/receipts/{RUN}").json()
        return page.get("count") == len(answers)
    wait_until(shipped, timeout=10, what="every receipt at the ledger")
    ledger = httpx.get(swarm.url("ledger") + f"/receipts/{RUN}")
    assert not exposed(ledger.text) and MARKER in ledger.text

    receipts = [json.loads(line) for line in (swarm.costs / f"{RUN}.jsonl").read_text().splitlines()]
    assert len(receipts) == len(answers)
    assert all(MARKER in json.dumps(r["attempts"]) for r in receipts)
    assert all(MARKER in r["error"]["message"] for r in receipts if isinstance(r.get("error"), dict))

    wait_until(lambda: all(f'"provider": "{p}"' in swarm.log("router") or f'"provider":"{p}"' in swarm.log("router")
                           for p in ("echo-openai", "echo-anthropic", "echo-gemini")),
               what="the router's health probes (which send the keys) judging every provider")

    swarm.stop_all()  # every log line flushed; every file the services wrote is searched
    files = [p for p in swarm.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files) and any(p.suffix == ".jsonl" for p in files)
    for path in files:
        text = path.read_bytes().decode("latin-1")
        assert not exposed(text), f"{path} holds a provider key"
    swarm.start_all()


def test_api_key_env_naming_the_admin_key_is_a_400(swarm):
    for name in ("TOLLWAY_ADMIN_KEY", "PATH", "AWS_SECRET_ACCESS_KEY"):
        resp = httpx.post(swarm.url("router") + "/register",
                          json={**echoing(swarm, "thief", "stolen", "openai", name, 400)})
        assert resp.status_code == 400, resp.text
        error = resp.json()["error"]
        assert error["field"] == "api_key_env" and "api_key_env" in error["message"]
        assert "TOLLWAY_PROVIDER_KEY_*" in error["message"] and "OPENAI_API_KEY" in error["message"]
    assert httpx.get(swarm.url("router") + "/providers/thief").status_code == 404
