"""The operator's limit endpoints and a key's own GET /v1/limits, on a gateway app with the
in-process limiter (no lifespan: keys are put in its directory, refusals made through its gate)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from services.common.errors import RateLimited
from services.common.settings import Settings
from services.gateway.app import create_app
from services.gateway.auth.directory import KeyDirectory
from services.gateway.limits.resolve import Subject
from services.gateway.pipeline import Pipeline

ADMIN = {"X-Admin-Key": "adm"}
GENERAL = [{"name": "team-rpm", "dimension": "team", "algorithm": "sliding_log", "limit": 100, "window_s": 3600},
           {"name": "ip-rpm", "dimension": "ip", "algorithm": "fixed_window", "limit": 1000, "window_s": 3600}]


def key(key_id: str, secret: str, user: str, rpm: int) -> dict[str, Any]:
    return {"key_id": key_id, "secret_hash": hashlib.sha256(secret.encode()).hexdigest(), "user": user,
            "team": "ml", "org": "acme", "models": None, "expires_at": None, "revoked": False,
            "limits": [{"name": "rpm", "algorithm": "sliding_log", "limit": rpm, "window_s": 3600,
                        "unit": "requests"}]}


def gateway(tmp_path: Path, *, require_keys: bool = True) -> tuple[TestClient, Pipeline]:
    settings = Settings(artifacts_dir=tmp_path, access_log=False, admin_key="adm", require_keys=require_keys,
                        rate_limits=json.dumps(GENERAL))
    app = create_app(settings)
    inner = app
    while not isinstance(inner, FastAPI):
        inner = inner.app
    pipeline: Pipeline = inner.state.pipeline
    pipeline.keys.value = KeyDirectory.from_snapshot({"version": 1, "keys": [
        key("key_a", "tw-a", "ann", 2), key("key_b", "tw-b", "bob", 5)]})
    return TestClient(app), pipeline


def spend(pipeline: Pipeline, key_id: str, times: int) -> int:
    """Requests through the pipeline's gate as `key_id` would make them; how many were refused."""
    record = next(k for k in pipeline.keys.value.by_hash.values() if k.key_id == key_id)
    subject = Subject(key=key_id, user=record.user, team=record.team, org=record.org, ip="testclient")

    async def go() -> int:
        refused = 0
        for _ in range(times):
            try:
                await pipeline.gate.admit(subject, record.specs, 1, pipeline.keys.value.limits)
            except RateLimited:
                refused += 1
        return refused

    return asyncio.run(go())


def test_a_key_reads_its_own_limits_and_never_another_keys(tmp_path: Path) -> None:
    client, pipeline = gateway(tmp_path)
    spend(pipeline, "key_a", 1)
    mine = client.get("/v1/limits", headers={"Authorization": "Bearer tw-a"})
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert (body["key_id"], body["user"], body["team"]) == ("key_a", "ann", "ml")
    by_name = {x["name"]: x for x in body["limits"]}
    assert sorted(by_name) == ["ip-rpm", "rpm", "team-rpm"]
    assert (by_name["rpm"]["limit"], by_name["rpm"]["used"], by_name["rpm"]["remaining"]) == (2, 1, 1)
    assert by_name["team-rpm"]["dimension"] == "team" and by_name["team-rpm"]["used"] == 1
    theirs = client.get("/v1/limits", headers={"x-api-key": "tw-b"}).json()
    assert theirs["key_id"] == "key_b" and "key_a" not in json.dumps(theirs)
    assert {x["name"]: x["used"] for x in theirs["limits"]}["rpm"] == 0  # b's own count, not a's
    # reading spends nothing
    again = client.get("/v1/limits", headers={"Authorization": "Bearer tw-a"}).json()
    assert {x["name"]: x["used"] for x in again["limits"]}["rpm"] == 1


def test_no_key_is_a_401_when_keys_are_required_else_the_anonymous_limits(tmp_path: Path) -> None:
    client, _ = gateway(tmp_path)
    assert client.get("/v1/limits").status_code == 401
    assert client.get("/v1/limits", headers={"Authorization": "Bearer tw-unknown"}).status_code == 401
    open_client, _ = gateway(tmp_path / "open", require_keys=False)
    anonymous = open_client.get("/v1/limits").json()
    assert anonymous["key_id"] is None and [x["name"] for x in anonymous["limits"]] == ["ip-rpm"]


