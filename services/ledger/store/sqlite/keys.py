"""Virtual key rows: insert, look up by id or secret hash, list, revoke; the keys snapshot version."""

from __future__ import annotations

import sqlite3
from typing import Any

from services.common import jsonio
from services.ledger.keys.model import VirtualKey

COLUMNS = ("key_id, secret_hash, prefix, created_us, name, user_name, team, org, models, limits,"
           " metadata, expires_us, revoked_us, cache_policy")


def _row(row: tuple[Any, ...]) -> VirtualKey:
    (key_id, secret_hash, prefix, created_us, name, user, team, org, models, limits, metadata,
     expires_us, revoked_us, cache_policy) = row
    return VirtualKey(key_id=key_id, secret_hash=secret_hash, prefix=prefix, created_us=created_us,
                      name=name, user=user, team=team, org=org,
                      models=jsonio.loads(models) if models is not None else None,
                      limits=jsonio.loads(limits), metadata=jsonio.loads(metadata),
                      expires_us=expires_us, revoked_us=revoked_us,
                      cache=jsonio.loads(cache_policy) if cache_policy else {})


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'keys_version'").fetchone()[0])


def bump_version(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'keys_version'")
    return version(conn)


def insert(conn: sqlite3.Connection, key: VirtualKey) -> int:
    conn.execute(f"INSERT INTO api_keys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (key.key_id, key.secret_hash, key.prefix, key.created_us, key.name, key.user, key.team,
                  key.org, None if key.models is None else jsonio.dumps(key.models).decode(),
                  jsonio.dumps(key.limits).decode(), jsonio.dumps(key.metadata).decode(),
                  key.expires_us, key.revoked_us, jsonio.dumps(key.cache).decode()))
    return bump_version(conn)


def by_id(conn: sqlite3.Connection, key_id: str) -> VirtualKey | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    return _row(row) if row else None


def by_hash(conn: sqlite3.Connection, secret_hash: str) -> VirtualKey | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM api_keys WHERE secret_hash = ?", (secret_hash,)).fetchone()
    return _row(row) if row else None


def listing(conn: sqlite3.Connection, filters: dict[str, str]) -> list[VirtualKey]:
    columns = {"user": "user_name", "team": "team", "org": "org"}
    where = " AND ".join(f"{columns[k]} = ?" for k in filters) or "1 = 1"
    rows = conn.execute(f"SELECT {COLUMNS} FROM api_keys WHERE {where} ORDER BY created_us, key_id",
                        tuple(filters.values()))
    return [_row(r) for r in rows]


def revoke(conn: sqlite3.Connection, key_id: str, now_us: int) -> tuple[VirtualKey, int] | None:
    """Revoke (once; a second revoke keeps the first time); the key and the snapshot version."""
    cur = conn.execute("UPDATE api_keys SET revoked_us = ? WHERE key_id = ? AND revoked_us IS NULL",
                       (now_us, key_id))
    key = by_id(conn, key_id)
    if key is None:
        return None
    return key, bump_version(conn) if cur.rowcount else version(conn)


# -- rate limits every gateway applies (published with the keys, under the same version) ----------

def put_limit(conn: sqlite3.Connection, spec: dict[str, Any], expires_us: int | None, now_us: int) -> int:
    conn.execute("INSERT INTO rate_limits (name, dimension, match_value, spec, updated_us, expires_us)"
                 " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name, dimension, match_value) DO UPDATE SET"
                 " spec = excluded.spec, updated_us = excluded.updated_us, expires_us = excluded.expires_us",
                 (spec["name"], spec["dimension"], spec.get("match", ""), jsonio.dumps(spec).decode(), now_us,
                  expires_us))
    return bump_version(conn)


def drop_limit(conn: sqlite3.Connection, name: str, dimension: str, match: str) -> int | None:
    cur = conn.execute("DELETE FROM rate_limits WHERE name = ? AND dimension = ? AND match_value = ?",
                       (name, dimension, match))
    return bump_version(conn) if cur.rowcount else None


def limits(conn: sqlite3.Connection, now_us: int) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT spec FROM rate_limits WHERE expires_us IS NULL OR expires_us > ?"
                        " ORDER BY dimension, name, match_value", (now_us,))
    return [jsonio.loads(spec) for (spec,) in rows]
