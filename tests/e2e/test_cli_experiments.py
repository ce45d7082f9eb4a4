"""`tollway experiments create|list|show|stop|report` run as a user runs it, against a real swarm
guarded by an admin key: what the command writes is what the router then holds and routes by, a
stopped experiment no longer tags receipts, and the report is the ledger's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.cli_runner import api, as_json, tollway
from tests.e2e.conftest import running, wait_until
from tests.e2e.swarm import Swarm, free_port

ADMIN_KEY = "cli-exp-admin-key"
MODEL = "exp-model"
PATH = "/routing/experiments"


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    with running(Swarm(tmp_path_factory.mktemp("swarm"), admin_key=ADMIN_KEY)) as s:
        for name, price in (("exp-a", "1"), ("exp-b", "3")):
            resp = httpx.post(s.url("router") + "/register", headers=s.admin, timeout=10, json={
                "name": name, "model": MODEL, "context_window": 8192, "input_per_mtok": price,
                "output_per_mtok": price, "endpoint": s.url("simulator")})
            assert resp.status_code in (200, 201), resp.text
        s.wait_for_model(MODEL)
        yield s


def route(swarm: Swarm, run: str) -> dict:
    """One request through the gateway's POST /route; its receipt."""
    resp = httpx.post(swarm.url("gateway") + "/route", timeout=10, json={
        "payload": {"model": MODEL, "messages": [{"role": "user", "content": "which arm"}], "max_tokens": 8},
        "requirements": {"model": MODEL}, "run_id": run})
    assert resp.status_code == 200, resp.text
    return resp.json()["receipt"]


def entry(swarm: Swarm, name: str) -> httpx.Response:
    return httpx.get(swarm.url("router") + f"{PATH}/{name}", timeout=10)


def test_create_list_show_route_stop_and_report(swarm: Swarm):
    done = tollway(swarm, "experiments", "create", "price-trial", "--model", MODEL, "--sticky",
                   "--arm", "cheap:50:provider=exp-a", "--arm", "dear:50:provider=exp-b")
    assert done.stdout.startswith("created experiment price-trial: cheap 50% provider=exp-a;"
                                  " dear 50% provider=exp-b for exp-model")
    held = entry(swarm, "price-trial").json()
    assert held == {"model": MODEL, "sticky": True, "arms": [{"name": "cheap", "percent": 50, "provider": "exp-a"},
                                                            {"name": "dear", "percent": 50, "provider": "exp-b"}]}

    listed = as_json(tollway(swarm, "experiments", "list", "--json"))
    assert listed == api(swarm, "router", PATH) and listed["price-trial"] == held
    human = tollway(swarm, "experiments", "list").stdout
    assert "price-trial" in human and "running" in human and "cheap 50% provider=exp-a" in human
    assert as_json(tollway(swarm, "experiments", "show", "price-trial", "--json")) == held
    shown = tollway(swarm, "experiments", "show", "price-trial").stdout
    assert "experiment price-trial: running, sticky, every request for exp-model" in shown and "dear" in shown

    # the gateway follows the router: receipts name the experiment and an arm that served them
    wait_until(lambda: "experiment" in route(swarm, "exp-run"), what="the gateway routing by the experiment")
    for _ in range(5):
        receipt = route(swarm, "exp-run")
        arm = {"cheap": "exp-a", "dear": "exp-b"}[receipt["experiment"]["arm"]]
        assert receipt["experiment"]["name"] == "price-trial" and receipt["provider"] == arm

    stopped = tollway(swarm, "experiments", "stop", "price-trial").stdout
    assert stopped.startswith("stopped experiment price-trial") and "experiments report price-trial" in stopped
    assert entry(swarm, "price-trial").json() == {**held, "enabled": False}
    assert "stopped" in tollway(swarm, "experiments", "list").stdout
    assert "was already stopped" in tollway(swarm, "experiments", "stop", "price-trial").stdout
    wait_until(lambda: "experiment" not in route(swarm, "exp-after"), what="the gateway leaving the experiment")
    assert all("experiment" not in route(swarm, "exp-after") for _ in range(3))

    booked = [r for r in api(swarm, "ledger", "/receipts/exp-run")["receipts"] if "experiment" in r]
    report_path = f"{PATH}/price-trial/report"
    wait_until(lambda: api(swarm, "ledger", report_path)["requests"] == len(booked) >= 6, what="every receipt")
    reported = as_json(tollway(swarm, "experiments", "report", "price-trial", "--json"))
    assert reported == api(swarm, "ledger", report_path)
    assert sum(a["requests"] for a in reported["arms"].values()) == len(booked)

    deleted = tollway(swarm, "experiments", "stop", "price-trial", "--delete").stdout
    assert deleted.startswith("deleted experiment price-trial")
    assert entry(swarm, "price-trial").status_code == 404
    assert "price-trial" not in as_json(tollway(swarm, "experiments", "list", "--json"))
    assert as_json(tollway(swarm, "experiments", "report", "price-trial", "--json"))["requests"] == len(booked)


