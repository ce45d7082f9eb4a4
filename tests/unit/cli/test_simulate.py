"""`tollway simulate`: the sample workload replays through every strategy, reproducibly; cost
routing is never dearer than the premium baseline; latency routing learns from its own
outcomes; a receipts file is a workload too."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from services.cli.main import main
from services.cli.whatif.profiles import Profile
from services.cli.whatif.replay import World, replay
from services.cli.whatif.workload import from_receipts, synthetic
from services.common.selection.observed import Observed
from tests.unit.common.selection.fleet import provider as registered

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "routing"


def provider(name: str, **extra):
    """A provider that can take any request of the synthetic workload."""
    return registered(name, context_window=200_000, features=("vision", "function_calling"), **extra)


def rows(text: str) -> dict[str, list[str]]:
    table = text.split("\n\n")[1].splitlines()[2:]
    return {line.split()[0]: line.split() for line in table}


def test_the_sample_run_prints_every_strategy_and_is_reproducible(capsys):
    argv = ["simulate", "--providers", str(EXAMPLES / "providers.json"), "--requests", "300", "--seed", "3"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    main(argv)
    assert capsys.readouterr().out == first
    table = rows(first)
    assert set(table) == {"premium", "random", "cost", "latency", "balanced", "capability", "round_robin",
                          "least_busy", "failover", "region", "smart"}
    cost = {name: float(r[1]) for name, r in table.items()}
    assert cost["cost"] == min(cost.values()) < cost["premium"]
    assert table["premium"][2] == "+0.0%" and table["cost"][2].startswith("-")
    p95 = {name: float(r[4]) for name, r in table.items()}
    assert p95["latency"] < p95["premium"]


def test_latency_routing_learns_that_a_provider_is_slower_than_its_slo():
    liar = provider("liar", latency_ms=100, inp="1")  # claims 100 ms, answers in ~3 s
    honest = provider("honest", latency_ms=800, inp="1")
    world = World((liar, honest), {"liar": Profile(3000, 4000, None, 0.0), "honest": Profile(700, 800, None, 0.0)},
                  observed=Observed(min_samples=20))
    result = replay("latency", synthetic(400, seed=1, model="gpt-4"), world, seed=1, publish_every=10)
    # the SLO prior sends the first requests to the liar; the observations move the rest away
    assert 20 <= result.served_by["liar"] <= 60
    assert result.served_by["honest"] >= 340


def test_errors_fall_back_and_count_only_when_every_attempt_fails():
    a, b = provider("a", inp="1"), provider("b", inp="2")
    world = World((a, b), {"a": Profile(100, 200, None, 1.0), "b": Profile(100, 200, None, 0.0)})
    result = replay("cost", synthetic(50, seed=2, model="gpt-4"), world, seed=2)
    assert result.errors == 0 and result.fallbacks == 50 and result.served_by == {"b": 50}
    world = World((a,), {"a": Profile(100, 200, None, 1.0)})
    assert replay("cost", synthetic(50, seed=2, model="gpt-4"), world, seed=2).errors == 50


def test_a_receipts_file_is_a_workload(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps({"input_tokens": 100 * i, "output_tokens": 10 * i, "user": f"u{i}"})
                              for i in range(1, 6)) + "\n\n")
    jobs = from_receipts(path)
    assert [(j.input_tokens, j.output_tokens, j.key) for j in jobs][:2] == [(100, 10, "u1"), (200, 20, "u2")]
    assert len(jobs) == 5


def test_an_unknown_strategy_is_refused(capsys):
    with pytest.raises(SystemExit, match="unknown strategy 'cheapest'"):
        main(["simulate", "--providers", str(EXAMPLES / "providers.json"), "--strategies", "cheapest"])


def test_a_receipts_workload_is_charged_its_prompt_cache_reads_and_writes(tmp_path: Path):
    path = tmp_path / "cached.jsonl"
    path.write_text(json.dumps({"input_tokens": 1_000_000, "output_tokens": 1000, "user": "u",
                                "cache_read_input_tokens": 800_000, "cache_creation_input_tokens": 100_000}) + "\n")
    [job] = from_receipts(path, model="gpt-4")
    assert (job.cache_read_input_tokens, job.cache_creation_input_tokens) == (800_000, 100_000)
    cached = registered("cached", inp="3", out="15", context_window=2_000_000, cache_read_per_mtok="0.30",
                        cache_write_per_mtok="3.75")
    world = World((cached,), {"cached": Profile(100, 200, None, 0.0)})
    result = replay("cost", [job], world, seed=1)
    assert result.served_by == {"cached": 1}
    # 100,000 x $3 + 800,000 x $0.30 + 100,000 x $3.75 per Mtok in, 1,000 x $15 per Mtok out
    assert result.cost == Decimal("0.930000")


def test_a_receipts_workload_keeps_its_one_hour_writes_and_charges_their_price(tmp_path: Path):
    path = tmp_path / "cached-1h.jsonl"
    path.write_text(json.dumps({"input_tokens": 1_000_000, "output_tokens": 1000, "user": "u",
                                "cache_read_input_tokens": 800_000, "cache_creation_input_tokens": 100_000,
                                "cache_creation_1h_input_tokens": 40_000}) + "\n")
    [job] = from_receipts(path, model="gpt-4")
    assert job.cache_creation_1h_input_tokens == 40_000
    cached = registered("cached", inp="3", out="15", context_window=2_000_000, cache_read_per_mtok="0.30",
                        cache_write_per_mtok="3.75", cache_write_1h_per_mtok="6")
    result = replay("cost", [job], World((cached,), {"cached": Profile(100, 200, None, 0.0)}), seed=1)
    # 100,000 x $3 + 800,000 x $0.30 + 60,000 x $3.75 + 40,000 x $6 per Mtok in, 1,000 x $15 per Mtok out
    assert result.cost == Decimal("1.020000")
