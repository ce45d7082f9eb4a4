"""One SQLite file (WAL) opened the same way by every router store: its migrations applied on
open, one connection used by one worker thread (so no call blocks the event loop), writes in
`BEGIN IMMEDIATE` transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from services.common.migrations import MigrationSet

T = TypeVar("T")


class SqliteFile:
    migrations: ClassVar[MigrationSet]
    synchronous = "FULL"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._worker: ThreadPoolExecutor | None = None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute("PRAGMA busy_timeout=5000")
            self.migrations.upgrade_sqlite(db)
        except BaseException:
            db.close()
            raise
        return db

    async def open(self) -> None:
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"router-{self.path.stem}")
        try:
            self._db = await asyncio.get_running_loop().run_in_executor(self._worker, self._open)
        except BaseException:
            self._worker.shutdown()
            self._worker = None
            raise

    async def close(self) -> None:
        db, worker, self._db, self._worker = self._db, self._worker, None, None
        if db is not None and worker is not None:
            await asyncio.get_running_loop().run_in_executor(worker, db.close)
        if worker is not None:
            worker.shutdown()

    async def _call(self, fn: Callable[..., T], *args: Any, write: bool = False) -> T:
        """`fn(connection, *args)` on the worker thread; in one write transaction if `write`."""
        db, worker = self._db, self._worker
        if db is None or worker is None:
            raise RuntimeError(f"{type(self).__name__} is not open")
        return await asyncio.get_running_loop().run_in_executor(worker, _in_transaction if write else _plain,
                                                                db, fn, args)


def _plain(db: sqlite3.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return fn(db, *args)


def _in_transaction(db: sqlite3.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    db.execute("BEGIN IMMEDIATE")
    try:
        out = fn(db, *args)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return out
