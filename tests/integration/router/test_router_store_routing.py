"""The routing configuration on both backends: stored entries and their version; the YAML file
read at start, and the parsed model the selection uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.selection.config import RoutingConfig
from services.common.settings import Settings
from services.router.routing.config_file import RoutingFileError, read_routing_file
from services.router.store.base import RoutingStore
from services.router.store.factory import make_stores

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "routing" / "routing.yaml"


@pytest.fixture
async def store(router_settings: Settings) -> AsyncIterator[RoutingStore]:
    s = make_stores(router_settings).routing
    await s.open()
    yield s
    await s.close()


async def test_entries_version_only_when_something_changes(store: RoutingStore):
    assert await store.version() == 0
    assert await store.config() == {"version": 0, "aliases": {}, "routes": {}, "rules": {}, "experiments": {}}
    assert await store.put("aliases", "fam", {"models": ["a", "b"]}) == 1
    assert await store.put("aliases", "fam", {"models": ["a", "b"]}) == 1  # the same body: no change
    assert await store.put("aliases", "fam", {"models": ["a"]}) == 2
    assert await store.delete("aliases", "nope") is None
    assert await store.delete("aliases", "fam") == 3
    assert await store.get("aliases", "fam") is None


async def test_replace_makes_the_config_exactly_the_body(store: RoutingStore):
    await store.put("aliases", "old", {"models": ["x"]})
    await store.replace([("routes", "r", {"model": "m", "strategy": "latency"}),
                         ("settings", "default_strategy", "latency")])
    config = await store.config()
    assert config["aliases"] == {} and config["routes"] == {"r": {"model": "m", "strategy": "latency"}}
    assert config["default_strategy"] == "latency" and config["version"] == 2


async def test_the_example_file_loads_and_parses(store: RoutingStore):
    await store.put_many(read_routing_file(EXAMPLE))
    config = RoutingConfig.from_json(await store.config())
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
