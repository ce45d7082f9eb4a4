"""Reading POST /outcomes bodies: the quick pass gives exactly what the contract's validator and
the general reading give, and vouches only for batches the contract accepts; anything else is
refused (or read) the general way, a bad batch whole with the field named."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from services.common import contracts
from services.common.clock import utc_iso
from services.common.errors import InvalidRequest
from services.common.outcome_window import Outcome
from services.router.outcomes import intake
from services.router.outcomes.intake import general, quick, read_batch

NOW = 1795429815.25  # 2026-11-23T10:30:15.250Z


def gateway_batch(n: int = 200, seed: int = 1) -> dict[str, Any]:
    """Shaped as the gateway's reporter sends it: receipt timestamps, latencies rounded to the µs."""
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    start = datetime(2026, 11, 23, 10, 30, 14, tzinfo=UTC)
    return {"outcomes": [{"provider": rng.choice(["gpt-4o.eu", "claude_3-5", "A1"]),
                          "latency_ms": round(rng.lognormvariate(5.5, 0.6), 3), "success": rng.random() > 0.1,
                          "at": utc_iso(start + timedelta(milliseconds=rng.randrange(2000)))} for _ in range(n)]}


def outcome_of(data: Any, now: float) -> list[Outcome] | tuple[str | None, str]:
    """What reading `data` the reference way gives: the outcomes, or the refusal's field and message."""
    try:
        return general(data, now)
    except InvalidRequest as exc:
        return exc.field, str(exc)


def read(data: Any, now: float) -> list[Outcome] | tuple[str | None, str]:
    try:
        return read_batch(data, now)
    except InvalidRequest as exc:
        return exc.field, str(exc)


def test_a_gateways_batch_takes_the_quick_pass_and_reads_the_same():
    data = gateway_batch()
    quick_read = quick(data, NOW)
    assert quick_read is not None and len(quick_read) == 200
    assert quick_read == general(data, NOW)
    assert all(type(o) is Outcome and type(o.latency_ms) is float for o in quick_read)


def test_absent_times_are_the_receipt_time_and_integer_latencies_floats():
    data = {"source": "gw-1", "outcomes": [{"provider": "a", "latency_ms": 7, "success": False},
                                           {"provider": "b", "latency_ms": 0.5, "success": True,
                                            "at": "2026-11-23T10:30:14.001Z"}]}
    assert quick(data, NOW) == [Outcome("a", NOW, 7.0, False), Outcome("b", 1795429814.001, 0.5, True)]
    assert type(quick(data, NOW)[0].latency_ms) is float  # type: ignore[index]


Mutation = Callable[[dict[str, Any]], None]


def _item(i: int, **changes: Any) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is DROP:
                data["outcomes"][i].pop(key, None)
            else:
                data["outcomes"][i][key] = value
    return apply


