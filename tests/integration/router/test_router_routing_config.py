"""The routing configuration through the router's API: CRUD per kind, whole-config PUT, clear
4xx on bad input, the YAML file at start, and every change in the registry snapshot at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import jsonschema
import pytest

from services.common import contracts
from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.router.app import create_app
from services.router.routing.config_file import RoutingFileError
from tests.integration.router.router_support import START, assert_error, provider, register, serving

RULE = {"when": {"requires": ["vision"]}, "prefer": [{"provider": "b", "weight": 2}]}
EXPERIMENT = {"model": "gpt-4", "sticky": True,
              "arms": [{"name": "control", "provider": "a", "percent": 50},
                       {"name": "treatment", "provider": "b", "percent": 50}]}


async def snapshot(client: httpx.AsyncClient) -> dict:
    resp = await client.get("/registry/snapshot")
    assert resp.status_code == 200
    body = resp.json()
    jsonschema.validate(body, contracts.schema("registry_snapshot"))
    return body


async def test_put_get_list_delete_an_entry_and_the_version_moves(client: httpx.AsyncClient):
    resp = await client.put("/routing/rules/vision", json=RULE)
    assert resp.status_code == 201, resp.text
    assert resp.json()["created"] is True and resp.json()["version"] == 1
    assert (await client.get("/routing/rules/vision")).json() == RULE
    resp = await client.put("/routing/rules/vision", json={**RULE, "order": 5})
    assert resp.status_code == 200 and resp.json()["created"] is False and resp.json()["version"] == 2
    assert (await client.get("/routing/rules")).json() == {"vision": {**RULE, "order": 5}}
    resp = await client.delete("/routing/rules/vision")
    assert resp.status_code == 200 and resp.json()["deleted"] is True
    assert_error(await client.get("/routing/rules/vision"), 404, field="name")
    assert_error(await client.delete("/routing/rules/vision"), 404, field="name")
    whole = (await client.get("/routing")).json()
    jsonschema.validate(whole, contracts.schema("routing_config"))
    assert whole["version"] == 3 and whole["rules"] == {}


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/routing/colours/x", {"models": ["a"]}, 404, "kind"),
    ("/routing/aliases/bad name!", {"models": ["a"]}, 400, "name"),
    ("/routing/aliases/fam", {"models": []}, 400, "models"),
    ("/routing/aliases/fam", {"models": ["a"], "extra": 1}, 400, None),
    ("/routing/routes/r", {"model": "m", "strategy": "cheapest"}, 400, "strategy"),
    ("/routing/rules/r", {"prefer": []}, 400, "prefer"),
    ("/routing/rules/r", {"prefer": [{"provider": "a", "weight": -1}]}, 400, "prefer.0.weight"),
    ("/routing/rules/r", {"when": {"max_tokens": {"min": 500, "max": 100}}, "prefer": [{"provider": "a"}]}, 400,
     "when.max_tokens"),
    ("/routing/rules/r", {"when": {"prompt_tokens": {}}, "prefer": [{"provider": "a"}]}, 400, "when.prompt_tokens"),
    ("/routing/rules/r", {"when": {"prompt_tokens": {"max": "lots"}}, "prefer": [{"provider": "a"}]}, 400,
     "when.prompt_tokens.max"),
    ("/routing/rules/r", {"when": {"max_tokens": {"min": -1}}, "prefer": [{"provider": "a"}]}, 400,
     "when.max_tokens.min"),
    ("/routing/experiments/e", {"arms": [{"name": "a", "provider": "x", "percent": 70}]}, 400, "arms"),
    ("/routing/experiments/e", {"arms": [{"name": "a", "percent": 100}]}, 400, "arms.0"),
])
async def test_bad_entries_are_clear_4xx(client: httpx.AsyncClient, path, body, status, field):
    err = assert_error(await client.put(path, json=body), status, field=field)
    assert err["type"] in ("invalid_request", "not_found")
    assert (await client.get("/routing")).json()["version"] == 0  # nothing stored


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient):
    assert_error(await client.put("/routing/aliases/fam", content=b"{nope"), 400)
    assert_error(await client.put("/routing/aliases/fam", content=b""), 400)
    assert_error(await client.put("/routing", content=b"[1]"), 400)


async def test_whole_config_put_replaces_everything(client: httpx.AsyncClient):
    await client.put("/routing/aliases/old", json={"models": ["x"]})
    resp = await client.put("/routing", json={"default_strategy": "latency", "rules": {"v": RULE},
                                              "experiments": {"e": EXPERIMENT}})
    assert resp.status_code == 200, resp.text
    config = (await client.get("/routing")).json()
    assert config["aliases"] == {} and config["default_strategy"] == "latency" and set(config["rules"]) == {"v"}
    err = assert_error(await client.put("/routing", json={"experiments": {"e": {
        "arms": [{"name": "a", "provider": "x", "percent": 10}]}}}), 400)
    assert err["field"] == "experiments.e.arms"


async def test_each_change_is_in_the_snapshot_and_wakes_the_long_poll(client: httpx.AsyncClient):
    await register(client, provider("a"))
    before = await snapshot(client)
    waiting = asyncio.create_task(client.get("/registry/snapshot", params={"after": before["version"], "wait": 10}))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await client.put("/routing/aliases/fam", json={"models": ["gpt-4"]})
    resp = await asyncio.wait_for(waiting, 2)
    after = resp.json()
    assert after["version"] == before["version"] + 1
    assert after["routing"]["aliases"] == {"fam": {"models": ["gpt-4"]}}


async def test_select_uses_the_configuration_at_once(client: httpx.AsyncClient):
    await register(client, provider("a", input_per_mtok="1"))
    await register(client, provider("b", input_per_mtok="9", features=("vision",)))
    await register(client, provider("c", model="gpt-4o", input_per_mtok="0.5"))
    await client.put("/routing/aliases/fam", json={"models": ["gpt-4", "gpt-4o"]})
    d = (await client.post("/select", json={"requirements": {"model": "fam"}})).json()
    assert d["provider"] == "c"
    await client.put("/routing/rules/always-b", json={"prefer": [{"provider": "b"}]})
    d = (await client.post("/select", json={"requirements": {"model": "fam"}})).json()
    jsonschema.validate(d, contracts.schema("routing_decision"))
    assert d["provider"] == "b" and d["rule"] == "always-b"


async def test_the_yaml_file_is_loaded_at_start(tmp_path: Path):
    path = tmp_path / "routing.yaml"
    path.write_text("aliases:\n  fam: {models: [gpt-4]}\nroutes:\n  r: {model: fam, strategy: latency}\n")
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, routing_config=path),
                     clock=FrozenClock(START))
    async with serving(app) as client:
        await register(client, provider("slow-cheap", input_per_mtok="1", latency_ms=3000))
        await register(client, provider("fast-dear", input_per_mtok="9", latency_ms=200))
        snap = await snapshot(client)
        assert snap["routing"]["aliases"] == {"fam": {"models": ["gpt-4"]}}
        d = (await client.post("/select", json={"requirements": {"model": "fam"}})).json()
        assert d["strategy"] == "latency" and d["provider"] == "fast-dear"
        # an API change survives; the file wins again for what it names at the next start
        await client.put("/routing/aliases/extra", json={"models": ["x"]})
        await client.put("/routing/aliases/fam", json={"models": ["y"]})
    async with serving(create_app(Settings(artifacts_dir=tmp_path, access_log=False, routing_config=path),
                                  clock=FrozenClock(START))) as client:
        aliases = (await client.get("/routing/aliases")).json()
        assert aliases == {"extra": {"models": ["x"]}, "fam": {"models": ["gpt-4"]}}


async def test_a_bad_yaml_file_stops_the_router(tmp_path: Path):
    path = tmp_path / "routing.yaml"
    path.write_text("routes:\n  r: {model: m, strategy: fastest}\n")
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, routing_config=path))
    with pytest.raises(RoutingFileError, match="routes.r.strategy"):
        async with serving(app):
            pass


async def test_an_alias_resolving_to_itself_through_others_is_a_400_naming_it_and_the_cycle(
        client: httpx.AsyncClient):
    assert (await client.put("/routing/aliases/fam-a", json={"models": ["fam-b", "gpt-4"]})).status_code == 201
    assert (await client.put("/routing/aliases/fam-b", json={"models": ["fam-c"]})).status_code == 201
    before = (await client.get("/routing")).json()
    err = assert_error(await client.put("/routing/aliases/fam-c", json={"models": ["gpt-4o", "fam-a"]}), 400,
                       field="models")
    assert "alias fam-c" in err["message"] and "fam-c -> fam-a -> fam-b -> fam-c" in err["message"]
    err = assert_error(await client.put("/routing/aliases/fam-b", json={"models": ["fam-a"]}), 400, field="models")
    assert "fam-b -> fam-a -> fam-b" in err["message"]
    assert (await client.get("/routing")).json() == before  # nothing stored, the version unmoved

    whole = {"aliases": {"x": {"models": ["y"]}, "y": {"models": ["z"]}, "z": {"models": ["x"]}}}
    err = assert_error(await client.put("/routing", json=whole), 400, field="aliases.x.models")
    assert "x -> y -> z -> x" in err["message"]
    assert (await client.get("/routing")).json() == before


async def test_an_alias_naming_the_model_of_its_own_name_or_a_chain_is_no_cycle(client: httpx.AsyncClient):
    """Aliases resolve one level at selection: a member with the alias's own name is that model."""
    assert (await client.put("/routing/aliases/gpt-4", json={"models": ["gpt-4", "gpt-4-0613"]})).status_code == 201
    chain = {"aliases": {"a": {"models": ["b"]}, "b": {"models": ["c", "b"]}, "c": {"models": ["gpt-4"]}}}
    assert (await client.put("/routing", json=chain)).status_code == 200