def test_a_file_of_strategy_arms_creates_and_replace_is_needed_to_overwrite(swarm: Swarm, tmp_path: Path):
    path = tmp_path / "split.yaml"
    path.write_text("arms:\n  - {name: control, strategy: cost, percent: 90}\n"
                    "  - {name: fast, strategy: latency, percent: 10}\n")
    created = as_json(tollway(swarm, "experiments", "create", "swarm-split", "--file", str(path), "--json"))
    assert created["created"] is True and created["entry"]["arms"][1] == {"name": "fast", "strategy": "latency",
                                                                          "percent": 10}
    assert created["version"] == api(swarm, "router", "/routing")["version"]
    again = tollway(swarm, "experiments", "create", "swarm-split", "--file", str(path), code=1)
    assert "an experiment named swarm-split exists already" in again.stderr and "--replace" in again.stderr
    replaced = tollway(swarm, "experiments", "create", "swarm-split", "--file", str(path), "--model", MODEL,
                       "--replace").stdout
    assert replaced.startswith("replaced experiment swarm-split") and entry(swarm, "swarm-split").json()["model"] \
        == MODEL
    tollway(swarm, "experiments", "stop", "swarm-split", "--delete")


def test_refusals_name_what_is_wrong_with_the_exit_code_they_mean(swarm: Swarm):
    short = tollway(swarm, "experiments", "create", "short", "--arm", "a:50:provider=exp-a",
                    "--arm", "b:40:provider=exp-b", code=1)
    assert "arm percentages add up to 90, not 100" in short.stderr and "HTTP 400" in short.stderr
    assert entry(swarm, "short").status_code == 404
    bad_strategy = tollway(swarm, "experiments", "create", "ab-in-ab", "--arm", "a:100:strategy=ab", code=1)
    assert "strategy must be one of" in bad_strategy.stderr
    assert "--arm is NAME:PERCENT:TARGET=VALUE" in tollway(swarm, "experiments", "create", "x", "--arm", "a:50",
                                                          code=2).stderr
    assert "'region=eu' is not one of provider=..." in tollway(
        swarm, "experiments", "create", "x", "--arm", "a:100:region=eu", code=2).stderr
    assert "an experiment needs arms" in tollway(swarm, "experiments", "create", "x", code=2).stderr
    assert "no experiments entry named 'nope'" in tollway(swarm, "experiments", "show", "nope", code=4).stderr
    assert tollway(swarm, "experiments", "stop", "nope", code=4).returncode == 4
    wrong_key = tollway(swarm, "--admin-key", "wrong", "experiments", "create", "k", "--arm",
                        "a:100:provider=exp-a", code=5)
    assert "HTTP 403" in wrong_key.stderr and entry(swarm, "k").status_code == 404


def test_a_router_that_does_not_answer_is_named_with_its_address(swarm: Swarm):
    port = free_port()
    for args in (("list",), ("show", "x"), ("stop", "x"), ("create", "x", "--arm", "a:100:provider=exp-a")):
        done = tollway(swarm, "--router-url", f"http://127.0.0.1:{port}", "experiments", *args, code=3)
        assert done.stderr.strip().splitlines() == [
            f"tollway: the router does not answer at http://127.0.0.1:{port} (connection refused). Start the swarm"
            " with `tollway up` (or scripts/start_services.sh), or point at it with --router-url /"
            " TOLLWAY_ROUTER_URL."] and done.stdout == ""
