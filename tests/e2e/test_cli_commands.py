"""The `tollway` console script, run as a user runs it, against a real swarm guarded by an admin
key: human and --json output checked against the services' own APIs, and exit codes."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.e2e.cli_runner import ROOT, TOLLWAY, api, as_json, cli_env, tollway
from tests.e2e.conftest import running, wait_until
from tests.e2e.swarm import Swarm, free_port

ADMIN_KEY = "cli-admin-key"


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    # one delivery attempt: a notification to a receiver that is not there fails at once
    with running(Swarm(tmp_path_factory.mktemp("swarm"), admin_key=ADMIN_KEY,
                       extra_env={"TOLLWAY_ALERT_DELIVERY_ATTEMPTS": "1"})) as s:
        yield s


PROVIDERS_YAML = """\
providers:
  - name: cli-cheap
    model: cli-model
    context_window: 8192
    input_per_mtok: "10"
    output_per_mtok: "30"
    endpoint: {sim}
  - name: cli-dear
    model: cli-model
    context_window: 8192
    input_per_mtok: "20"
    output_per_mtok: "60"
    endpoint: {sim}
    features: [vision]
"""


@pytest.fixture(scope="module")
def registered(swarm: Swarm, tmp_path_factory) -> Swarm:
    path = tmp_path_factory.mktemp("providers") / "providers.yaml"
    path.write_text(PROVIDERS_YAML.format(sim=swarm.url("simulator")))
    done = tollway(swarm, "providers", "register", str(path))
    assert "registered cli-cheap" in done.stdout and "registered cli-dear" in done.stdout
    swarm.wait_for_model("cli-model")
    return swarm


def steady(provider: dict) -> dict:
    """A provider without its health, which the router's probes move on their own."""
    return {k: v for k, v in provider.items() if k != "health"}


def test_providers_list_and_show_equal_the_router(registered: Swarm):
    listed = as_json(tollway(registered, "providers", "list", "--json"))
    assert [steady(p) for p in listed["providers"]] == [steady(p) for p in api(registered, "router",
                                                                                  "/providers")["providers"]]
    assert {p["name"] for p in listed["providers"]} >= {"cli-cheap", "cli-dear"}
    human = tollway(registered, "providers", "list", "--model", "cli-model").stdout
    assert "cli-cheap" in human and "$10" in human and "$60" in human
    shown = as_json(tollway(registered, "providers", "show", "cli-dear", "--json"))
    assert steady(shown) == steady(api(registered, "router", "/providers/cli-dear"))
    assert shown["features"] == ["vision"]


def test_a_json_file_of_one_provider_registers_and_remove_deactivates_it(registered: Swarm, tmp_path: Path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"name": "cli-gone", "model": "cli-other", "context_window": 4096,
                                "input_per_mtok": "1", "output_per_mtok": "2",
                                "endpoint": registered.url("simulator")}))
    result = as_json(tollway(registered, "providers", "register", str(path), "--json"))
    assert result["results"][0]["name"] == "cli-gone" and result["results"][0]["created"] is True
    assert tollway(registered, "providers", "remove", "cli-gone").stdout.strip() == "removed cli-gone"
    assert api(registered, "router", "/providers/cli-gone")["active"] is False


def test_a_refused_registration_names_the_field_and_exits_1(registered: Swarm, tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "cli-bad", "model": "m", "context_window": -1, "endpoint": "http://x"}))
    done = tollway(registered, "providers", "register", str(path), code=1)
    assert "refused cli-bad" in done.stdout and "HTTP 400" in done.stdout


