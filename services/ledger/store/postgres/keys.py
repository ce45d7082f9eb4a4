"""Virtual keys and rate limits on PostgreSQL; rows are read back by the same rules as on SQLite
(services/ledger/store/sqlite/keys.py: a row the ledger cannot read is refused, never served)."""

from __future__ import annotations

from typing import Any

from services.common import jsonio
from services.common.stored_rows import readable
from services.ledger.keys.model import VirtualKey
from services.ledger.store.postgres.budgets import bump_version, version
from services.ledger.store.sqlite.keys import COLUMNS, _limit, _row

Conn = Any
KEYS = "keys_version"


async def insert(conn: Conn, key: VirtualKey) -> int:
    await conn.execute(
        f"INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        key.key_id, key.secret_hash, key.prefix, key.created_us, key.name, key.user, key.team, key.org,
        None if key.models is None else jsonio.dumps(key.models).decode(), jsonio.dumps(key.limits).decode(),
        jsonio.dumps(key.metadata).decode(), key.expires_us, key.revoked_us, jsonio.dumps(key.cache).decode())
    return await bump_version(conn, KEYS)


async def by_id(conn: Conn, key_id: str) -> VirtualKey | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM api_keys WHERE key_id = $1", key_id)
    return _row(tuple(row)) if row else None


async def by_hash(conn: Conn, secret_hash: str) -> VirtualKey | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1", secret_hash)
    return _row(tuple(row)) if row else None


async def listing(conn: Conn, filters: dict[str, str]) -> list[VirtualKey]:
    columns = {"user": "user_name", "team": "team", "org": "org"}
    where = " AND ".join(f"{columns[k]} = ${n}" for n, k in enumerate(filters, 1)) or "true"
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM api_keys WHERE {where} ORDER BY created_us, key_id",
                            *filters.values())
    return readable((tuple(row) for row in rows), _row)


async def revoke(conn: Conn, key_id: str, now_us: int) -> tuple[VirtualKey, int] | None:
    done = await conn.execute("UPDATE api_keys SET revoked_us = $1 WHERE key_id = $2 AND revoked_us IS NULL",
                              now_us, key_id)
    key = await by_id(conn, key_id)
    if key is None:
        return None
    return key, await bump_version(conn, KEYS) if done == "UPDATE 1" else await version(conn, KEYS)


async def put_limit(conn: Conn, spec: dict[str, Any], expires_us: int | None, now_us: int) -> int:
    await conn.execute("INSERT INTO rate_limits (name, dimension, match_value, spec, updated_us, expires_us)"
                       " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name, dimension, match_value) DO UPDATE SET"
                       " spec = excluded.spec, updated_us = excluded.updated_us, expires_us = excluded.expires_us",
                       spec["name"], spec["dimension"], spec.get("match", ""), jsonio.dumps(spec).decode(), now_us,
                       expires_us)
    return await bump_version(conn, KEYS)


async def drop_limit(conn: Conn, name: str, dimension: str, match: str) -> int | None:
    done = await conn.execute("DELETE FROM rate_limits WHERE name = $1 AND dimension = $2 AND match_value = $3",
                              name, dimension, match)
    return await bump_version(conn, KEYS) if done == "DELETE 1" else None


async def limits(conn: Conn, now_us: int) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT name, dimension, match_value, spec FROM rate_limits"
                            " WHERE expires_us IS NULL OR expires_us > $1 ORDER BY dimension, name, match_value",
                            now_us)
    return readable((tuple(row) for row in rows), _limit)
