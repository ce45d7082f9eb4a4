"""What an operator reads back from the limiter beyond the daily counts: one record per refusal
(who, which limit, when, what was asked and what was left), the buckets near their limit, and
which storage keys a reset clears.

A violation record is a plain dict, the same on both backends (the in-process ring keeps it as is,
the Redis stream as its JSON):

    {"at": "2026-11-23T10:00:00.123456Z", "at_us": ..., "limit": "rpm", "dimension": "key",
     "unit": "requests", "value": "key_1", "key_id": "key_1", "user": "ann", ...,
     "requested": 1, "available": 0, "retry_after_s": 12}

`value` is the caller's value in the limit's dimension (the team for a team limit); `requested`
is this request's cost in the limit's unit, `available` what the limit had left for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.common.clock import EPOCH
from services.gateway.limits.decision import Decision, Hit, Verdict
from services.gateway.limits.resolve import Subject
from services.gateway.limits.spec import LimitSpec
from services.gateway.limits.timebase import ceil_seconds

SUBJECT_FIELDS = ("key_id", "user", "team", "org", "ip", "provider")
FILTERS = (*SUBJECT_FIELDS, "limit")


def iso(at_us: int) -> str:
    return (EPOCH + timedelta(microseconds=at_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def violation_records(verdict: Verdict, subject: Subject | None) -> list[dict[str, Any]]:
    """One record per limit that refused `verdict` (none when it was admitted)."""
    if verdict.allowed:
        return []
    who: dict[str, str] = {}
    if subject is not None:
        for name, value in zip(SUBJECT_FIELDS, (subject.key, subject.user, subject.team, subject.org,
                                                  subject.ip, subject.provider), strict=True):
            if value is not None:
                who[name] = value
    out = []
    for hit, decision in zip(verdict.hits, verdict.decisions, strict=True):
        if decision.allowed:
            continue
        spec, wait = hit.spec, decision.retry_after_us
        out.append({"at": iso(verdict.at_us), "at_us": verdict.at_us, "limit": spec.name,
                    "dimension": spec.dimension, "unit": spec.unit, "value": hit.key.partition("|")[2],
                    **who, "requested": hit.cost, "available": decision.remaining,
                    "retry_after_s": None if wait is None else ceil_seconds(wait)})
    return out


def matches(record: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    return all(record.get(name) == value for name, value in wanted.items())


class ViolationRing:
    """The newest `size` violation records of this process (the in-process backend's)."""

    def __init__(self, size: int = 10_000) -> None:
        self._ring: deque[dict[str, Any]] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._ring)

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        self._ring.extend(records)

    def newest(self, wanted: Mapping[str, str], most: int) -> list[dict[str, Any]]:
        return take(reversed(self._ring), wanted, most)


def take(records: Iterator[dict[str, Any]], wanted: Mapping[str, str], most: int) -> list[dict[str, Any]]:
    out = []
    for record in records:
        if matches(record, wanted):
            out.append(record)
            if len(out) >= most:
                break
    return out


@dataclass(slots=True)
class Bucket:
    """One counter that holds state now: whose (`key`: the spec's fingerprint | the caller's value
    in its dimension), of which limit, and where it stands."""

    key: str
    spec: LimitSpec
    decision: Decision

    @property
    def used(self) -> int:
        return self.decision.limit - self.decision.remaining

    def share(self) -> float:
        return self.used / self.decision.limit


@dataclass(slots=True)
class Buckets:
    """What a scan of the limiter's state found: the buckets at or past `near` of their limit
    (fullest first, at most the number asked), how many states were looked at, and whether that
    was all of them."""

    buckets: list[Bucket]
    scanned: int
    complete: bool


def near_enough(found: list[Bucket], near: float, most: int) -> list[Bucket]:
    chosen = [b for b in found if b.used > 0 and b.used >= near * b.decision.limit]
    chosen.sort(key=lambda b: (-b.share(), b.key))
    return chosen[:most]


def split_key(key: str) -> tuple[str, str]:
    """A state's key as (the spec's fingerprint, the caller's value): fingerprints have no '|'."""
    fingerprint, _, value = key.partition("|")
    return fingerprint, value


def hit_for(key: str, known: Mapping[str, LimitSpec]) -> Hit | None:
    spec = known.get(split_key(key)[0])
    return None if spec is None else Hit(spec, key, 0)