DROP = object()
MUTATIONS: list[tuple[str, Mutation]] = [
    ("valid as sent", lambda d: None),
    ("no at", _item(3, at=DROP)),
    ("at null", _item(3, at=None)),
    ("at whole seconds", _item(3, at="2026-11-23T10:30:14Z")),
    ("at microseconds", _item(3, at="2026-11-23T10:30:14.123456Z")),
    ("at nanoseconds", _item(3, at="2026-11-23T10:30:14.123456789Z")),
    ("at one digit", _item(3, at="2026-11-23T10:30:14.5Z")),
    ("at with an offset", _item(3, at="2026-11-23T10:30:14.500+00:00")),
    ("at naive", _item(3, at="2026-11-23T10:30:14.500")),
    ("at February 30th", _item(3, at="2026-02-30T10:30:14.500Z")),
    ("at hour 24", _item(3, at="2026-11-23T24:00:00.000Z")),
    ("at second 60", _item(3, at="2026-11-23T10:30:60Z")),
    ("at year 0", _item(3, at="0000-11-23T10:30:14.500Z")),
    ("at year 1", _item(3, at="0001-01-01T00:00:00.000Z")),
    ("at 2019", _item(3, at="2019-12-31T23:59:59.999Z")),
    ("at 2020", _item(3, at="2020-01-01T00:00:00.000Z")),
    ("at ten days late", _item(3, at="2026-11-13T10:30:15.250Z")),
    ("at a day ahead", _item(3, at="2026-11-24T10:30:15.250Z")),
    ("at a day and 1 ms ahead", _item(3, at="2026-11-24T10:30:15.251Z")),
    ("at year 9999", _item(3, at="9999-12-31T23:59:59.999Z")),
    ("at words", _item(3, at="yesterday")),
    ("at a number", _item(3, at=1795429814.5)),
    ("at newline", _item(3, at="2026-11-23T10:30:14.500Z\n")),
    ("at other digits", _item(3, at="٢٠٢٦-11-23T10:30:14.500Z")),
    ("latency int", _item(5, latency_ms=12)),
    ("latency zero", _item(5, latency_ms=0)),
    ("latency max", _item(5, latency_ms=86_400_000)),
    ("latency over max", _item(5, latency_ms=86_400_000.5)),
    ("latency huge int", _item(5, latency_ms=10**30)),
    ("latency negative", _item(5, latency_ms=-0.001)),
    ("latency bool", _item(5, latency_ms=True)),
    ("latency string", _item(5, latency_ms="12")),
    ("latency null", _item(5, latency_ms=None)),
    ("latency missing", _item(5, latency_ms=DROP)),
    ("success int", _item(7, success=1)),
    ("success null", _item(7, success=None)),
    ("success missing", _item(7, success=DROP)),
    ("success missing, at absent", _item(7, success=DROP, at=DROP)),
    ("provider with a slash", _item(9, provider="a/b")),
    ("provider empty", _item(9, provider="")),
    ("provider 64 chars", _item(9, provider="p" * 64)),
    ("provider 65 chars", _item(9, provider="p" * 65)),
    ("provider leading dot", _item(9, provider=".p")),
    ("provider newline", _item(9, provider="p\n")),
    ("provider non-ASCII", _item(9, provider="pé")),
    ("provider a number", _item(9, provider=7)),
    ("provider a list", _item(9, provider=["a"])),
    ("provider missing", _item(9, provider=DROP)),
    ("provider missing, other key", _item(9, provider=DROP, model="gpt-4")),
    ("extra key", _item(11, model="gpt-4")),
    ("extra key in place of at", _item(11, at=DROP, model="gpt-4")),
    ("item a list", lambda d: d["outcomes"].__setitem__(2, ["a", 1, True])),
    ("item null", lambda d: d["outcomes"].__setitem__(2, None)),
    ("source", lambda d: d.__setitem__("source", "gateway-7")),
    ("source 200", lambda d: d.__setitem__("source", "s" * 200)),
    ("source 201", lambda d: d.__setitem__("source", "s" * 201)),
    ("source null", lambda d: d.__setitem__("source", None)),
    ("source a number", lambda d: d.__setitem__("source", 7)),
    ("extra top key", lambda d: d.__setitem__("gateway", "gw")),
    ("no outcomes", lambda d: d.pop("outcomes")),
    ("outcomes null", lambda d: d.__setitem__("outcomes", None)),
    ("outcomes an object", lambda d: d.__setitem__("outcomes", {"0": d["outcomes"][0]})),
    ("empty batch", lambda d: d.__setitem__("outcomes", [])),
    ("10,000 outcomes", lambda d: d.__setitem__("outcomes", (d["outcomes"] * 50)[:10_000])),
    ("10,001 outcomes", lambda d: d.__setitem__("outcomes", (d["outcomes"] * 51)[:10_001])),
]


@pytest.mark.parametrize("mutate", [m for _, m in MUTATIONS], ids=[name for name, _ in MUTATIONS])
def test_the_quick_pass_never_changes_the_answer(mutate: Mutation):
    data = gateway_batch()
    mutate(data)
    pristine = copy.deepcopy(data)
    assert read(data, NOW) == outcome_of(pristine, NOW)
    if quick(data, NOW) is not None:  # what it vouched for, the contract accepts
        contracts.validate("outcome_batch", data)
    assert data == pristine  # reading changes nothing


