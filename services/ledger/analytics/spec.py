"""A series or breakdown request: the grain, range, grouping, filters and time zone, checked.

Every bad field is a 400 naming it (unknown parameters too, so a misspelt filter is never
silently ignored). `since` and `until` are UTC instants (RFC 3339); the range is [since, until),
`since` rounded down to its bucket. Defaults: until = now, since = until minus DEFAULT_SPAN of the
grain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.clock import parse_utc
from services.common.errors import InvalidRequest
from services.common.report_times import EARLIEST
from services.ledger.analytics.calendar import GRAINS, bucket_start, source_grain
from services.ledger.analytics.dimensions import DIMENSIONS, TAG
from services.ledger.analytics.retention import US_PER_DAY, Retention
from services.ledger.analytics.rollup import STORED_GRAINS
from services.ledger.times import LATEST_US, US_PER_S, iso, to_us

DEFAULT_SPAN_US = {"minute": 3_600 * US_PER_S, "hour": US_PER_DAY, "day": 30 * US_PER_DAY,
                   "week": 12 * 7 * US_PER_DAY, "month": 365 * US_PER_DAY}
MAX_SOURCE_BUCKETS = 20_000  # stored buckets one query may span: 13 days of minutes, 2 years of hours
GROUPS = (*DIMENSIONS, TAG)
COMMON = ("grain", "since", "until", "group_by", "tz", "format", "latency", *GROUPS)
MAX_VALUES = 100  # values of one filter
EARLIEST_US = to_us(EARLIEST)  # no receipt is older (services/common/report_times.py)


@dataclass(frozen=True)
class SeriesSpec:
    grain: str  # minute | hour | day | week | month (a breakdown: the stored grain it reads)
    since_us: int  # already rounded down to its bucket
    until_us: int
    group_by: tuple[str, ...] = ()  # API names: provider, model, key, user, team, org, run, agent, tag
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # API name -> any of these values
    tz: tzinfo = UTC
    tenant: str | None = None  # a virtual key's tenant: only its rows (services/ledger/access.py)
    latency: bool = True  # False: no latency quantiles (the sketches are not read: counters only, faster)

    def for_tenant(self, tenant: str | None) -> SeriesSpec:
        return replace(self, tenant=tenant)


def instant(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        at = to_us(parse_utc(text))
    except (ValueError, OverflowError):
        raise InvalidRequest(f"{name} {text[:64]!r} is not an RFC 3339 instant (2026-11-23T10:00:00Z)",
                             field=name) from None
    if not EARLIEST_US <= at < LATEST_US:
        raise InvalidRequest(f"{name} must be from {iso(EARLIEST_US)} and before {iso(LATEST_US)}", field=name)
    return at


def zone(params: Mapping[str, str]) -> tzinfo:
    name = params.get("tz", "UTC")
    if name in ("UTC", "Z", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, as 'America'
        raise InvalidRequest(f"tz {name[:64]!r} is not an IANA time zone (Europe/Paris, UTC)", field="tz") from None


def _values(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in params[name].split(","))
    if any(not v for v in values):
        raise InvalidRequest(f"{name} has an empty value (give comma-separated values)", field=name)
    if len(values) > MAX_VALUES:
        raise InvalidRequest(f"{name} has more than {MAX_VALUES} values", field=name)
    return values


def _group_by(params: Mapping[str, str]) -> tuple[str, ...]:
    if not params.get("group_by"):
        return ()
    names = _values(params, "group_by")
    for name in names:
        if name not in GROUPS:
            raise InvalidRequest(f"group_by {name[:64]!r} is not one of {', '.join(GROUPS)}", field="group_by")
    return tuple(dict.fromkeys(names))


def filters_of(params: Mapping[str, str], group_by: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    filters = {name: _values(params, name) for name in GROUPS if name in params}
    if len(filters.get(TAG, ())) > 1 and TAG not in group_by:
        raise InvalidRequest("tag takes one value unless group_by has tag (a receipt with two tags would count"
                             " twice)", field=TAG)
    return filters


def refuse_unknown(params: Mapping[str, str], known: tuple[str, ...]) -> None:
    for name in params:
        if name not in known:
            raise InvalidRequest(f"unknown parameter {name[:64]!r} (known: {', '.join(known)})", field=name)


def parse_series(params: Mapping[str, str], now_us: int) -> SeriesSpec:
    """GET /analytics/series's parameters."""
    refuse_unknown(params, COMMON)
    grain = params.get("grain", "hour")
    if grain not in GRAINS:
        raise InvalidRequest(f"grain must be one of {', '.join(GRAINS)}, not {grain[:64]!r}", field="grain")
    tz = zone(params)
    return _ranged(params, grain, tz, now_us, DEFAULT_SPAN_US[grain])


def parse_breakdown(params: Mapping[str, str], now_us: int, retention: Retention) -> SeriesSpec:
    """GET /analytics/breakdown's parameters: the stored grain is `grain` if given, else the finest
    one still kept for `since` (so the range is honoured as closely as the data allows)."""
    refuse_unknown(params, COMMON)
    grain = params.get("grain")
    if grain is not None and grain not in STORED_GRAINS:
        raise InvalidRequest(f"grain must be one of {', '.join(STORED_GRAINS)}, not {grain[:64]!r}", field="grain")
    if "tz" in params:
        zone(params)  # checked; a breakdown's buckets are stored ones, UTC-aligned
    until = _until(params, now_us)
    since = instant(params, "since")
    since = until - DEFAULT_SPAN_US["day"] if since is None else since
    if grain is None:
        cutoffs = retention.cutoffs(now_us).grains
        grain = next((g for g in ("minute", "hour") if since >= cutoffs[g]), "day")
    return _ranged(params, grain, UTC, now_us, 0, since_us=since, until_us=until)


def _until(params: Mapping[str, str], now_us: int) -> int:
    until = instant(params, "until")
    return now_us if until is None else until


def _ranged(params: Mapping[str, str], grain: str, tz: tzinfo, now_us: int, span_us: int, *,
            since_us: int | None = None, until_us: int | None = None) -> SeriesSpec:
    until = until_us if until_us is not None else _until(params, now_us)
    since = since_us if since_us is not None else instant(params, "since")
    since = until - span_us if since is None else since
    if since >= until:
        raise InvalidRequest("since must be before until", field="since")
    first = bucket_start(since, grain, tz)
    width = STORED_GRAINS[source_grain(grain, tz)]
    if (until - first) // width > MAX_SOURCE_BUCKETS:
        raise InvalidRequest(f"the range spans more than {MAX_SOURCE_BUCKETS} {source_grain(grain, tz)} buckets:"
                             f" narrow since/until or take a coarser grain", field="since")
    group_by = _group_by(params)
    return SeriesSpec(grain=grain, since_us=first, until_us=until, group_by=group_by,
                      filters=filters_of(params, group_by), tz=tz, latency=_flag(params, "latency"))


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "true")
    if value not in ("true", "false"):
        raise InvalidRequest(f"{name} must be true or false, not {value[:64]!r}", field=name)
    return value == "true"
