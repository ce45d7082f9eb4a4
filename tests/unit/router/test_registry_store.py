"""The SQLite registry store: upsert, soft delete, reactivation, version, reopening, backend choice."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.common.registry.provider import Provider, provider_from_registration
from services.common.settings import Settings
from services.router.store.factory import UnsupportedDatabase, make_store
from services.router.store.sqlite import SqliteRegistryStore

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def registration(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "model": "gpt-4", "context_window": 8192, "endpoint": "http://sim:8100",
            "cost_per_input_token": Decimal("0.00003"), "cost_per_output_token": Decimal("0.00006"), **extra}


def made(name: str, now: datetime = T0, previous: Provider | None = None, **extra: object) -> Provider:
    return provider_from_registration(registration(name, **extra), now, previous)


@pytest.fixture
def store(tmp_path: Path) -> SqliteRegistryStore:
    s = SqliteRegistryStore(tmp_path / "router" / "registry.db")
    s.open()
    yield s
    s.close()


def test_a_new_store_is_empty_at_version_zero(store: SqliteRegistryStore):
    assert store.version() == 0
    assert store.list(include_inactive=True) == []
    assert store.get("nobody") is None


def test_upsert_stores_the_provider_exactly_and_bumps_the_version(store: SqliteRegistryStore):
    p = made("a", features=["vision", "tools"], slo={"latency_p95_ms": 2000}, api_key_env="OPENAI_API_KEY")
    assert store.upsert(p) == 1
    got = store.get("a")
    assert got == p
    assert got is not None and got.input_per_token == Decimal("0.00003")
    assert got.features == frozenset({"vision", "function_calling"})
    assert store.version() == 1


def test_upsert_replaces_and_bumps_again(store: SqliteRegistryStore):
    first = made("a")
    store.upsert(first)
    later = made("a", T0 + timedelta(hours=1), first, cost_per_input_token=Decimal("0.00001"),
                 model="gpt-4o")
    assert store.upsert(later) == 2
    got = store.get("a")
    assert got is not None
    assert got.input_per_token == Decimal("0.00001") and got.model == "gpt-4o"
    assert got.registered_at == first.registered_at != got.updated_at
    assert len(store.list()) == 1


def test_soft_delete_hides_but_keeps_the_provider(store: SqliteRegistryStore):
    store.upsert(made("a"))
    store.upsert(made("b"))
    gone = store.set_active("a", False, T0 + timedelta(minutes=5))
    assert gone is not None and gone.active is False
    assert gone.updated_at == "2026-11-23T10:05:00.000Z"
    assert [p.name for p in store.list()] == ["b"]
    assert [p.name for p in store.list(include_inactive=True)] == ["a", "b"]
    kept = store.get("a")
    assert kept is not None and kept.active is False
    assert store.version() == 3


def test_set_active_without_a_change_or_on_an_unknown_name_keeps_the_version(store: SqliteRegistryStore):
    store.upsert(made("a"))
    assert store.set_active("a", True, T0) is not None
    assert store.set_active("ghost", False, T0) is None
    assert store.version() == 1


def test_reactivation_by_registration_keeps_registered_at(store: SqliteRegistryStore):
    store.upsert(made("a", T0))
    store.set_active("a", False, T0 + timedelta(hours=1))
    previous = store.get("a")
    assert previous is not None and not previous.active
    back = made("a", T0 + timedelta(days=1), previous)
    store.upsert(back)
    got = store.get("a")
    assert got is not None and got.active
    assert got.registered_at == "2026-11-23T10:00:00.000Z"
    assert got.updated_at == "2026-11-24T10:00:00.000Z"
    assert store.version() == 3


def test_list_is_ordered_by_name(store: SqliteRegistryStore):
    for name in ("zeta", "alpha", "mid"):
        store.upsert(made(name))
    assert [p.name for p in store.list()] == ["alpha", "mid", "zeta"]


def test_providers_and_version_survive_reopening(tmp_path: Path):
    path = tmp_path / "registry.db"
    first = SqliteRegistryStore(path)
    first.open()
    first.upsert(made("a"))
    per_mtok = {"name": "b", "model": "m", "context_window": 100, "endpoint": "http://sim:8100",
                "input_per_mtok": Decimal("2.5"), "output_per_mtok": Decimal("10")}
    first.upsert(provider_from_registration(per_mtok, T0))
    first.set_active("a", False, T0)
    first.close()
    again = SqliteRegistryStore(path)
    again.open()
    try:
        assert again.version() == 3
        b = again.get("b")
        assert b is not None and b.input_per_token == Decimal("0.0000025")
        assert [p.name for p in again.list(include_inactive=True)] == ["a", "b"]
        assert again.upsert(made("c")) == 4
    finally:
        again.close()


def test_the_file_is_in_wal_mode_with_the_provider_json_and_indexed_columns(store: SqliteRegistryStore):
    store.upsert(made("a"))
    db = sqlite3.connect(store.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = db.execute("SELECT name, model, active, context_window, body FROM providers").fetchone()
    finally:
        db.close()
    assert row[:4] == ("a", "gpt-4", 1, 8192)
    assert '"cost_per_input_token":0.00003' in row[4]


def test_a_closed_store_says_so(tmp_path: Path):
    with pytest.raises(RuntimeError, match="not open"):
        SqliteRegistryStore(tmp_path / "r.db").version()


def test_the_default_backend_is_sqlite_under_artifacts(tmp_path: Path):
    store = make_store(Settings(artifacts_dir=tmp_path))
    assert isinstance(store, SqliteRegistryStore)
    assert store.path == tmp_path / "router" / "registry.db"


def test_another_database_url_is_refused_without_echoing_it(tmp_path: Path):
    url = "postgresql://tollway:hunter2@db.internal:5432/tollway"
    with pytest.raises(UnsupportedDatabase) as info:
        make_store(Settings(artifacts_dir=tmp_path, database_url=url))
    assert "not support" in str(info.value) and "postgresql" in str(info.value)
    assert "hunter2" not in str(info.value)
