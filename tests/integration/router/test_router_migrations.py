"""The router's versioned schema migrations: the three SQLite files of release 0.1 upgrade in place
(every provider, routing entry, outcome and version kept), `tollway db upgrade` covers the router
on both backends, and a PostgreSQL the router cannot reach stops its start, the URL masked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from services.cli.main import main as cli
from services.common.clock import FrozenClock
from services.common.db import DatabaseUnavailable, mask_url
from services.common.registry.provider import provider_from_registration
from services.common.settings import Settings
from services.router.app import create_app
from services.router.store.codec import encode_outcomes, encode_provider
from services.router.store.migrations import POSTGRES, SQLITE
from tests.integration.router.router_support import START, provider, serving
from tests.pg import pg_schema

# the tables exactly as release 0.1 created them (services/router/store/*.py before migrations)
RELEASE_0_1 = {
    "registry": """
CREATE TABLE IF NOT EXISTS providers (name TEXT PRIMARY KEY, model TEXT NOT NULL, active INTEGER NOT NULL,
    context_window INTEGER NOT NULL, registered_at TEXT NOT NULL, updated_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS providers_active_model ON providers (active, model);
CREATE TABLE IF NOT EXISTS registry_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT OR IGNORE INTO registry_version (id, version) VALUES (1, 0);
""",
    "routing": """
CREATE TABLE IF NOT EXISTS routing_entries (kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS routing_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT OR IGNORE INTO routing_version (id, version) VALUES (1, 0);
""",
    "outcomes": """
CREATE TABLE IF NOT EXISTS outcome_batches (id INTEGER PRIMARY KEY, newest_at REAL NOT NULL, outcomes BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS outcome_batches_newest_at ON outcome_batches (newest_at);
CREATE TABLE IF NOT EXISTS stats_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL);
INSERT OR IGNORE INTO stats_epoch (id, epoch) VALUES (1, 0);
""",
}


def write_release_0_1(router_dir: Path) -> None:
    router_dir.mkdir(parents=True)
    p = provider_from_registration(provider("old-one"), START)
    with sqlite3.connect(router_dir / "registry.db") as db:
        db.executescript(RELEASE_0_1["registry"])
        db.execute("INSERT INTO providers VALUES (?, ?, 1, ?, ?, ?, ?)",
                   (p.name, p.model, p.context_window, p.registered_at, p.updated_at, encode_provider(p)))
        db.execute("UPDATE registry_version SET version = 7")
    with sqlite3.connect(router_dir / "routing.db") as db:
        db.executescript(RELEASE_0_1["routing"])
        db.execute("""INSERT INTO routing_entries VALUES ('aliases', 'fam', '{"models":["gpt-4"]}')""")
        db.execute("UPDATE routing_version SET version = 3")
    with sqlite3.connect(router_dir / "outcomes.db") as db:
        db.executescript(RELEASE_0_1["outcomes"])
        from services.common.outcome_window import Outcome

        at = START.timestamp() - 5
        db.execute("INSERT INTO outcome_batches (newest_at, outcomes) VALUES (?, ?)",
                   encode_outcomes([Outcome("old-one", at, 120.0, True)] * 3))
        db.execute("UPDATE stats_epoch SET epoch = 11")


@pytest.mark.sqlite_only
async def test_the_release_0_1_files_upgrade_in_place(tmp_path: Path, backend: str) -> None:
    write_release_0_1(tmp_path / "router")
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False), clock=FrozenClock(START))
    async with serving(app) as client:
        snap = (await client.get("/registry/snapshot")).json()
        assert [p["name"] for p in snap["providers"]] == ["old-one"]
        assert snap["routing"]["aliases"] == {"fam": {"models": ["gpt-4"]}}
        assert snap["version"] == 7 + 3 + 11
        assert app.state.router_context.outcomes.window.stats(START.timestamp())["old-one"].samples == 3
        assert (await client.post("/register", json=provider("new-one"))).status_code == 201
    for name in SQLITE:
        with sqlite3.connect(tmp_path / "router" / f"{name}.db") as db:
            assert db.execute("SELECT version, name FROM schema_version").fetchall() == [(1, "initial")]


def test_db_upgrade_covers_the_router_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TOLLWAY_ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.delenv("TOLLWAY_DATABASE_URL", raising=False)
    assert cli(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    for name in SQLITE:
        assert f"router (SQLite {tmp_path / 'router' / name}.db): applied 1; at version 1" in out
    assert cli(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.count("nothing to apply") == 4  # the ledger's file and the router's three


async def test_db_upgrade_covers_the_router_on_postgres() -> None:
    async with pg_schema() as url:
        proc = subprocess.run([sys.executable, "-m", "services.cli.main", "db", "upgrade"], capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin", "TOLLWAY_DATABASE_URL": url}, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert f"router (PostgreSQL {url}): applied 1; at version {POSTGRES.latest()}" in proc.stdout
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM router_schema_version") == POSTGRES.latest()
            assert await conn.fetchval("SELECT version FROM registry_version") == 0
        finally:
            await conn.close()


async def test_a_newer_database_is_refused(database_url: str, tmp_path: Path) -> None:
    settings = Settings(artifacts_dir=tmp_path, access_log=False, database_url=database_url)
    app = create_app(settings)
    async with serving(app):
        pass
    if database_url:
        conn = await asyncpg.connect(database_url)
        await conn.execute("INSERT INTO router_schema_version VALUES (99, 'future', 0)")
        await conn.close()
    else:
        with sqlite3.connect(tmp_path / "router" / "registry.db") as db:
            db.execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
    app = create_app(settings)
    with pytest.raises(Exception, match="schema version 99, newer than this router knows"):
        async with serving(app):
            pass


async def test_the_router_does_not_start_without_its_database(tmp_path: Path) -> None:
    url = "postgresql://tollway:s3cret-pw@127.0.0.1:1/router"
    app = create_app(Settings(artifacts_dir=tmp_path, database_url=url))
    with pytest.raises(DatabaseUnavailable) as info:
        async with app.router.lifespan_context(app):
            pass
    assert mask_url(url) in str(info.value) and "s3cret" not in str(info.value)
    assert "s3cret" not in repr(app.state.router_context.store)


def test_tollway_serve_router_exits_non_zero_naming_the_masked_url(tmp_path: Path) -> None:
    url = "postgresql://tollway:s3cret-pw@127.0.0.1:1/router"
    proc = subprocess.run([sys.executable, "-m", "services.cli.main", "serve", "router", "--port", "0"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "TOLLWAY_DATABASE_URL": url,
                               "TOLLWAY_ARTIFACTS_DIR": str(tmp_path)})
    assert proc.returncode != 0
    assert "postgresql://tollway:***@127.0.0.1:1/router" in proc.stderr + proc.stdout
    assert "s3cret" not in proc.stderr + proc.stdout