def test_chat_prints_the_answer_decision_and_the_ledgers_cost(registered: Swarm):
    answer = as_json(tollway(registered, "chat", "Hello there", "--model", "cli-model", "--run", "cli-chat",
                             "--json"))
    receipt = answer["receipt"]
    assert answer["decision"]["provider"] == "cli-cheap" == receipt["provider"]
    human = tollway(registered, "chat", "Hello again", "--model", "cli-model", "--run", "cli-chat").stdout
    assert "decision  cli-cheap (cli-model) by cost" in human
    assert "alternatives: cli-dear" in human
    wait_until(lambda: api(registered, "ledger", "/receipts/cli-chat")["count"] == 2, what="two receipts booked")
    booked = {r["request_id"]: r for r in api(registered, "ledger", "/receipts/cli-chat")["receipts"]}
    assert booked[receipt["request_id"]]["cost_usd"] == receipt["cost_usd"] > 0
    second = next(r for rid, r in booked.items() if rid != receipt["request_id"])
    assert f"cost      ${second['cost_usd']:.6f} for {second['input_tokens']} in" in human


def test_chat_streams_and_then_prints_the_receipts_cost(registered: Swarm):
    lines = tollway(registered, "chat", "Stream it", "--model", "cli-model", "--run", "cli-stream", "--stream",
                    "--json").stdout.splitlines()
    deltas = [json.loads(x)["delta"] for x in lines[:-1]]
    final = json.loads(lines[-1], parse_float=Decimal)
    assert deltas and "".join(deltas) == final["text"]
    booked = api(registered, "ledger", "/receipts/cli-stream")["receipts"]
    assert [r["request_id"] for r in booked] == [final["request_id"]]
    assert final["receipt"]["cost_usd"] == booked[0]["cost_usd"] and booked[0]["stream"] is True
    human = tollway(registered, "chat", "Stream again", "--model", "cli-model", "--run", "cli-stream",
                    "--stream").stdout
    assert "served by cli-cheap" in human and "cost      $" in human


def test_receipts_tail_and_show_equal_the_ledgers_book(registered: Swarm):
    for i in range(3):
        tollway(registered, "chat", f"receipt {i}", "--model", "cli-model", "--run", "cli-tail", "--json")
    wait_until(lambda: api(registered, "ledger", "/receipts/cli-tail")["count"] == 3, what="three receipts")
    book = api(registered, "ledger", "/receipts/cli-tail")
    tailed = [json.loads(x, parse_float=Decimal) for x in
              tollway(registered, "receipts", "tail", "--run", "cli-tail", "-n", "2", "--json").stdout.splitlines()]
    assert tailed == book["receipts"][-2:]
    human = tollway(registered, "receipts", "tail", "--run", "cli-tail").stdout
    assert f"run cli-tail: 3 receipts, ${book['total_cost_usd']:.6f}" in human
    wanted = book["receipts"][0]
    shown = as_json(tollway(registered, "receipts", "show", wanted["request_id"], "--json"))
    assert shown == wanted == api(registered, "ledger", f"/receipts/by-id/{wanted['request_id']}")
    human = tollway(registered, "receipts", "show", wanted["request_id"], "--run", "cli-tail").stdout
    assert f"receipt {wanted['request_id']}" in human and f"{wanted['cost_usd']}" in human
    other_run = tollway(registered, "receipts", "show", wanted["request_id"], "--run", "cli-chat", code=4)
    assert f"no receipt {wanted['request_id']} in run cli-chat" in other_run.stderr
    assert "has it in run cli-tail" in other_run.stderr
    from_files = as_json(tollway(registered, "receipts", "show", wanted["request_id"], "--local", "--json"))
    assert from_files["request_id"] == wanted["request_id"] and from_files["cost_usd"] == wanted["cost_usd"]
    missing = tollway(registered, "receipts", "show", "no-such-request", code=4)
    assert f"no receipt no-such-request in the ledger at {registered.url('ledger')}" in missing.stderr


