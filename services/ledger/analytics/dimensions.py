"""The dimensions a series is grouped and filtered by: their names in the API, their columns in
the rollup tables, and a receipt's values for them.

A rollup row is keyed by the whole tuple (provider, model, key, user, team, org, run, agent), so
any subset is a GROUP BY at query time; a value a receipt lacks is stored as '' and shown as null.
Tags come from the sending virtual key's metadata ('name:value' for each entry); a receipt is
counted once in the untagged rows (tag '') and once more under each of its tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from services.ledger.receipts.parse import Receipt

# API name -> column, in the rollup key's order
DIMENSIONS: dict[str, str] = {"provider": "provider", "model": "model", "key": "key_id", "user": "user_id",
                              "team": "team", "org": "org", "run": "run_id", "agent": "agent"}
COLUMNS = tuple(DIMENSIONS.values())
TAG = "tag"
UNTAGGED = ""


def dimension_values(receipt: Receipt) -> tuple[str, ...]:
    """The receipt's value of each dimension, in COLUMNS order ('' where it has none)."""
    return (receipt.provider, receipt.model, receipt.key_id or "", receipt.user or "", receipt.team or "",
            receipt.org or "", receipt.run_id, receipt.agent)


def tags_of(metadata: Mapping[str, str]) -> list[str]:
    """A key's metadata as tags: 'name:value', sorted."""
    return sorted(f"{name}:{value}" for name, value in metadata.items())


def stored_key_tags(rows: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Tags of keys from their stored (key_id, metadata JSON) rows; a key whose metadata cannot be
    read has none (the key itself is refused where it is used)."""
    out: dict[str, list[str]] = {}
    for key_id, metadata in rows:
        try:
            meta = orjson.loads(metadata)
        except (orjson.JSONDecodeError, TypeError):
            continue
        if isinstance(meta, dict) and meta:
            out[key_id] = tags_of({str(k): str(v) for k, v in meta.items()})
    return out


def tenant_filter(tenant: str) -> dict[str, tuple[str, ...]]:
    """What a tenant ('org:<org>' or 'key:<key_id>', services/ledger/access.py) may read: its
    organisation's rows, or its own key's rows that belong to no organisation (Receipt.tenant)."""
    scope, _, scope_id = tenant.partition(":")
    if scope == "org":
        return {"org": (scope_id,)}
    return {"key_id": (scope_id,), "org": ("",)}
