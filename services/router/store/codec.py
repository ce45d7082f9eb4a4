"""What the router's stores keep, as the same values on every backend (no SQL here): a provider
as its JSON text, a routing configuration as entries, an outcome batch as four JSON columns.

A provider row the router cannot read back (written by an older release, or by hand: JSON that is
not a provider, or one it could not write out again, e.g. a number beyond 64 bits) is left out of
every listing and the snapshot and logged once by name; looked up by name it is not there, so
registering that name again replaces it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from services.common import jsonio
from services.common.errors import TollwayError
from services.common.outcome_window import Outcome
from services.common.registry.provider import Provider
from services.common.selection.config import KINDS
from services.common.stored_rows import UnreadableRow, readable
from services.router.store.base import Entry

SETTINGS = "settings"  # kind of the single-valued routing entries
SETTING_NAMES = ("default_strategy", "smart")


def encode_provider(provider: Provider) -> str:
    return jsonio.dumps(provider.to_json()).decode()


def _readable(row: Sequence[Any]) -> Provider:
    """The provider of a (name, body) row, if the router can read it and write it out again."""
    name, body = row
    try:
        provider = Provider.from_json(jsonio.loads_exact(body))
        jsonio.dumps(provider.to_json())
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError, TollwayError):
        raise UnreadableRow("providers", str(name), "body", service="router") from None
    return provider


def providers(rows: Sequence[Sequence[Any]]) -> list[Provider]:
    """The readable providers of (name, body) rows."""
    return readable(rows, _readable)


def found(row: Sequence[Any] | None) -> Provider | None:
    if row is None:
        return None
    out = providers([row])
    return out[0] if out else None


def entries(config: Mapping[str, Any]) -> list[Entry]:
    """A routing_config body as rows."""
    rows: list[Entry] = [(kind, name, body) for kind in KINDS for name, body in (config.get(kind) or {}).items()]
    rows += [(SETTINGS, name, config[name]) for name in SETTING_NAMES if config.get(name) is not None]
    return rows


def encode_entry(body: Any) -> str:
    return jsonio.dumps(body).decode()


def routing_config(version: int, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """(kind, name, body) rows ordered by kind and name as a routing_config body with its version."""
    out: dict[str, Any] = {"version": version, **{kind: {} for kind in KINDS}}
    for kind, name, body in rows:
        value = jsonio.loads(body)
        if kind == SETTINGS:
            out[name] = value
        else:
            out[kind][name] = value
    return out


def encode_outcomes(outcomes: Sequence[Outcome]) -> tuple[float, bytes]:
    """The newest `at` and the outcomes as four JSON columns: [providers, ats, latencies, successes]."""
    columns = list(zip(*outcomes, strict=True))
    return max(columns[1]), orjson.dumps(columns)


def decode_outcomes(blob: bytes) -> list[Outcome]:
    return list(map(Outcome._make, zip(*orjson.loads(blob), strict=True)))


def kept_since(blobs: Sequence[bytes], horizon: float) -> list[Outcome]:
    """The outcomes of batches (in arrival order) at or after `horizon`, in time order."""
    kept = [o for blob in blobs for o in decode_outcomes(blob) if o.at >= horizon]
    kept.sort(key=lambda o: o.at)
    return kept