def test_budget_set_list_check_and_remove(registered: Swarm):
    done = tollway(registered, "budget", "set", "team", "cli-team", "12.50", "--period", "monthly",
                   "--threshold", "50", "--threshold", "100")
    assert "team cli-team: budget $12.500000, spent $0.000000" in done.stdout
    stored = api(registered, "ledger", "/budgets/team/cli-team")
    assert stored["period"] == "monthly" and stored["thresholds"] == [50, 100]
    listed = as_json(tollway(registered, "budget", "list", "--json"))
    assert listed == api(registered, "ledger", "/budgets", scope="all")
    mine = next(b for b in listed if b["scope_id"] == "cli-team")
    assert mine["budget_usd"] == Decimal("12.500000")
    checked = as_json(tollway(registered, "budget", "check", "--at", "0", "--json", code=6))
    assert "cli-team" in {b["scope_id"] for b in checked["budgets"]}
    assert "no budget is at 100 % or more" in tollway(registered, "budget", "check", "--at", "100").stdout
    tollway(registered, "budget", "remove", "team", "cli-team")
    assert "cli-team" not in {b["scope_id"] for b in api(registered, "ledger", "/budgets", scope="all")}
    bad = tollway(registered, "budget", "set", "team", "cli-team", "lots", code=2)
    assert "AMOUNT must be dollars" in bad.stderr


def test_keys_create_list_revoke_and_a_tenant_reads_only_its_own(registered: Swarm):
    key = as_json(tollway(registered, "keys", "create", "--name", "cli", "--org", "cli-org", "--json"))
    assert key["secret"] and key["org"] == "cli-org"
    listed = as_json(tollway(registered, "keys", "list", "--org", "cli-org", "--json"))
    assert listed == api(registered, "ledger", "/keys", org="cli-org")
    assert "secret" not in json.dumps(listed)
    # as the key's tenant: the chat is charged to it, and its receipts of another tenant's run are none
    tollway(registered, "--key", key["secret"], "chat", "mine", "--model", "cli-model", "--run", "cli-tenant")
    wait_until(lambda: api(registered, "ledger", "/receipts/cli-tenant")["count"] == 1, what="tenant receipt")
    own = as_json(tollway(registered, "--key", key["secret"], "receipts", "tail", "--run", "cli-tenant", "--json"))
    assert own["key_id"] == key["key_id"] and own["run_id"] == "cli-tenant"
    theirs = tollway(registered, "--key", key["secret"], "receipts", "tail", "--run", "cli-tail", "--json").stdout
    assert theirs.strip() == ""
    assert "revoked" in tollway(registered, "keys", "revoke", key["key_id"]).stdout
    assert api(registered, "ledger", f"/keys/{key['key_id']}")["active"] is False


def test_limits_set_list_usage_violations_remove(registered: Swarm):
    done = tollway(registered, "limits", "set", "cli-rpm", "team", "100", "--window", "60", "--match", "cli-t")
    assert "cli-rpm" in done.stdout
    listed = as_json(tollway(registered, "limits", "list", "--json"))
    assert listed == api(registered, "ledger", "/limits")
    assert any(x["name"] == "cli-rpm" and x["match"] == "cli-t" for x in listed["limits"])
    usage = as_json(tollway(registered, "limits", "usage", "--team", "cli-t", "--json"))
    assert usage["subject"] == {"team": "cli-t"}
    violations = as_json(tollway(registered, "limits", "violations", "--json"))
    assert violations["day"] == api(registered, "gateway", "/admin/limits/violations")["day"]
    tollway(registered, "limits", "remove", "cli-rpm", "team", "--match", "cli-t")
    assert not any(x["name"] == "cli-rpm" for x in api(registered, "ledger", "/limits")["limits"])
    assert "say whose usage" in tollway(registered, "limits", "usage", code=2).stderr


def test_cache_stats_and_clear(registered: Swarm):
    stats = as_json(tollway(registered, "cache", "stats", "--json"))
    assert set(stats) == set(api(registered, "gateway", "/admin/cache"))
    assert as_json(tollway(registered, "cache", "clear", "--all", "--json"))["all"] is True
    assert "say what to drop" in tollway(registered, "cache", "clear", code=2).stderr


