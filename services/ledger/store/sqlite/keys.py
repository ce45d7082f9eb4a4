"""Virtual key rows: insert, look up by id or secret hash, list, revoke; the keys snapshot version.

A row is read back only when every column holds what the ledger writes (instants it can show, the
JSON shapes of key_request.schema.json); otherwise it comes back with `problem` set (refused
everywhere, see VirtualKey), or, when not even its id and hash can be read, not at all."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema
import orjson

from services.common import contracts, jsonio
from services.common.errors import InvalidRequest
from services.common.stored_rows import UnreadableRow, readable, report
from services.ledger.keys.model import VirtualKey
from services.ledger.times import readable_us

COLUMNS = ("key_id, secret_hash, prefix, created_us, name, user_name, team, org, models, limits,"
           " metadata, expires_us, revoked_us, cache_policy")
_HASH = re.compile(r"[0-9a-f]{64}")


class _Bad(ValueError):
    """A column that does not hold what the ledger writes (its name, never its value)."""


def _need(ok: bool, column: str) -> None:
    if not ok:
        raise _Bad(column)


@cache
def _shape(part: str) -> Callable[[Any], Any]:
    schema = contracts.schema("key_limit") if part == "limits" else contracts.schema("key_request")["properties"][part]
    return fastjsonschema.compile(schema)  # type: ignore[no-any-return]


def _json(text: Any, column: str) -> Any:
    _need(isinstance(text, str | bytes), column)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _Bad(column) from None


def _fits(part: str, value: Any) -> bool:
    try:
        _shape(part)(value)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _parse(row: tuple[Any, ...]) -> VirtualKey:
    (key_id, secret_hash, prefix, created_us, name, user, team, org, models, limits, metadata,
     expires_us, revoked_us, cache_policy) = row
    _need(isinstance(prefix, str), "prefix")
    _need(readable_us(created_us), "created_us")
    for column, text in (("name", name), ("user_name", user), ("team", team), ("org", org)):
        _need(text is None or isinstance(text, str), column)
    allowed = None if models is None else _json(models, "models")
    _need(allowed is None or isinstance(allowed, list) and all(isinstance(m, str) for m in allowed), "models")
    own = _json(limits, "limits")
    _need(isinstance(own, list) and all(_fits("limits", limit) for limit in own), "limits")
    meta = _json(metadata, "metadata")
    _need(isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values()), "metadata")
    policy = _json(cache_policy, "cache_policy") if cache_policy else {}
    _need(_fits("cache", policy), "cache_policy")
    _need(expires_us is None or readable_us(expires_us), "expires_us")
    _need(revoked_us is None or readable_us(revoked_us), "revoked_us")
    return VirtualKey(key_id=key_id, secret_hash=secret_hash, prefix=prefix, created_us=created_us,
                      name=name, user=user, team=team, org=org, models=allowed, limits=own,
                      metadata=meta, expires_us=expires_us, revoked_us=revoked_us, cache=policy)


def _row(row: tuple[Any, ...]) -> VirtualKey:
    key_id, secret_hash, revoked_us = row[0], row[1], row[12]
    if not isinstance(key_id, str) or not key_id or not isinstance(secret_hash, str) \
            or not _HASH.fullmatch(secret_hash):
        raise UnreadableRow("api_keys", str(key_id), "key_id or secret_hash")
    try:
        return _parse(row)
    except _Bad as exc:
        report(UnreadableRow("api_keys", key_id, str(exc)))
        return VirtualKey(key_id=key_id, secret_hash=secret_hash, prefix="", created_us=0,
                          revoked_us=revoked_us if readable_us(revoked_us) else None, problem=str(exc))


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
    return readable(rows, _row)


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


def _limit(row: tuple[Any, ...]) -> dict[str, Any]:
    name, dimension, match, spec = row
    try:
        data = _json(spec, "spec")
        contracts.validate("limit_spec", data)
    except (_Bad, InvalidRequest):
        raise UnreadableRow("rate_limits", f"{name}/{dimension}/{match}", "spec") from None
    return data  # type: ignore[no-any-return]


def limits(conn: sqlite3.Connection, now_us: int) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT name, dimension, match_value, spec FROM rate_limits"
                        " WHERE expires_us IS NULL OR expires_us > ? ORDER BY dimension, name, match_value",
                        (now_us,))
    return readable(rows, _limit)
