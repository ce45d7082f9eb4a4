"""Versioned schema migrations: a ledger file from the release before them upgrades in place, a
file older still is refused naming what it lacks, `tollway db upgrade` applies them, and an
unreachable PostgreSQL is a clear error with its password masked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from services.cli.main import main as cli
from services.common.db import DatabaseUnavailable, mask_url
from services.common.settings import Settings
from services.ledger.app import create_app
from services.ledger.store.migrations import SchemaError, latest, migrations, statements
from tests.integration.ledger.conftest import PG_URL, Ledger, pg_schema
from tests.integration.ledger.ledger_factory import exact, make_receipt, post


def _release_01_file(path: Path) -> None:
    """A ledger file as release 0.1 left it: today's tables, no schema_version, a receipt in it."""
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path, isolation_level=None) as conn:
        for statement in statements(migrations("sqlite")[0].sql):
            conn.execute(statement)
        conn.execute("INSERT INTO rollups VALUES ('day', 1795392000000000, 'old', 5000000, 2, 10, 10, 0, 0)")


@pytest.mark.sqlite_only
async def test_a_ledger_file_from_the_release_before_migrations_upgrades_in_place(
        tmp_path: Path, ledger_at: Ledger) -> None:
    db = tmp_path / "ledger" / "ledger.db"
    _release_01_file(db)
    async with ledger_at() as client:
        body = exact(await client.get("/metrics?window=day"))
        assert body["by_provider"]["old"]["cost_usd"] == Decimal(5)
        assert (await post(client, "/receipts", {"receipts": [make_receipt()]})).json()["accepted"] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version, name FROM schema_version").fetchall() == [
            (m.version, m.name) for m in migrations("sqlite")]


@pytest.mark.sqlite_only
async def test_a_ledger_file_older_than_that_is_refused_naming_what_it_lacks(tmp_path: Path,
                                                                             ledger_at: Ledger) -> None:
    db = tmp_path / "ledger" / "ledger.db"
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:  # the rollups table before the cache columns
        conn.execute("CREATE TABLE rollups (grain TEXT NOT NULL, bucket_us INTEGER NOT NULL, provider TEXT NOT NULL,"
                     " cost_micros INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL,"
                     " output_tokens INTEGER NOT NULL, PRIMARY KEY (grain, bucket_us, provider)) WITHOUT ROWID")
    with pytest.raises(SchemaError, match="rollups.saved_micros, rollups.cache_hits"):
        async with ledger_at():
            pass
    with sqlite3.connect(db) as conn:  # nothing was changed: the migration was rolled back
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'schema_version'").fetchall() == []


async def test_a_restart_applies_nothing_twice_and_a_newer_schema_is_refused(
        backend: str, ledger_at: Ledger, database_url: str, tmp_path: Path) -> None:
    async with ledger_at():
        pass
    async with ledger_at():
        pass
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "ledger" / "ledger.db") as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [
                (v,) for v in range(1, latest("sqlite") + 1)]
            conn.execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
    else:
        conn = await asyncpg.connect(database_url)
        assert [r[0] for r in await conn.fetch("SELECT version FROM schema_version ORDER BY 1")] == list(
            range(1, latest("postgres") + 1))
        await conn.execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
        await conn.close()
    with pytest.raises(SchemaError, match="schema version 99, newer than this ledger knows"):
        async with ledger_at():
            pass


def test_db_upgrade_applies_the_migrations_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TOLLWAY_ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.delenv("TOLLWAY_DATABASE_URL", raising=False)
    assert cli(["db", "upgrade"]) == 0
    assert f"at version {latest('sqlite')}" in capsys.readouterr().out
    assert cli(["db", "upgrade"]) == 0
    assert "nothing to apply" in capsys.readouterr().out


async def test_db_upgrade_on_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    async with pg_schema() as url:
        proc = subprocess.run([sys.executable, "-m", "services.cli.main", "db", "upgrade"], capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin", "TOLLWAY_DATABASE_URL": url}, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert f"at version {latest('postgres')}" in proc.stdout
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT count(*) FROM schema_version") == latest("postgres")
        await conn.close()


def test_postgres_unreachable_names_the_url_with_its_password_masked() -> None:
    url = "postgresql://tollway:s3cret-pw@127.0.0.1:1/ledger"
    proc = subprocess.run([sys.executable, "-m", "services.cli.main", "db", "upgrade"], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "TOLLWAY_DATABASE_URL": url}, timeout=60)
    assert proc.returncode != 0
    assert "postgresql://tollway:***@127.0.0.1:1/ledger" in proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout


async def test_the_ledger_app_does_not_start_without_its_database(tmp_path: Path) -> None:
    url = "postgresql://tollway:s3cret-pw@127.0.0.1:1/ledger"
    app = create_app(Settings(artifacts_dir=tmp_path, database_url=url))
    with pytest.raises(DatabaseUnavailable) as info:
        async with app.router.lifespan_context(app):
            pass
    assert mask_url(url) in str(info.value) and "s3cret" not in str(info.value)
    assert "s3cret" not in repr(app.state.ledger.store)


def test_masking() -> None:
    assert mask_url("postgresql://u:p%40ss@h:5432/db?sslmode=require") == "postgresql://u:***@h:5432/db?sslmode=require"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url(PG_URL) == PG_URL
