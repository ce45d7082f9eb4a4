"""The command line's pure parts: where the services are, durations, provider files, exit codes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.cli.client import ApiError, Endpoints, UsageError
from services.cli.commands.cost import Metric, parse_since, series, window_for
from services.cli.commands.experiments import body_from, parse_arm
from services.cli.commands.providers import read_registrations
from services.cli.exits import Exit
from services.cli.main import main
from services.common.settings import Settings


def test_urls_come_from_flags_then_variables_then_ports(monkeypatch):
    for name in ("ROUTER_URL", "LEDGER_URL", "GATEWAY_URL", "ADMIN_KEY", "VIRTUAL_KEY"):
        monkeypatch.delenv(f"TOLLWAY_{name}", raising=False)
    monkeypatch.setenv("TOLLWAY_GATEWAY_PORT", "7001")
    monkeypatch.setenv("TOLLWAY_LEDGER_URL", "http://ledger-a:1/, http://ledger-b:2")
    monkeypatch.setenv("TOLLWAY_ADMIN_KEY", "from-env")
    ep = Endpoints.from_settings(Settings(), router_url="http://flag:9")
    assert ep.urls["router"] == "http://flag:9"
    assert ep.urls["gateway"] == "http://127.0.0.1:7001"
    assert ep.urls["ledger"] == "http://ledger-a:1"  # the first of the replicas
    assert ep.admin_key == "from-env" and ep.virtual_key == ""
    assert Endpoints.from_settings(Settings(), admin_key="flag").admin_key == "flag"


def test_durations():
    assert parse_since("30m") == timedelta(minutes=30)
    assert parse_since("2w") == timedelta(days=14)
    assert [window_for(parse_since(s)) for s in ("45m", "1h", "2h", "24h", "3d", "30d")] == [
        "minute", "minute", "hour", "hour", "day", "day"]
    for bad in ("0h", "soon", "5", "-1d"):
        with pytest.raises(UsageError, match="--since is a duration"):
            parse_since(bad)


def test_provider_files_hold_one_a_list_or_a_providers_key(tmp_path: Path):
    one = {"name": "a", "input_per_mtok": "0.10"}
    (tmp_path / "one.json").write_text(json.dumps(one))
    (tmp_path / "list.yaml").write_text("- name: a\n- name: b\n")
    (tmp_path / "wrapped.yml").write_text("providers:\n  - name: c\n")
    (tmp_path / "empty.yaml").write_text("[]\n")
    (tmp_path / "bad.json").write_text("{nope")
    assert read_registrations(tmp_path / "one.json") == [{"name": "a", "input_per_mtok": "0.10"}]
    assert [p["name"] for p in read_registrations(tmp_path / "list.yaml")] == ["a", "b"]
    assert [p["name"] for p in read_registrations(tmp_path / "wrapped.yml")] == ["c"]
    with pytest.raises(UsageError, match="holds no provider registration"):
        read_registrations(tmp_path / "empty.yaml")
    with pytest.raises(UsageError, match="neither JSON nor YAML"):
        read_registrations(tmp_path / "bad.json")
    with pytest.raises(UsageError, match="cannot read"):
        read_registrations(tmp_path / "missing.json")


def test_chart_series_keeps_money_exact():
    body = {"buckets": [{"start": "2026-12-02T05:00:00.000Z", "cost_usd": Decimal("0.000660"), "requests": 1,
                         "input_tokens": 6, "output_tokens": 20}]}
    assert series(body, Metric.cost) == [("2026-12-02T05:00:00.000Z", Decimal("0.000660"))]
    assert series(body, Metric.tokens)[0][1] == 26


def test_exit_codes_by_answer():
    assert ApiError("x", 404).exit_code == Exit.NOT_FOUND
    assert ApiError("x", 403).exit_code == ApiError("x", 401).exit_code == Exit.ACCESS
    assert ApiError("x", 402).exit_code == ApiError("x", 500).exit_code == Exit.FAILED


def test_usage_errors_exit_2_without_a_traceback(capsys):
    assert main(["providers", "register"]) == Exit.USAGE
    assert "Missing argument" in capsys.readouterr().err
    assert main(["cost", "summary", "--since", "later"]) == Exit.USAGE
    assert "--since is a duration" in capsys.readouterr().err
    assert main(["--help"]) == Exit.OK
    assert "Exit status" in capsys.readouterr().out


def test_an_arm_option_becomes_an_arm_of_the_contract():
    assert parse_arm("control:90:model=gpt-4") == {"name": "control", "percent": 90, "model": "gpt-4"}
    assert parse_arm("fast:12.5:strategy=latency,provider=p1") == {"name": "fast", "percent": 12.5,
                                                                   "strategy": "latency", "provider": "p1"}
    for bad, says in (("control:90", "--arm is NAME:PERCENT"), ("c:ninety:model=m", "'ninety' is not a number"),
                      ("c:90:region=eu", "'region=eu' is not one of"), ("c:90:model=", "'model=' is not one of")):
        with pytest.raises(UsageError, match=says):
            parse_arm(bad)


def test_an_experiment_body_takes_the_file_then_the_options(tmp_path: Path):
    path = tmp_path / "e.yaml"
    path.write_text("model: from-file\nsticky: true\narms:\n  - {name: a, provider: p, percent: 100}\n")
    assert body_from(path, [], None, None) == {"model": "from-file", "sticky": True,
                                               "arms": [{"name": "a", "provider": "p", "percent": 100}]}
    assert body_from(path, ["b:100:model=m"], "m", False) == {"model": "m", "sticky": False,
                                                              "arms": [{"name": "b", "percent": 100, "model": "m"}]}
    with pytest.raises(UsageError, match="needs arms"):
        body_from(None, [], "m", None)
    path.write_text("- just a list\n")
    with pytest.raises(UsageError, match="holds no experiment"):
        body_from(path, [], None, None)
