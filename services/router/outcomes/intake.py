"""Reading a POST /outcomes body (contracts/outcome_batch.schema.json) into `Outcome`s, `at` in
seconds since the epoch (the router's receipt time when absent).

Batches as the gateways send them are read in one quick pass: each field's type and range, the
provider's name against the contract's pattern (once per name), `at` in utc_iso's form (each whole
second parsed once while it recurs). The pass accepts only what the contract accepts; what it
cannot vouch for (any other body, valid or not) goes through the contract's validator, which
refuses a bad batch whole with a 400 naming the field, and is then read the general way: any time
the contract's pattern allows, and a 400 for one that matches it but is no time (February 30th) or
cannot be right (before 2020, or more than a day ahead of the router's clock: report_times.py; an
outcome reported days late is taken), which the quick pass leaves to it.
Measured on 1,500-outcome batches: 1.2 µs an outcome, against 3.8 through the validator and
parse_utc (and the whole POST /outcomes from 20 µs an outcome to 4: scripts/bench/outcomes.py).
"""

from __future__ import annotations

import re
from typing import Any

from services.common import contracts, report_times
from services.common.clock import quick_utc_seconds, utc_seconds
from services.common.errors import InvalidRequest
from services.common.outcome_window import Outcome

CONTRACT = "outcome_batch"


def _limits() -> tuple[int, int, re.Pattern[str], float, float]:
    """What the quick pass checks, read from the contract (tests pin the contract's shape)."""
    batch = contracts.schema(CONTRACT)["properties"]
    item = batch["outcomes"]["items"]["properties"]
    pattern = item["provider"]["pattern"].removeprefix("^").removesuffix("$")
    latency = item["latency_ms"]
    return (batch["outcomes"]["maxItems"], batch["source"]["maxLength"], re.compile(pattern),
            latency["minimum"], latency["maximum"])


MAX_OUTCOMES, MAX_SOURCE, PROVIDER, MIN_LATENCY, MAX_LATENCY = _limits()
_BATCH_KEYS = frozenset({"outcomes", "source"})
_names: set[str] = set()  # provider names that matched the pattern
_NAMES_KEPT = 10_000


def _good_name(name: str) -> bool:
    if PROVIDER.fullmatch(name) is None:
        return False
    if len(_names) >= _NAMES_KEPT:
        _names.clear()
    _names.add(name)
    return True


def quick(data: Any, now: float) -> list[Outcome] | None:
    """The outcomes of a batch this pass can vouch for, or None (then: `general`)."""
    if type(data) is not dict or not data.keys() <= _BATCH_KEYS:
        return None
    items = data.get("outcomes")
    if type(items) is not list or len(items) > MAX_OUTCOMES:
        return None
    if "source" in data and (type(source := data["source"]) is not str or len(source) > MAX_SOURCE):
        return None
    names, out, new = _names, list[Outcome](), tuple.__new__  # Outcome(...) without its Python __new__
    earliest, latest = report_times.window_s(now)
    append = out.append
    for o in items:
        if type(o) is not dict:
            return None
        fields: tuple[Any, Any, Any, Any] = (o.get("provider"), o.get("latency_ms"), o.get("success"), o.get("at"))
        provider, latency, success, at = fields
        # no other key: with `at` absent (or null) the three required ones make the whole dict
        if len(o) != (3 if at is None else 4):
            return None
        seconds = now if at is None else quick_utc_seconds(at) if type(at) is str else None
        if seconds is None or not earliest <= seconds <= latest:
            return None
        if type(provider) is not str or (provider not in names and not _good_name(provider)):
            return None
        kind = type(latency)
        if (kind is not float and kind is not int) or not MIN_LATENCY <= latency <= MAX_LATENCY:
            return None
        if success is not True and success is not False:
            return None
        append(new(Outcome, (provider, seconds, latency if kind is float else float(latency), success)))
    return out


def general(data: Any, now: float) -> list[Outcome]:
    """Any body: validated against the contract (InvalidRequest naming the field), then read."""
    contracts.validate(CONTRACT, data)
    out = []
    for i, o in enumerate(data["outcomes"]):
        seconds = now
        if "at" in o:
            try:
                seconds = utc_seconds(o["at"])
            except (ValueError, OverflowError) as exc:
                raise InvalidRequest(f"outcomes[{i}].at is not a time: {exc}", field=f"outcomes.{i}.at") from None
            wrong = report_times.refusal(seconds, now)
            if wrong is not None:
                raise InvalidRequest(f"outcomes[{i}].at {o['at']!r} {wrong}", field=f"outcomes.{i}.at")
        out.append(Outcome(o["provider"], seconds, float(o["latency_ms"]), bool(o["success"])))
    return out


def read_batch(data: Any, now: float) -> list[Outcome]:
    """The batch's outcomes; InvalidRequest (a 400 naming the field) when the contract refuses it."""
    batch = quick(data, now)
    return general(data, now) if batch is None else batch
