"""The registry store on both backends: upsert, soft delete, reactivation, version, reopening,
backend choice; on SQLite the file's own form."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.common.db import DatabaseUnavailable
from services.common.registry.provider import Provider, provider_from_registration
from services.common.settings import Settings
from services.router.store.base import RegistryStore
from services.router.store.factory import UnsupportedDatabase, make_store
from services.router.store.sqlite import SqliteRegistryStore

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def registration(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "model": "gpt-4", "context_window": 8192, "endpoint": "http://sim:8100",
            "cost_per_input_token": Decimal("0.00003"), "cost_per_output_token": Decimal("0.00006"), **extra}


def made(name: str, now: datetime = T0, previous: Provider | None = None, **extra: object) -> Provider:
    return provider_from_registration(registration(name, **extra), now, previous)


@pytest.fixture
async def store(router_settings: Settings) -> AsyncIterator[RegistryStore]:
    s = make_store(router_settings)
    await s.open()
    yield s
    await s.close()


async def test_a_new_store_is_empty_at_version_zero(store: RegistryStore):
    assert await store.version() == 0
    assert await store.list(include_inactive=True) == []
    assert await store.get("nobody") is None


async def test_upsert_stores_the_provider_exactly_and_bumps_the_version(store: RegistryStore):
    p = made("a", features=["vision", "tools"], slo={"latency_p95_ms": 2000}, api_key_env="OPENAI_API_KEY")
    assert await store.upsert(p) == 1
    got = await store.get("a")
    assert got == p
    assert got is not None and got.input_per_token == Decimal("0.00003")
    assert got.features == frozenset({"vision", "function_calling"})
    assert await store.version() == 1


async def test_upsert_replaces_and_bumps_again(store: RegistryStore):
    first = made("a")
    await store.upsert(first)
    later = made("a", T0 + timedelta(hours=1), first, cost_per_input_token=Decimal("0.00001"), model="gpt-4o")
    assert await store.upsert(later) == 2
    got = await store.get("a")
    assert got is not None
    assert got.input_per_token == Decimal("0.00001") and got.model == "gpt-4o"
    assert got.registered_at == first.registered_at != got.updated_at
    assert len(await store.list()) == 1


async def test_soft_delete_hides_but_keeps_the_provider(store: RegistryStore):
    await store.upsert(made("a"))
    await store.upsert(made("b"))
    gone = await store.set_active("a", False, T0 + timedelta(minutes=5))
    assert gone is not None and gone.active is False
    assert gone.updated_at == "2026-11-23T10:05:00.000Z"
    assert [p.name for p in await store.list()] == ["b"]
    assert [p.name for p in await store.list(include_inactive=True)] == ["a", "b"]
    kept = await store.get("a")
    assert kept is not None and kept.active is False
    assert await store.version() == 3


async def test_set_active_without_a_change_or_on_an_unknown_name_keeps_the_version(store: RegistryStore):
    await store.upsert(made("a"))
    assert await store.set_active("a", True, T0) is not None
    assert await store.set_active("ghost", False, T0) is None
    assert await store.version() == 1


async def test_reactivation_by_registration_keeps_registered_at(store: RegistryStore):
    await store.upsert(made("a", T0))
    await store.set_active("a", False, T0 + timedelta(hours=1))
    previous = await store.get("a")
    assert previous is not None and not previous.active
    await store.upsert(made("a", T0 + timedelta(days=1), previous))
    got = await store.get("a")
    assert got is not None and got.active
    assert got.registered_at == "2026-11-23T10:00:00.000Z"
    assert got.updated_at == "2026-11-24T10:00:00.000Z"
    assert await store.version() == 3


async def test_list_is_ordered_by_name_bytewise(store: RegistryStore):
    for name in ("zeta", "alpha", "Mid", "mid", "a-b", "a_b"):
        await store.upsert(made(name))
    assert [p.name for p in await store.list()] == ["Mid", "a-b", "a_b", "alpha", "mid", "zeta"]


async def test_providers_and_version_survive_reopening(router_settings: Settings):
    first = make_store(router_settings)
    await first.open()
    await first.upsert(made("a"))
    per_mtok = {"name": "b", "model": "m", "context_window": 100, "endpoint": "http://sim:8100",
                "input_per_mtok": Decimal("2.5"), "output_per_mtok": Decimal("10")}
    await first.upsert(provider_from_registration(per_mtok, T0))
    await first.set_active("a", False, T0)
    await first.close()
    again = make_store(router_settings)
    await again.open()
    try:
        assert await again.version() == 3
        b = await again.get("b")
        assert b is not None and b.input_per_token == Decimal("0.0000025")
        assert [p.name for p in await again.list(include_inactive=True)] == ["a", "b"]
        assert await again.upsert(made("c")) == 4
    finally:
        await again.close()


@pytest.mark.sqlite_only
async def test_the_file_is_in_wal_mode_with_the_provider_json_and_indexed_columns(store: SqliteRegistryStore):
    await store.upsert(made("a"))
    db = sqlite3.connect(store.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = db.execute("SELECT name, model, active, context_window, body FROM providers").fetchone()
    finally:
        db.close()
    assert row[:4] == ("a", "gpt-4", 1, 8192)
    assert '"cost_per_input_token":0.00003' in row[4]


async def test_a_closed_store_says_so(router_settings: Settings):
    with pytest.raises(RuntimeError, match="not open"):
        await make_store(router_settings).version()


def test_the_default_backend_is_sqlite_under_artifacts(tmp_path: Path):
    store = make_store(Settings(artifacts_dir=tmp_path))
    assert isinstance(store, SqliteRegistryStore)
    assert store.path == tmp_path / "router" / "registry.db"


def test_another_database_url_is_refused_without_echoing_it(tmp_path: Path):
    url = "mysql://tollway:hunter2@db.internal:3306/tollway"
    with pytest.raises(UnsupportedDatabase) as info:
        make_store(Settings(artifacts_dir=tmp_path, database_url=url))
    assert "supports only PostgreSQL" in str(info.value) and "mysql://..." in str(info.value)
    assert "hunter2" not in str(info.value)


async def test_an_unreachable_postgresql_is_named_with_its_password_masked(tmp_path: Path):
    url = "postgresql://tollway:hunter2@127.0.0.1:1/tollway"
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=url))
    with pytest.raises(DatabaseUnavailable) as info:
        await store.open()
    assert "postgresql://tollway:***@127.0.0.1:1/tollway" in str(info.value)
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(store)