def test_cost_summary_and_chart_equal_the_ledgers_windows(registered: Swarm):
    tollway(registered, "chat", "cost me", "--model", "cli-model", "--run", "cli-cost")
    wait_until(lambda: api(registered, "ledger", "/receipts/cli-cost")["count"] == 1, what="cost receipt")
    summary = as_json(tollway(registered, "cost", "summary", "--since", "24h", "--json"))
    hour = api(registered, "ledger", "/metrics", window="hour")
    # the ledger's /analytics/breakdown by provider: the same spend as its hourly window
    assert summary["group_by"] == ["provider"]
    assert {g["group"]["provider"]: Decimal(g["cost_usd"]) for g in summary["groups"]} == {
        p: t["cost_usd"] for p, t in hour["by_provider"].items()}
    by_run = as_json(tollway(registered, "cost", "summary", "--by", "run", "--json"))
    assert {g["group"]["run"]: Decimal(g["cost_usd"]) for g in by_run["groups"]}["cli-cost"] == api(
        registered, "ledger", "/receipts/cli-cost")["total_cost_usd"]
    human = tollway(registered, "cost", "summary").stdout
    assert "cli-cheap" in human and f"${hour['totals']['cost_usd']:.6f}" in human
    chart = as_json(tollway(registered, "cost", "chart", "--window", "hour", "--json"))
    assert [p["value"] for p in chart["points"]] == [b["cost_usd"] for b in hour["buckets"]]
    assert "cost per hour ($), total $" in tollway(registered, "cost", "chart").stdout
    assert "--since is a duration" in tollway(registered, "cost", "summary", "--since", "soon", code=2).stderr


def test_monitor_shows_rates_providers_and_budgets(registered: Swarm):
    tollway(registered, "budget", "set", "run", "cli-mon", "0.000001")
    snap = as_json(tollway(registered, "monitor", "--json"))
    assert {"cli-cheap", "cli-dear"} <= {p["provider"] for p in snap["providers"]}
    assert "cli-mon" in {b["scope_id"] for b in snap["budgets_near_cap"]} or snap["budgets_near_cap"] == []
    assert snap["problems"] == [] and snap["quality_source"] == "ledger"  # /analytics/series
    minute = api(registered, "ledger", "/metrics", window="minute")["buckets"][-2]
    if snap["minute"] == minute["start"]:
        assert snap["usd_per_min"] == minute["cost_usd"]
    human = tollway(registered, "monitor").stdout
    assert "req/s" in human and "cli-cheap" in human and "tokens/min" in human


def test_dashboard_names_the_ledgers_page(registered: Swarm):
    url = as_json(tollway(registered, "dashboard", "--json"))["url"]
    assert url == registered.url("ledger") + "/dashboard"
    assert "<title>Tollway dashboard</title>" in httpx.get(url, follow_redirects=True).text


def test_a_stopped_service_is_named_with_its_address_and_how_to_start_it(registered: Swarm):
    port = free_port()
    done = tollway(registered, "--router-url", f"http://127.0.0.1:{port}", "providers", "list", code=3)
    assert f"the router does not answer at http://127.0.0.1:{port}" in done.stderr
    assert "tollway up" in done.stderr and done.stdout == ""
    env = cli_env(registered, TOLLWAY_LEDGER_URL=f"http://127.0.0.1:{port}")
    assert f"the ledger does not answer at http://127.0.0.1:{port}" in tollway(
        registered, "budget", "list", env=env, code=3).stderr
    snap = as_json(tollway(registered, "monitor", "--json", env=env, code=3))
    assert any("the ledger does not answer" in p for p in snap["problems"]) and snap["providers"]


def test_a_wrong_admin_key_exits_5_and_an_unknown_name_exits_4(registered: Swarm):
    done = tollway(registered, "--admin-key", "wrong", "keys", "list", code=5)
    assert "HTTP 403" in done.stderr
    assert "no provider named 'nope'" in tollway(registered, "providers", "show", "nope", code=4).stderr
    assert tollway(registered, "providers", "nope", code=2).returncode == 2


def test_status_reports_each_service(registered: Swarm):
    env = cli_env(registered, TOLLWAY_NO_SIMULATOR="1")
    states = as_json(tollway(registered, "status", "--json", env=env))["services"]
    assert [s["service"] for s in states] == ["router", "ledger", "gateway"]
    assert all(s["healthy"] for s in states)
    assert {s["service"]: s["pid"] for s in states} == {n: registered.procs[n].pid for n in ("router", "ledger",
                                                                                             "gateway")}


