"""Virtual keys at the ledger: created with the secret shown once, stored as a hash, listed,
revoked, expiring, published to gateways, and scoping what a key may read."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import jsonschema
import pytest

from services.common import contracts
from services.common.clock import FrozenClock
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import make_receipt, post

ADMIN = {"x-admin-key": "adm-1"}
KEY = contracts.schema("virtual_key")


@pytest.mark.sqlite_only  # reads or writes the SQLite file itself
async def test_a_key_is_shown_once_and_stored_only_as_its_hash(ledger_at: Ledger, tmp_path) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        assert (await client.post("/keys", json={"user": "ann"})).status_code == 401
        made = await client.post("/keys", json={"name": "ci bot", "user": "ann", "team": "ml", "org": "acme",
                                                "models": ["gpt-4"], "metadata": {"env": "ci"},
                                                "limits": [{"name": "rpm", "limit": 60}]}, headers=ADMIN)
        assert made.status_code == 201, made.text
        body = made.json()
        jsonschema.validate(body, KEY)
        secret = body["secret"]
        assert secret.startswith("tw-") and len(secret) > 40 and body["prefix"] == secret[:7] + "…"
        assert body["limits"] == [{"name": "rpm", "limit": 60, "algorithm": "sliding_window",
                                   "window_s": 60, "unit": "requests"}]
        shown = (await client.get(f"/keys/{body['key_id']}", headers=ADMIN)).json()
        jsonschema.validate(shown, KEY)
        assert "secret" not in shown and shown["active"] is True and shown["org"] == "acme"
        listing = (await client.get("/keys?team=ml", headers=ADMIN)).json()["keys"]
        assert [k["key_id"] for k in listing] == [body["key_id"]]
        assert (await client.get("/keys?team=other", headers=ADMIN)).json()["keys"] == []
        snap = (await client.get("/keys/snapshot", headers=ADMIN)).json()
        jsonschema.validate(snap, contracts.schema("key_snapshot"))
        assert snap["keys"][0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    on_disk = (tmp_path / "ledger" / "ledger.db").read_bytes()
    assert secret.encode() not in on_disk  # only the hash is stored


async def test_revoking_bumps_the_snapshot_and_stays_listed(ledger_at: Ledger, clock: FrozenClock) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        key = (await client.post("/keys", json={}, headers=ADMIN)).json()
        before = (await client.get("/keys/snapshot", headers=ADMIN)).json()["version"]
        revoked = await client.delete(f"/keys/{key['key_id']}", headers=ADMIN)
        assert revoked.status_code == 200 and revoked.json()["active"] is False
        assert revoked.json()["revoked_at"] == "2026-11-23T10:30:15.000Z"
        snap = (await client.get("/keys/snapshot", headers=ADMIN)).json()
        assert snap["version"] == before + 1 and snap["keys"][0]["revoked"] is True
        again = await client.delete(f"/keys/{key['key_id']}", headers=ADMIN)
        assert again.json()["revoked_at"] == "2026-11-23T10:30:15.000Z"  # the first revocation stands
        assert (await client.delete("/keys/key_0000000000000000", headers=ADMIN)).status_code == 404


async def test_bad_key_requests_get_clear_errors(ledger_at: Ledger) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        cases = [({"org": "../x"}, "org"), ({"limits": [{"name": "rpm"}]}, "limits.0"),
                 ({"expires_in_s": 0}, "expires_in_s"), ({"secret": "mine"}, None),
                 ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
                 ({"limits": [{"name": "a", "limit": 1}, {"name": "a", "limit": 2}]}, "limits.1.name"),
                 ({"limits": [{"name": "a", "limit": 1, "burst": 3}]}, "limits.0.burst")]
        for body, field in cases:
            resp = await client.post("/keys", json=body, headers=ADMIN)
            assert resp.status_code == 400, (body, resp.text)
            if field:
                assert resp.json()["error"].get("field", "").startswith(field), (body, resp.text)
        assert (await client.get("/keys", headers=ADMIN)).json()["keys"] == []


async def test_a_key_reads_only_its_tenants_receipts(ledger_at: Ledger, clock: FrozenClock) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        a = (await client.post("/keys", json={"org": "acme"}, headers=ADMIN)).json()
        b = (await client.post("/keys", json={"org": "beta", "expires_in_s": 60}, headers=ADMIN)).json()
        receipts = [make_receipt("0.1", run_id="shared", key_id=a["key_id"], org="acme"),
                    make_receipt("0.2", run_id="shared", key_id=b["key_id"], org="beta"),
                    make_receipt("0.4", run_id="shared")]
        assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 401
        client.headers.update(ADMIN)
        assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 200
        client.headers.pop("x-admin-key")
        as_a = (await client.get("/receipts/shared", headers={"authorization": f"Bearer {a['secret']}"})).json()
        assert as_a["count"] == 1 and as_a["receipts"][0]["org"] == "acme" and as_a["total_cost_usd"] == 0.1
        as_b = (await client.get("/receipts/shared", headers={"authorization": f"Bearer {b['secret']}"})).json()
        assert [r["org"] for r in as_b["receipts"]] == ["beta"]
        assert (await client.get("/receipts/shared", headers=ADMIN)).json()["count"] == 3
        assert (await client.get("/receipts/shared", headers={"authorization": "Bearer tw-nope"})).status_code == 401
        clock.set(clock.now() + timedelta(seconds=61))
        expired = await client.get("/receipts/shared", headers={"authorization": f"Bearer {b['secret']}"})
        assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


async def test_limits_set_through_the_api_reach_the_gateways_snapshot(ledger_at: Ledger,
                                                                      clock: FrozenClock) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        general = {"name": "team-rpm", "dimension": "team", "algorithm": "token_bucket", "limit": 100, "burst": 20}
        quota = {"name": "team-rpm", "dimension": "team", "match": "ml", "limit": 500,
                 "expires_at": "2026-11-23T11:30:15Z"}
        assert (await client.post("/limits", json=general)).status_code == 401
        before = (await client.get("/keys/snapshot", headers=ADMIN)).json()["version"]
        for body in (general, quota):
            assert (await client.post("/limits", json=body, headers=ADMIN)).status_code == 201
        snap = (await client.get("/keys/snapshot", headers=ADMIN)).json()
        jsonschema.validate(snap, contracts.schema("key_snapshot"))
        assert snap["version"] == before + 2
        assert [(x["name"], x.get("match"), x["limit"]) for x in snap["limits"]] == [("team-rpm", None, 100),
                                                                                     ("team-rpm", "ml", 500)]
        replaced = await client.post("/limits", json={**general, "limit": 50}, headers=ADMIN)
        assert replaced.status_code == 201
        assert [x["limit"] for x in (await client.get("/limits", headers=ADMIN)).json()["limits"]] == [50, 500]
        clock.set(clock.now() + timedelta(hours=1))  # the custom quota expired
        assert [x.get("match") for x in (await client.get("/limits", headers=ADMIN)).json()["limits"]] == [None]
        bad = await client.post("/limits", json={"name": "g", "dimension": "global", "match": "x", "limit": 1},
                                headers=ADMIN)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "match"
        gone = await client.delete("/limits/team-rpm?dimension=team", headers=ADMIN)
        assert gone.status_code == 200
        assert (await client.delete("/limits/team-rpm?dimension=team", headers=ADMIN)).status_code == 404
        assert (await client.get("/limits", headers=ADMIN)).json()["limits"] == []


async def test_budgets_per_key_team_and_org_are_read_only_by_their_tenant(ledger_at: Ledger) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        a = (await client.post("/keys", json={"org": "acme", "team": "ml"}, headers=ADMIN)).json()
        b = (await client.post("/keys", json={"org": "beta"}, headers=ADMIN)).json()
        for body in ({"scope": "org", "scope_id": "acme", "budget_usd": 100}, {"scope": "team", "scope_id": "ml",
                     "budget_usd": 10}, {"scope": "key", "scope_id": a["key_id"], "budget_usd": 1},
                     {"scope": "org", "scope_id": "beta", "budget_usd": 5}, {"run_id": "shared", "budget_usd": 3}):
            assert (await client.post("/budget", json=body, headers=ADMIN)).status_code == 201, body
        receipts = [make_receipt("0.25", run_id="shared", key_id=a["key_id"], team="ml", org="acme")]
        assert (await post(client, "/receipts", {"receipts": receipts}, headers=ADMIN)).status_code == 200
        as_a = {"authorization": f"Bearer {a['secret']}"}
        as_b = {"authorization": f"Bearer {b['secret']}"}
        team = (await client.get("/budgets/team/ml", headers=as_a)).json()
        jsonschema.validate(team, contracts.schema("budget_status"))
        assert (team["scope"], team["spent_usd"], "run_id" in team) == ("team", 0.25, False)
        mine = (await client.get("/budgets?scope=all", headers=as_a)).json()
        assert sorted((s["scope"], s["scope_id"]) for s in mine) == sorted(
            [("org", "acme"), ("team", "ml"), ("key", a["key_id"]), ("run", "shared")])
        assert [s["scope_id"] for s in (await client.get("/budgets?scope=all", headers=as_b)).json()] == ["beta"]
        assert (await client.get("/budgets/org/acme", headers=as_b)).status_code == 404
        assert (await client.get("/budget/shared", headers=as_b)).status_code == 404  # beta never spent there
        assert (await client.get("/budget/shared", headers=as_a)).json()["spent_usd"] == 0.25
        assert len((await client.get("/budgets?scope=all", headers=ADMIN)).json()) == 5
        snap = (await client.get("/budgets/snapshot", headers=ADMIN)).json()
        assert snap["scoped"] == {"key": [a["key_id"]], "user": [], "team": ["ml"], "org": ["acme", "beta"],
                                  "provider": [], "model": [], "global": []}
        bad = await client.post("/budget", json={"scope": "planet", "scope_id": "x", "budget_usd": 1}, headers=ADMIN)
        assert bad.status_code == 400
        both = await client.post("/budget", json={"run_id": "r", "scope": "org", "scope_id": "x", "budget_usd": 1},
                                 headers=ADMIN)
        assert both.status_code == 400
        assert (await client.delete("/budgets/team/ml", headers=ADMIN)).json()["deleted"] is True


async def test_a_key_sees_only_its_tenants_usage_in_the_windows(ledger_at: Ledger) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        a = (await client.post("/keys", json={"org": "acme"}, headers=ADMIN)).json()
        b = (await client.post("/keys", json={}, headers=ADMIN)).json()  # no org: its own tenant
        receipts = [make_receipt("0.100000", key_id=a["key_id"], org="acme", input_tokens=10, output_tokens=5),
                    make_receipt("0.300000", key_id=b["key_id"], input_tokens=30, output_tokens=15),
                    make_receipt("0.500000")]
        assert (await post(client, "/receipts", {"receipts": receipts}, headers=ADMIN)).status_code == 200
        everything = (await client.get("/metrics?window=hour", headers=ADMIN)).json()["totals"]
        assert (everything["cost_usd"], everything["requests"]) == (0.9, 3)
        for key, cost, tokens, tenant in ((a, 0.1, 10, "org:acme"), (b, 0.3, 30, f"key:{b['key_id']}")):
            as_key = {"authorization": f"Bearer {key['secret']}"}
            body = (await client.get("/metrics?window=hour", headers=as_key)).json()
            assert body["tenant"] == tenant
            assert (body["totals"]["cost_usd"], body["totals"]["requests"], body["totals"]["input_tokens"]) == (
                cost, 1, tokens)
            assert sum(bucket["requests"] for bucket in body["buckets"]) == 1