async def test_a_yaml_file_with_an_alias_cycle_stops_the_router(tmp_path: Path):
    path = tmp_path / "routing.yaml"
    path.write_text("aliases:\n  a: {models: [b]}\n  b: {models: [a]}\n")
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, routing_config=path))
    with pytest.raises(RoutingFileError, match=r"aliases\.a\.models.*a -> b -> a"):
        async with serving(app):
            pass


def _has_cycle(aliases: dict) -> bool:
    graph = {name: [m for m in entry["models"] if m in aliases and m != name] for name, entry in aliases.items()}

    def reaches(start: str, node: str, seen: set[str]) -> bool:
        return any(nxt == start or (nxt not in seen and reaches(start, nxt, seen | {nxt})) for nxt in graph[node])

    return any(reaches(name, name, {name}) for name in graph)


async def test_concurrent_alias_puts_never_store_a_cycle(client: httpx.AsyncClient):
    """Each pair alone is fine; together a cycle: the cycle check and the write take turns, so the
    second PUT of each pair is checked against the first and refused."""
    rounds = 12
    answers = await asyncio.gather(*[
        client.put(f"/routing/aliases/{name}", json={"models": [other, "gpt-4"]})
        for i in range(rounds) for name, other in ((f"p{i}", f"q{i}"), (f"q{i}", f"p{i}"))])
    codes = [r.status_code for r in answers]
    assert sorted(codes[2 * i] + codes[2 * i + 1] for i in range(rounds)) == [201 + 400] * rounds, codes
    aliases = (await client.get("/routing")).json()["aliases"]
    assert len(aliases) == rounds and not _has_cycle(aliases)
