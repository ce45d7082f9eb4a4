"""The routing configuration: stored entries and their version, the YAML file read at start,
and the parsed model the selection uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.selection.config import RoutingConfig
from services.router.routing.config_file import RoutingFileError, read_routing_file
from services.router.store.routing_sqlite import SqliteRoutingStore

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "routing" / "routing.yaml"


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteRoutingStore(tmp_path / "routing.db")
    s.open()
    yield s
    s.close()


def test_entries_version_only_when_something_changes(store: SqliteRoutingStore):
    assert store.version() == 0 and store.config() == {"version": 0, "aliases": {}, "routes": {}, "rules": {},
                                                        "experiments": {}}
    assert store.put("aliases", "fam", {"models": ["a", "b"]}) == 1
    assert store.put("aliases", "fam", {"models": ["a", "b"]}) == 1  # the same body: no change
    assert store.put("aliases", "fam", {"models": ["a"]}) == 2
    assert store.delete("aliases", "nope") is None
    assert store.delete("aliases", "fam") == 3
    assert store.get("aliases", "fam") is None


def test_replace_makes_the_config_exactly_the_body(store: SqliteRoutingStore):
    store.put("aliases", "old", {"models": ["x"]})
    store.replace([("routes", "r", {"model": "m", "strategy": "latency"}), ("settings", "default_strategy", "latency")])
    config = store.config()
    assert config["aliases"] == {} and config["routes"] == {"r": {"model": "m", "strategy": "latency"}}
    assert config["default_strategy"] == "latency" and config["version"] == 2


def test_the_example_file_loads_and_parses(store: SqliteRoutingStore):
    store.put_many(read_routing_file(EXAMPLE))
    config = RoutingConfig.from_json(store.config())
    assert config.aliases and config.rules and config.experiments and config.routes
    assert config.version == 1


@pytest.mark.parametrize(("text", "message"), [
    ("aliases: [", "is not valid YAML"),
    ("- a\n- b\n", "must be an object"),
    ("aliases:\n  fam: {models: []}\n", "aliases.fam.models"),
    ("experiments:\n  e:\n    arms: [{name: a, provider: p, percent: 40}]\n", "add up to 40"),
    ("rules:\n  r: {prefer: [{provider: p}], when: {color: red}}\n", "rules.r.when"),
    ("default_strategy: cheapest\n", "default_strategy"),
])
def test_a_bad_file_stops_the_router_with_the_place_and_the_reason(tmp_path: Path, text, message):
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    with pytest.raises(RoutingFileError, match=message) as err:
        read_routing_file(path)
    assert str(path) in str(err.value)


def test_a_missing_file_says_so(tmp_path: Path):
    with pytest.raises(RoutingFileError, match="cannot read"):
        read_routing_file(tmp_path / "nope.yaml")


def test_an_empty_file_is_an_empty_config(tmp_path: Path):
    (tmp_path / "empty.yaml").write_text("")
    assert read_routing_file(tmp_path / "empty.yaml") == []