def test_it_vouches_for_the_gateways_batches_and_valid_neighbours():
    """Not only correct, also quick where it matters: these never reach the validator."""
    quick_ones = {"valid as sent", "no at", "at whole seconds", "at 2020", "at ten days late", "at a day ahead",
                  "latency int", "latency zero", "latency max",
                  "provider 64 chars", "source", "source 200", "empty batch", "10,000 outcomes"}
    for name, mutate in MUTATIONS:
        data = gateway_batch()
        mutate(data)
        assert (quick(data, NOW) is not None) == (name in quick_ones), name


def test_a_bad_batch_is_refused_whole_naming_the_field():
    data = gateway_batch()
    data["outcomes"][4]["latency_ms"] = -1
    with pytest.raises(InvalidRequest) as refused:
        read_batch(data, NOW)
    assert refused.value.field == "outcomes.4.latency_ms"


def test_a_time_the_pattern_allows_but_the_calendar_does_not_is_a_400_naming_it():
    data = gateway_batch()
    data["outcomes"][6]["at"] = "2026-02-30T10:30:14.500Z"
    with pytest.raises(InvalidRequest) as refused:
        read_batch(data, NOW)
    assert refused.value.field == "outcomes.6.at" and refused.value.status == 400
    assert "outcomes[6].at is not a time" in str(refused.value)


@pytest.mark.parametrize(("at", "why"), [
    ("0001-01-01T00:00:00Z", "before 2020"),
    ("2019-12-31T23:59:59.999Z", "before 2020"),
    ("9999-12-31T23:59:59.999Z", "more than a day ahead"),
    ("2026-11-24T10:30:15.251Z", "more than a day ahead"),  # NOW is 2026-11-23T10:30:15.250Z
])
def test_a_time_that_cannot_be_right_is_a_400_naming_it(at: str, why: str):
    """Only what cannot be right: outcomes reported days late are taken (see the mutations)."""
    data = gateway_batch()
    data["outcomes"][8]["at"] = at
    with pytest.raises(InvalidRequest) as refused:
        read_batch(data, NOW)
    assert refused.value.field == "outcomes.8.at" and refused.value.status == 400
    assert at in str(refused.value) and why in str(refused.value)


def test_the_provider_names_kept_stay_bounded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(intake, "_NAMES_KEPT", 5)
    monkeypatch.setattr(intake, "_names", set())
    for i in range(20):
        data = {"outcomes": [{"provider": f"p{i}", "latency_ms": 1.0, "success": True}]}
        assert quick(data, NOW) == [Outcome(f"p{i}", NOW, 1.0, True)]
        assert len(intake._names) <= 5


def test_the_contract_is_the_one_the_quick_pass_knows():
    """The quick pass checks these keywords and no others: a change to the contract must change
    intake.quick too (or it would vouch for what the contract now refuses)."""

    def shape(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: shape(v) for k, v in node.items() if k not in ("description", "title", "$id", "$schema")}
        return node

    assert shape(contracts.schema("outcome_batch")) == {
        "type": "object", "required": ["outcomes"], "additionalProperties": False,
        "properties": {
            "source": {"type": "string", "maxLength": 200},
            "outcomes": {"type": "array", "maxItems": 10000, "items": {
                "type": "object", "required": ["provider", "latency_ms", "success"], "additionalProperties": False,
                "properties": {
                    "provider": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
                    "latency_ms": {"type": "number", "minimum": 0, "maximum": 86400000},
                    "success": {"type": "boolean"},
                    "at": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$"},
                }}}}}
    assert (intake.MAX_OUTCOMES, intake.MAX_SOURCE, intake.MIN_LATENCY, intake.MAX_LATENCY) == (10000, 200, 0, 86400000)
