"""Admin input is held to what the ledger can store and read back (a 400 naming the field, nothing
saved), and a row it cannot read back (an older release's, or one written by hand) is left out of
listings and logged once by its id, while every other row is still served."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from structlog.testing import capture_logs

from services.common import contracts
from services.common.clock import FrozenClock
from services.ledger.times import to_us
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import error_of

ADMIN = {"x-admin-key": "adm-1"}


async def _saved(client: httpx.AsyncClient) -> tuple[Any, ...]:
    """Everything an admin write could have changed: keys, their snapshot, limits, budgets."""
    keys = (await client.get("/keys", headers=ADMIN)).json()
    snap = (await client.get("/keys/snapshot", headers=ADMIN)).json()
    limits = (await client.get("/limits", headers=ADMIN)).json()
    budgets = (await client.get("/budgets?scope=all", headers=ADMIN)).json()
    budget_snap = (await client.get("/budgets/snapshot", headers=ADMIN)).json()
    return keys, snap, limits, budgets, budget_snap


REFUSED = [
    ("/keys", {"expires_in_s": 1_000_000_000_000}, "expires_in_s"),  # the reviewer's case
    ("/keys", {"expires_in_s": 1e12}, "expires_in_s"),
    ("/keys", {"expires_in_s": 3_153_600_001}, "expires_in_s"),  # a second over 100 years
    ("/keys", {"expires_in_s": 2**63}, "expires_in_s"),
    ("/keys", {"expires_in_s": 10**30}, "expires_in_s"),
    ("/keys", {"expires_in_s": 0}, "expires_in_s"),
    ("/keys", {"expires_in_s": 1.5}, "expires_in_s"),
    ("/keys", {"expires_at": "9000-01-01T00:00:00Z"}, "expires_at"),
    ("/keys", {"expires_at": "9999-12-31T23:59:59.999999999Z"}, "expires_at"),
    ("/keys", {"expires_at": "2027-02-30T00:00:00Z"}, "expires_at"),
    ("/keys", {"expires_at": "2027-01-01T24:00:00Z"}, "expires_at"),
    ("/keys", {"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ("/keys", {"cache": {"ttl_s": 31_536_001}}, "cache.ttl_s"),
    ("/keys", {"limits": [{"name": "l", "limit": 1, "window_s": 10**12}]}, "limits.0.window_s"),
    ("/limits", {"name": "l", "dimension": "global", "limit": 1, "expires_at": "9500-01-01T00:00:00Z"}, "expires_at"),
    ("/limits", {"name": "l", "dimension": "global", "limit": 10**12}, "limit"),
    ("/budget", {"run_id": "r", "budget_usd": 10**12}, "budget_usd"),
    ("/budget", {"run_id": "r", "budget_usd": "1e400"}, "budget_usd"),
    ("/budget", {"scope": "team", "scope_id": "t", "budget_usd": "99999999999999999999"}, "budget_usd"),
    ("/budget", {"run_id": "r", "budget_usd": -1}, "budget_usd"),
    ("/holds", {"hold_id": "h", "run_id": "r", "amount_usd": 10**13}, "amount_usd"),
    ("/leases", {"lease_id": "l", "run_id": "r", "need_usd": 1, "want_usd": 10**13}, "want_usd"),
]


@pytest.mark.parametrize(("path", "body", "field"), REFUSED)
async def test_out_of_range_input_is_a_400_naming_the_field_and_nothing_is_saved(
        client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str) -> None:
    await client.post("/budget", json={"run_id": "kept", "budget_usd": 1})
    before = await _saved(client)
    resp = await client.post(path, json=body)
    assert resp.status_code == 400, resp.text
    assert error_of(resp)["field"] == field
    assert await _saved(client) == before


async def test_the_budget_query_form_is_held_to_the_same_range(client: httpx.AsyncClient) -> None:
    resp = await client.post("/budget", params={"run_id": "r", "budget_usd": "1000000000000"})
    assert resp.status_code == 400 and error_of(resp)["field"] == "budget_usd"
    assert (await client.get("/budgets")).json() == []


async def test_the_widest_accepted_values_are_stored_and_read_back(client: httpx.AsyncClient) -> None:
    far = (await client.post("/keys", json={"expires_at": "8999-12-31T23:59:59.999Z"})).json()
    long = (await client.post("/keys", json={"expires_in_s": 3_153_600_000})).json()
    assert far["expires_at"] == "8999-12-31T23:59:59.999Z" and long["expires_at"].startswith("21")
    assert (await client.post("/limits", json={"name": "l", "dimension": "global", "limit": 10**9,
                                               "expires_at": "8999-01-01T00:00:00Z"})).status_code == 201
    assert (await client.post("/budget", json={"run_id": "r", "budget_usd": "999999999999.999999"})).status_code == 201
    listing = (await client.get("/keys")).json()["keys"]
    assert {k["key_id"] for k in listing} == {far["key_id"], long["key_id"]}
    snap = (await client.get("/keys/snapshot")).json()
    jsonschema.validate(snap, contracts.schema("key_snapshot"))
    assert len(snap["keys"]) == 2 and len(snap["limits"]) == 1
    assert (await client.get("/budgets")).json()[0]["budget_usd"] == 999999999999.999999


# -- rows the ledger cannot read back ------------------------------------------------------------

def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "ledger" / "ledger.db", isolation_level=None)


def _insert_key(db: sqlite3.Connection, key_id: str, now_us: int, **columns: Any) -> str:
    row = {"key_id": key_id, "secret_hash": key_id[-1] * 64, "prefix": "tw-xxxx…", "created_us": now_us,
           "limits": "[]", "metadata": "{}"} | columns
    db.execute(f"INSERT INTO api_keys ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    db.execute("UPDATE meta SET value = value + 1 WHERE key = 'keys_version'")
    return str(row["secret_hash"])


BAD_KEY_COLUMNS = [
    {"expires_us": 10**18 + 1},  # what POST /keys with expires_in_s 1e12 used to save (year 33,000)
    {"expires_us": -(10**18)},
    {"revoked_us": "yesterday"},
    {"created_us": 2**62},
    {"limits": "not json"},
    {"limits": '[{"name": "l"}]'},
    {"limits": "[1]"},
    {"models": '"gpt-4"'},
    {"metadata": '{"a": 1}'},
    {"cache_policy": '{"ttl_s": "long"}'},
    {"name": b"\xff\xfe"},  # a BLOB where text belongs
]


@pytest.mark.parametrize(("n", "columns"), list(enumerate(BAD_KEY_COLUMNS)),
                         ids=[next(iter(c)) for c in BAD_KEY_COLUMNS])
@pytest.mark.sqlite_only  # reads or writes the SQLite file itself
async def test_a_key_row_the_ledger_cannot_read_is_refused_and_every_other_key_is_served(
        ledger_at: Ledger, tmp_path: Path, clock: FrozenClock, n: int, columns: dict[str, Any]) -> None:
    bad_id = f"key_00000000000001{n:02d}"  # a row id of its own: each is logged once per process
    async with ledger_at(admin_key="adm-1") as client:
        good = [(await client.post("/keys", json={"user": f"u{i}"}, headers=ADMIN)).json() for i in range(2)]
        db = _db(tmp_path)
        bad_hash = _insert_key(db, bad_id, to_us(clock.now()), **columns)
        with capture_logs() as logs:
            for _ in range(2):
                listing = await client.get("/keys", headers=ADMIN)
                snap = await client.get("/keys/snapshot", headers=ADMIN)
        assert listing.status_code == 200 and snap.status_code == 200
        assert {k["key_id"] for k in listing.json()["keys"]} == {k["key_id"] for k in good}
        jsonschema.validate(snap.json(), contracts.schema("key_snapshot"))
        published = {k["key_id"]: k for k in snap.json()["keys"]}
        assert set(published) == {good[0]["key_id"], good[1]["key_id"], bad_id}
        assert published[bad_id]["revoked"] is True  # refused by gateways, never taken for an unknown key
        assert published[bad_id]["secret_hash"] == bad_hash
        unreadable = [e for e in logs if e["event"] == "stored_row_unreadable"]
        assert len(unreadable) == 1 and unreadable[0]["row_id"] == bad_id and unreadable[0]["table"] == "api_keys"
        assert bad_hash not in str(unreadable)

        shown = await client.get(f"/keys/{bad_id}", headers=ADMIN)
        assert shown.status_code == 200 and shown.json()["active"] is False and "problem" in shown.json()
        before = snap.json()["version"]
        revoked = await client.delete(f"/keys/{bad_id}", headers=ADMIN)
        assert revoked.status_code == 200 and revoked.json()["active"] is False
        gone = await client.delete(f"/keys/{good[0]['key_id']}", headers=ADMIN)
        assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
        after = (await client.get("/keys/snapshot", headers=ADMIN)).json()
        assert after["version"] > before
        assert {k["key_id"]: k["revoked"] for k in after["keys"]} == {
            good[0]["key_id"]: True, good[1]["key_id"]: False, bad_id: True}


@pytest.mark.sqlite_only  # reads or writes the SQLite file itself
async def test_a_key_row_without_a_readable_id_or_hash_is_left_out(
        ledger_at: Ledger, tmp_path: Path, clock: FrozenClock) -> None:
    async with ledger_at() as client:
        good = (await client.post("/keys", json={})).json()
        _insert_key(_db(tmp_path), "key_000000000000badh", to_us(clock.now()), secret_hash="not a hash")
        snap = await client.get("/keys/snapshot")
        assert snap.status_code == 200 and [k["key_id"] for k in snap.json()["keys"]] == [good["key_id"]]
        assert [k["key_id"] for k in (await client.get("/keys")).json()["keys"]] == [good["key_id"]]


@pytest.mark.sqlite_only  # reads or writes the SQLite file itself
async def test_a_virtual_key_stored_unreadably_cannot_read_at_the_ledger(
        ledger_at: Ledger, tmp_path: Path, clock: FrozenClock) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        secret = "tw-unreadable-secret"
        _insert_key(_db(tmp_path), "key_0000000000000ab1", to_us(clock.now()),
                    secret_hash=hashlib.sha256(secret.encode()).hexdigest(), limits="oops")
        resp = await client.get("/budgets", headers={"authorization": f"Bearer {secret}"})
        assert resp.status_code == 401 and "cannot read" in error_of(resp)["message"]


@pytest.mark.sqlite_only  # reads or writes the SQLite file itself
async def test_a_rate_limit_row_the_ledger_cannot_read_is_left_out(
        ledger_at: Ledger, tmp_path: Path, clock: FrozenClock) -> None:
    async with ledger_at() as client:
        kept = (await client.post("/limits", json={"name": "rpm", "dimension": "user", "limit": 5})).json()
        db = _db(tmp_path)
        for name, spec in (("bad-json", "{"), ("bad-shape", "[1]"), ("bad-limit", '{"name": "x"}')):
            db.execute("INSERT INTO rate_limits (name, dimension, match_value, spec, updated_us)"
                       " VALUES (?, 'user', '', ?, ?)", (name, spec, to_us(clock.now())))
        with capture_logs() as logs:
            limits = await client.get("/limits")
            snap = await client.get("/keys/snapshot")
        assert limits.status_code == 200 and limits.json()["limits"] == [kept]
        assert snap.status_code == 200 and snap.json()["limits"] == [kept]
        assert sorted(e["row_id"] for e in logs if e["event"] == "stored_row_unreadable") == [
            "bad-json/user/", "bad-limit/user/", "bad-shape/user/"]


@pytest.mark.sqlite_only  # reads or writes the SQLite file itself
async def test_a_budget_row_the_ledger_cannot_read_is_left_out_and_can_be_deleted(
        ledger_at: Ledger, tmp_path: Path, clock: FrozenClock) -> None:
    async with ledger_at() as client:
        for run in ("good", "bad-amount", "bad-event", "bad-spend", "bad-terms"):
            assert (await client.post("/budget", json={"run_id": run, "budget_usd": 5})).status_code == 201
        db = _db(tmp_path)
        db.execute("UPDATE budgets SET budget_micros = 'lots' WHERE scope_id = 'bad-amount'")
        db.execute("INSERT INTO budget_events (scope, scope_id, period_start_us, threshold, at_us, spent_micros,"
                   " budget_micros) VALUES ('run', 'bad-event', 0, 90, ?, 1, 2)", (10**18,))  # year 33,658
        db.execute("UPDATE budgets SET period = 'daily', tz = 'Mars/Olympus' WHERE scope_id = 'bad-terms'")
        db.execute("INSERT INTO spend VALUES ('run', 'bad-spend', 'much', 1)")
        listing = await client.get("/budgets")
        assert listing.status_code == 200 and [b["run_id"] for b in listing.json()] == ["good"]
        snap = await client.get("/budgets/snapshot")
        assert snap.status_code == 200
        # every id stays published (a gateway asks the ledger, which refuses, rather than spend unbudgeted)
        assert snap.json()["run_ids"] == ["bad-amount", "bad-event", "bad-spend", "bad-terms", "good"]
        assert "run:bad-amount" not in snap.json()["caps"] and "run:good" in snap.json()["caps"]
        one = await client.get("/budget/bad-amount")
        assert one.status_code == 500 and one.json()["error"]["type"] == "unreadable_row"
        assert (await client.delete("/budget/bad-amount")).status_code == 200
        assert (await client.post("/budget", json={"run_id": "bad-amount", "budget_usd": 2})).status_code == 201
        assert (await client.get("/budget/bad-amount")).json()["budget_usd"] == 2