def test_a_reset_lets_a_refused_key_through_at_once(tmp_path: Path) -> None:
    client, pipeline = gateway(tmp_path)
    assert spend(pipeline, "key_a", 3) == 1
    assert client.post("/admin/limits/reset", json={"name": "rpm", "key_id": "key_a"}).status_code == 401
    done = client.post("/admin/limits/reset", headers=ADMIN, json={"name": "rpm", "key_id": "key_a"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["dimension"], body["value"], body["cleared"]) == ("key", "key_a", 1)
    assert [x["name"] for x in body["limits"]] == ["rpm"] and "this gateway" in body["scope"]
    assert spend(pipeline, "key_a", 2) == 0  # admitted at once, twice: the whole limit again
    team = client.post("/admin/limits/reset", headers=ADMIN, json={"team": "ml"}).json()  # every team limit
    assert [x["name"] for x in team["limits"]] == ["team-rpm"] and team["cleared"] == 1


@pytest.mark.parametrize(("body", "status"), [
    ({"name": "rpm"}, 400),  # whose?
    ({"name": "rpm", "key_id": "key_a", "user": "ann"}, 400),  # two subjects
    ({"name": "rpm", "key_id": "key_a", "planet": "mars"}, 400),
    ({"name": 5, "key_id": "key_a"}, 400),
    ({"global": "yes"}, 400),
    ({"key_id": ""}, 400),
    ({"name": "nope", "key_id": "key_a"}, 404),
    ({"name": "rpm", "global": True}, 404),  # no global limit here
])
def test_a_reset_that_names_no_limit_in_force_is_refused_clearly(tmp_path: Path, body: dict[str, Any],
                                                                 status: int) -> None:
    client, _ = gateway(tmp_path)
    answer = client.post("/admin/limits/reset", headers=ADMIN, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"]


def test_violations_list_who_was_refused_by_what_asked_and_left(tmp_path: Path) -> None:
    client, pipeline = gateway(tmp_path)
    spend(pipeline, "key_a", 3)
    spend(pipeline, "key_b", 1)
    answer = client.get("/admin/limits/violations?key_id=key_a", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["violations"] == {"rpm": 1} and body["total"] == 1  # the daily counts stay
    [record] = body["records"]
    assert {k: record[k] for k in ("key_id", "limit", "requested", "available", "user")} == {
        "key_id": "key_a", "limit": "rpm", "requested": 1, "available": 0, "user": "ann"}
    assert record["at"].endswith("Z") and record["retry_after_s"] > 0
    assert client.get("/admin/limits/violations?key_id=key_b", headers=ADMIN).json()["records"] == []
    assert client.get("/admin/limits/violations?name=team-rpm", headers=ADMIN).json()["records"] == []
    assert client.get("/admin/limits/violations?max=0", headers=ADMIN).status_code == 400


def test_active_lists_who_is_near_a_limit(tmp_path: Path) -> None:
    client, pipeline = gateway(tmp_path)
    spend(pipeline, "key_a", 2)  # 2 of 2
    spend(pipeline, "key_b", 1)  # 1 of 5
    near = client.get("/admin/limits/active?near=0.8", headers=ADMIN)
    assert near.status_code == 200, near.text
    body = near.json()
    assert [(b["name"], b["key_id"], b["used"], b["capacity"]) for b in body["buckets"]] == [("rpm", "key_a", 2, 2)]
    assert body["buckets"][0]["reset_s"] > 0 and body["buckets"][0]["reset_at"].endswith("Z") and body["complete"]
    everyone = client.get("/admin/limits/active?near=0", headers=ADMIN).json()["buckets"]
    assert {(b["name"], b["value"]) for b in everyone} == {("rpm", "key_a"), ("rpm", "key_b"), ("team-rpm", "ml"),
                                                           ("ip-rpm", "testclient")}
    for bad in ("near=2", "near=x", "max=0", "scan=-1"):
        assert client.get(f"/admin/limits/active?{bad}", headers=ADMIN).status_code == 400, bad