def test_alerts_list_rules_ack_and_monitor_show_a_firing_alert(registered: Swarm):
    tollway(registered, "chat", "count me", "--model", "cli-model", "--run", "cli-alert")
    wait_until(lambda: api(registered, "ledger", "/receipts/cli-alert")["count"] == 1, what="alert receipt")
    admin = {"headers": registered.admin, "timeout": 10}
    rule = {"rule_id": "cli-requests", "name": "CLI requests", "metric": "requests", "operator": ">=",
            "threshold": "1", "window": "1h", "severity": "warning"}
    assert httpx.post(registered.url("ledger") + "/alerts/rules", json=rule, **admin).status_code == 201
    fired = httpx.post(registered.url("ledger") + "/alerts/evaluate", **admin).json()["fired"]
    assert len(fired) == 1
    rules = as_json(tollway(registered, "alerts", "rules", "--json"))
    assert rules == api(registered, "ledger", "/alerts/rules")
    assert as_json(tollway(registered, "alerts", "rules", "--json", "list")) == rules  # the group's flag counts
    assert "cli-requests" in tollway(registered, "alerts", "rules").stdout
    listed = as_json(tollway(registered, "alerts", "list", "--state", "firing", "--json"))
    assert listed == api(registered, "ledger", "/alerts", state="firing")
    assert [a["alert_id"] for a in listed] == fired
    snap = as_json(tollway(registered, "monitor", "--json"))
    assert [a["alert_id"] for a in snap["alerts_firing"]] == fired
    assert "alerts firing" in tollway(registered, "monitor").stdout
    acked = as_json(tollway(registered, "alerts", "ack", fired[0], "--note", "on it", "--json"))
    assert acked["state"] == "acknowledged" and acked["history"][-1]["note"] == "on it"
    assert "no alert nope" in tollway(registered, "alerts", "ack", "nope", code=4).stderr


