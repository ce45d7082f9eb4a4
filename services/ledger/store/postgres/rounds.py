"""Rounds of periodic work that one ledger replica does for all (alert evaluation): a replica
claims round `n` of `name` inside a transaction holding a transaction-level advisory lock
(`pg_try_advisory_xact_lock`, keyed by the name and this schema, so two deployments in two schemas
of one database do not share it); another replica that finds the lock taken, or round `n` already
marked done in `meta`, skips it. The mark is written in the same transaction, so a holder that dies
mid-round (its connection gone) releases the lock and leaves the round unmarked: the next replica
to try does it."""

from __future__ import annotations

from typing import Any

Conn = Any  # an asyncpg connection inside a transaction


async def claim(conn: Conn, name: str, round_no: int) -> bool:
    """Whether this transaction now holds `name`'s lock and round `round_no` is not done yet."""
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1), hashtext(current_schema()))", name):
        return False
    done = await conn.fetchval("SELECT value FROM meta WHERE key = $1", name)
    return done is None or int(done) < round_no


async def mark(conn: Conn, name: str, round_no: int) -> None:
    await conn.execute("INSERT INTO meta (key, value) VALUES ($1, $2)"
                       " ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)", name, round_no)