def test_receipts_tail_follow_prints_each_new_receipt_once(registered: Swarm):
    """Whether a receipt is booked before the follower reads the book, while it connects to the
    ledger's /events or after, it is printed once, in order."""
    proc = subprocess.Popen([TOLLWAY, "receipts", "tail", "--run", "cli-follow", "--follow", "--json"],
                            env=cli_env(registered), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    try:
        for i in range(3):
            answer = as_json(tollway(registered, "chat", f"follow {i}", "--model", "cli-model", "--run",
                                     "cli-follow", "--json"))
            followed = json.loads(proc.stdout.readline(), parse_float=Decimal)  # the test's timeout bounds it
            assert followed["request_id"] == answer["receipt"]["request_id"]
            assert followed["cost_usd"] == answer["receipt"]["cost_usd"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_monitor_watch_prints_a_snapshot_per_refresh(registered: Swarm):
    proc = subprocess.Popen([TOLLWAY, "monitor", "--watch", "--interval", "0.5", "--json"], env=cli_env(registered),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        first, second = (json.loads(proc.stdout.readline()) for _ in range(2))
        assert {p["provider"] for p in first["providers"]} == {p["provider"] for p in second["providers"]}
        assert first["problems"] == second["problems"] == []
    finally:
        proc.terminate()
        proc.wait(10)


def test_alerts_rules_and_channels_are_managed_and_deliveries_and_evaluate_are_read(registered: Swarm):
    tollway(registered, "chat", "alert me", "--model", "cli-model", "--run", "cli-rules")
    wait_until(lambda: api(registered, "ledger", "/receipts/cli-rules")["count"] == 1, what="rules receipt")
    dead = f"http://127.0.0.1:{free_port()}/hook"
    channel = as_json(tollway(registered, "alerts", "channels", "create", "cli-hook", "--kind", "webhook",
                              "--url", dead, "--secret", "a-long-secret-of-cli-tests", "--event", "summary",
                              "--json"))
    assert channel["secret"].startswith("****") and "a-long-secret" not in json.dumps(channel)
    listed = as_json(tollway(registered, "alerts", "channels", "list", "--json"))
    assert listed == api(registered, "ledger", "/alerts/channels")
    assert "cli-hook" in {c["channel_id"] for c in listed}
    assert "cli-hook" in tollway(registered, "alerts", "channels").stdout
    made = as_json(tollway(registered, "alerts", "rules", "create", "cli-run-requests", "--name", "CLI run",
                           "--metric", "requests", "--operator", ">=", "--threshold", "5", "--window", "1h",
                           "--filter", "run_id=cli-rules", "--channel", "cli-hook", "--json"))
    assert made == api(registered, "ledger", "/alerts/rules/cli-run-requests")
    assert made["filters"] == {"run_id": "cli-rules"} and made["channels"] == ["cli-hook"]
    again = tollway(registered, "alerts", "rules", "create", "cli-run-requests", "--metric", "requests",
                    "--operator", ">=", "--threshold", "5", "--window", "1h", code=1)
    assert "exists" in again.stderr and "HTTP 409" in again.stderr
    quiet = as_json(tollway(registered, "alerts", "evaluate", "--json"))
    assert Decimal(quiet["values"]["cli-run-requests"]) == 1 and quiet["fired"] == []
    human = tollway(registered, "alerts", "rules", "update", "cli-run-requests", "--threshold", "1").stdout
    assert "updated rule cli-run-requests" in human
    updated = api(registered, "ledger", "/alerts/rules/cli-run-requests")
    assert Decimal(updated["threshold"]) == 1 and updated["filters"] == {"run_id": "cli-rules"}
    evaluated = tollway(registered, "alerts", "evaluate").stdout
    fired = [a for a in api(registered, "ledger", "/alerts", rule_id="cli-run-requests")]
    assert len(fired) == 1 and f"fired: {fired[0]['alert_id']}" in evaluated
    ours = {"channel_id": "cli-hook", "subject": fired[0]["alert_id"], "kind": "alert.firing"}
    wait_until(lambda: any(ours.items() <= d.items() for d in api(registered, "ledger", "/alerts/deliveries",
                                                                   status="failed")), what="failed delivery")
    failed = as_json(tollway(registered, "alerts", "deliveries", "--failed", "--json"))
    assert failed == api(registered, "ledger", "/alerts/deliveries", status="failed")
    assert any(ours.items() <= d.items() and d["last_error"] for d in failed)
    everything = as_json(tollway(registered, "alerts", "deliveries", "--json"))
    assert everything == api(registered, "ledger", "/alerts/deliveries")
    assert "failed" in tollway(registered, "alerts", "deliveries", "--failed").stdout
    assert "deleted rule cli-run-requests" in tollway(registered, "alerts", "rules", "delete",
                                                      "cli-run-requests").stdout
    assert "cli-run-requests" not in {r["rule_id"] for r in api(registered, "ledger", "/alerts/rules")}
    assert "no rule cli-run-requests" in tollway(registered, "alerts", "rules", "delete", "cli-run-requests",
                                                 code=4).stderr
    assert as_json(tollway(registered, "alerts", "channels", "delete", "cli-hook", "--json"))["deleted"] is True
    assert "say what to change" in tollway(registered, "alerts", "rules", "update", "x", code=2).stderr
    assert "NAME=VALUE" in tollway(registered, "alerts", "rules", "create", "x", "--filter", "oops", code=2).stderr


def test_limits_active_shows_a_full_bucket_and_reset_admits_its_caller_again(registered: Swarm):
    key = as_json(tollway(registered, "keys", "create", "--name", "cli-limited", "--json"))
    as_key = ("--key", key["secret"])
    tollway(registered, "limits", "set", "cli-reset-rph", "key", "2", "--window", "3600", "--algorithm",
            "sliding_log", "--match", key["key_id"])
    wait_until(lambda: any(x["name"] == "cli-reset-rph" for x in api(
        registered, "gateway", "/admin/limits/usage", key_id=key["key_id"])["limits"]), what="limit at the gateway")
    for i in range(2):
        tollway(registered, *as_key, "chat", f"limited {i}", "--model", "cli-model", "--run", "cli-limits")
    refused = tollway(registered, *as_key, "chat", "one too many", "--model", "cli-model", code=1)
    assert "rate_limited" in refused.stderr and "HTTP 429" in refused.stderr
    steady_fields = ("name", "dimension", "value", "key_id", "used", "remaining", "capacity")

    def mine(body: dict) -> list[dict]:
        return [{k: b.get(k) for k in steady_fields} for b in body["buckets"] if b.get("key_id") == key["key_id"]]

    active = as_json(tollway(registered, "limits", "active", "--near", "1", "--json"))
    assert mine(active) == mine(api(registered, "gateway", "/admin/limits/active", near="1"))
    assert mine(active) == [{"name": "cli-reset-rph", "dimension": "key", "value": key["key_id"],
                             "key_id": key["key_id"], "used": 2, "remaining": 0, "capacity": 2}]
    human = tollway(registered, "limits", "active", "--near", "1").stdout
    assert "cli-reset-rph" in human and key["key_id"] in human and "at 100% or more" in human
    reset = as_json(tollway(registered, "limits", "reset", "cli-reset-rph", "--key-id", key["key_id"], "--json"))
    assert reset["cleared"] == 1 and [x["name"] for x in reset["limits"]] == ["cli-reset-rph"]
    assert mine(api(registered, "gateway", "/admin/limits/active", near="1")) == []
    tollway(registered, *as_key, "chat", "admitted again", "--model", "cli-model", "--run", "cli-limits")
    again = tollway(registered, "limits", "reset", "cli-reset-rph", "--key-id", key["key_id"]).stdout
    assert f"reset cli-reset-rph on key {key['key_id']}: 1 counters cleared" in again
    assert "no limit nope on key" in tollway(registered, "limits", "reset", "nope", "--key-id", key["key_id"],
                                             code=4).stderr
    assert "exactly one of" in tollway(registered, "limits", "reset", "--user", "a", "--team", "b", code=2).stderr
    tollway(registered, "limits", "remove", "cli-reset-rph", "key", "--match", key["key_id"])


EXPERIMENT_YAML = """\
providers:
  - {{name: cli-exp-a, model: cli-exp-model, context_window: 8192, input_per_mtok: "1", output_per_mtok: "2",
     endpoint: "{sim}"}}
  - {{name: cli-exp-b, model: cli-exp-model, context_window: 8192, input_per_mtok: "3", output_per_mtok: "4",
     endpoint: "{sim}"}}
"""


def test_experiments_report_equals_the_ledgers_report(registered: Swarm, tmp_path: Path):
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT_YAML.format(sim=registered.url("simulator")))
    tollway(registered, "providers", "register", str(path))
    registered.wait_for_model("cli-exp-model")
    experiment = {"model": "cli-exp-model", "arms": [{"name": "arm-a", "provider": "cli-exp-a", "percent": 50},
                                                     {"name": "arm-b", "provider": "cli-exp-b", "percent": 50}]}
    put = httpx.put(registered.url("router") + "/routing/experiments/cli-exp", json=experiment,
                    headers=registered.admin, timeout=10)
    assert put.status_code == 201, put.text

    answered = []  # receipts the gateway answered with an experiment arm on them

    def chat_in_experiment() -> bool:
        answer = as_json(tollway(registered, "chat", "which arm", "--model", "cli-exp-model", "--run", "cli-exp",
                                 "--json"))
        if "experiment" in answer["receipt"]:
            answered.append(answer["receipt"])
        return "experiment" in answer["receipt"]

    wait_until(chat_in_experiment, what="the gateway routing by the experiment")
    for _ in range(3):
        assert chat_in_experiment()

    def tagged() -> list[dict]:
        return [r for r in api(registered, "ledger", "/receipts/cli-exp")["receipts"] if "experiment" in r]

    # receipts reach the ledger a shipping interval after their answers: wait for every one of them
    wait_until(lambda: len(tagged()) == len(answered), what="every tagged receipt at the ledger")
    booked = tagged()
    path_ = "/routing/experiments/cli-exp/report"
    wait_until(lambda: api(registered, "ledger", path_)["requests"] == len(booked) >= 4, what="every receipt")
    reported = as_json(tollway(registered, "experiments", "report", "cli-exp", "--json"))
    assert reported == api(registered, "ledger", path_)
    assert sum(a["requests"] for a in reported["arms"].values()) == len(booked)
    arm = next(iter(reported["arms"]))
    against = as_json(tollway(registered, "experiments", "report", "cli-exp", "--baseline", arm, "--json"))
    assert against["baseline"] == arm == api(registered, "ledger", path_, baseline=arm)["baseline"]
    human = tollway(registered, "experiments", "report", "cli-exp").stdout
    assert f"experiment cli-exp: {len(booked)} requests" in human and f"verdict: {reported['verdict']}" in human
    assert "no receipt names experiment cli-nope" in tollway(registered, "experiments", "report", "cli-nope",
                                                          code=4).stderr


def test_catalog_lists_and_looks_up_as_the_router_does(registered: Swarm):
    everything = as_json(tollway(registered, "catalog", "--json"))
    assert everything == api(registered, "router", "/catalog") and everything["count"] > 0
    one = as_json(tollway(registered, "catalog", "gpt-4o-mini", "--json"))
    assert one == api(registered, "router", "/catalog", model="gpt-4o-mini")
    human = tollway(registered, "catalog", "gpt-4o-mini").stdout
    assert f"gpt-4o-mini: {one['match']} match, {one['model']['key']}" in human
    assert one["model"]["input_per_mtok"] in human
    deepseek = as_json(tollway(registered, "catalog", "--provider", "deepseek", "--json"))
    assert deepseek == api(registered, "router", "/catalog", provider="deepseek")
    assert {m["provider"] for m in deepseek["models"]} == {"deepseek"}
    assert f"{everything['count']} models in catalog" in tollway(registered, "catalog").stdout
    assert "not in the price catalog" in tollway(registered, "catalog", "no-such-model-cli", code=4).stderr


def test_cost_projection_anomalies_and_advice_equal_the_ledgers_answers(registered: Swarm):
    tollway(registered, "chat", "advise me", "--model", "cli-model", "--run", "cli-advice")
    wait_until(lambda: api(registered, "ledger", "/receipts/cli-advice")["count"] == 1, what="advice receipt")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    since, until = ((hour - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"), hour.strftime("%Y-%m-%dT%H:%M:%SZ"))
    projected = as_json(tollway(registered, "cost", "projection", "--horizon", "week", "--until", until,
                                "--filter", "run=cli-advice", "--json"))
    assert projected == api(registered, "ledger", "/analytics/projection", horizon="week", until=until,
                            run="cli-advice")
    assert projected["projection"] is None and projected["filters"] == {"run": ["cli-advice"]}
    human = tollway(registered, "cost", "projection", "--until", until).stdout
    assert "no projection for the next month: fewer than" in human
    spikes = as_json(tollway(registered, "cost", "anomalies", "--since", since, "--until", until, "--json"))
    assert spikes == api(registered, "ledger", "/analytics/anomalies", since=since, until=until)
    assert spikes["hours_examined"] == 6
    human = tollway(registered, "cost", "anomalies", "--since", since, "--until", until, "--metric",
                    "error_rate").stdout
    assert "anomalies in 6 hours (error_rate, against" in human
    advice = as_json(tollway(registered, "cost", "advice", "--since", since, "--until", until, "--json"))
    assert advice == api(registered, "ledger", "/analytics/recommendations", since=since, until=until)
    assert advice["receipts_read"] >= 1
    human = tollway(registered, "cost", "advice", "--since", since, "--until", until).stdout
    assert f"recommendations from {advice['receipts_read']} receipts" in human
    for r in advice["recommendations"]:
        assert r["kind"] in human
    bad = tollway(registered, "cost", "advice", "--filter", "tag=x:y", code=1)
    assert "HTTP 400" in bad.stderr
    assert "--filter is NAME=VALUE" in tollway(registered, "cost", "advice", "--filter", "team", code=2).stderr
